"""serve's side of credit in slices (credit_control.py) against the fake AMI and a real database: a call due is
extended, then its channel's hard limit moved; the callee's answer recorded by the dialplan moves the deadline;
a call AMI does not know (another server's, or ended) is left alone."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from sqlalchemy import select

from asteriskbill.ami.client import AmiClient
from asteriskbill.ari.tracker import CallTracker
from asteriskbill.credit_control import ANSWERED_AT, HARD_LIMIT, CreditControl
from asteriskbill.services import lifecycle
from asteriskbill.services.calls import Caller
from asteriskbill.store.models import Account, Reservation
from asteriskbill.store.types import utcnow
from tests.helpers.fake_ami import SECRET, USER, FakeAmi
from tests.helpers.world import make_world

USA = "0015551234"  # 0.10/min, 1/1: 1.00 pays 600 s
SLICE = 30
HERE, ELSEWHERE = ("Local/2001@carrier-00000001;1", "1795467901.11"), ("PJSIP/other-00000002", "1795467901.12")


@pytest.fixture
def world(cli, tmp_path):
    return make_world(cli, tmp_path, card_value="1.00", card_args=("--max-calls", "5"))


def authorize(engine, world, channel: tuple[str, str]) -> str:
    with engine.begin() as conn:
        card = conn.execute(select(Account.id).where(Account.name == world.card)).scalar_one()
    caller = Caller(channel[0], channel[1], "4001")
    return lifecycle.authorize(engine, world.settings, card, USA, caller, slice_seconds=SLICE).session


def held(engine, session: str):
    with engine.begin() as conn:
        return conn.execute(
            select(
                Reservation.held_seconds, Reservation.answered_at, Reservation.deadline_at, Reservation.created_at
            ).where(Reservation.session == session)
        ).one()


def tick(engine, setup, ahead: timedelta) -> tuple[FakeAmi, dict[str, float]]:
    """One pass of CreditControl ``ahead`` of now, with HERE up on the fake AMI (``setup`` adds to it); the fake,
    and the seconds each channel has left before Asterisk would hang it up."""

    async def main() -> tuple[FakeAmi, dict[str, float]]:
        async with FakeAmi() as fake:
            fake.call(*HERE)
            setup(fake)
            async with AmiClient(fake.url, USER, SECRET) as ami:
                await CreditControl(engine, ami, CallTracker(), SLICE).tick(utcnow() + ahead)
            assert fake.unexpected == []
            now = asyncio.get_running_loop().time()
            return fake, {name: handle.when() - now for name, handle in fake.deadlines.items()}

    return asyncio.run(asyncio.wait_for(main(), 30))


def test_a_call_due_is_extended_then_its_hard_limit_moved(engine, world):
    here, elsewhere = authorize(engine, world, HERE), authorize(engine, world, ELSEWHERE)
    fake, left = tick(engine, lambda fake: None, timedelta(seconds=SLICE))  # both are due
    assert held(engine, here).held_seconds == 2 * SLICE  # extended by one slice
    assert held(engine, elsewhere).held_seconds == SLICE  # not on this server: untouched
    row = held(engine, here)
    assert row.deadline_at == row.created_at + timedelta(seconds=2 * SLICE)  # not answered yet: from the authorization
    assert 2 * SLICE - 3 < left[HERE[0]] <= 2 * SLICE  # Asterisk hangs it up there
    assert [a["Variable"] for a in fake.actions if a.get("Action") == "Setvar"] == [HARD_LIMIT]


def test_a_call_not_due_is_left_as_it_is(engine, world):
    here = authorize(engine, world, HERE)
    _, left = tick(engine, lambda fake: None, timedelta(0))
    assert held(engine, here).held_seconds == SLICE and left == {}


def test_the_callee_answer_recorded_by_the_dialplan_moves_the_deadline(engine, world):
    here = authorize(engine, world, HERE)
    answered = utcnow().replace(microsecond=250_000) + timedelta(seconds=4)

    def answer(fake: FakeAmi) -> None:  # as the dialplan's asteriskbill-answered did on the caller channel
        fake.variables[HERE[0], ANSWERED_AT] = f"{answered.timestamp():.3f}"

    tick(engine, answer, timedelta(seconds=SLICE))
    row = held(engine, here)
    assert (row.answered_at, row.held_seconds) == (answered, 2 * SLICE)
    assert row.deadline_at == answered + timedelta(seconds=2 * SLICE)
