"""The `in` application over real TCP (FastAGI) against a real database: a call to one of our numbers gets the
variables of a billed call (BILL_SESSION, BILL_MAX_MS, BILL_DIAL ringing the called account's extension), the
BILL_DIAL alone when the account is not billed for calls to it, or BILL_STATUS saying why not, with no prompt:
the asteriskbill-in context answers a refusal itself."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from asteriskbill.agi.peer import Call
from asteriskbill.billing.settle import CallResult
from asteriskbill.services import lifecycle
from asteriskbill.store.models import Cdr, Reservation
from tests.helpers.world import TOLL_FREE, make_world, place, toll_free

UK_MOBILE = "447700900123"  # normalised; a trunk presents it as +447700900123 or 00447700900123


@pytest.fixture
def world(cli, tmp_path):
    made = make_world(cli, tmp_path)
    toll_free(cli, tmp_path)
    return made


def sets(out) -> list[str]:
    return [command.split()[2] for command in out.commands if command.startswith("SET VARIABLE")]


def incoming(called: str, callerid: str, **more) -> Call:
    """As the asteriskbill-in context hands the call over: AGI(agi://.../in,${EXTEN}), on extension ${EXTEN}."""
    return Call(script="in", args=[called], callerid=callerid, extension=called, dnid=called, **more)


def test_a_call_to_a_did_is_authorized_on_the_called_account(cli, engine, world):
    [out] = place(engine, world.settings, incoming(TOLL_FREE, "+" + UK_MOBILE))
    assert out.variables == {
        "BILL_SESSION": out.variables["BILL_SESSION"],
        "BILL_MAX_MS": "3000000",  # 10.00 at 0.20/min: 50 minutes
        "BILL_DIAL": "PJSIP/201",  # the incoming_dial setting with the account's extension
        "BILL_NUMBER": UK_MOBILE,  # what it is rated by: the caller's number
        "BILL_STATUS": "OK",
    }
    assert sets(out) == ["BILL_SESSION", "BILL_MAX_MS", "BILL_DIAL", "BILL_NUMBER", "BILL_STATUS"]
    assert not [command for command in out.commands if command.startswith(("STREAM", "ANSWER"))]
    session = out.variables["BILL_SESSION"]
    lifecycle.settle(engine, CallResult(session, "ANSWER", 30_000, callerid="+" + UK_MOBILE))
    with engine.begin() as conn:
        cdr = conn.execute(select(Cdr.direction, Cdr.dialled, Cdr.cost).where(Cdr.session == session)).one()
    assert tuple(cdr) == ("in", TOLL_FREE, 100_000)


def test_the_called_number_is_the_extension_the_call_came_in_on_without_an_argument(engine, world):
    [out] = place(engine, world.settings, Call(script="in", callerid="unknown", extension="201"))
    assert (out.variables["BILL_STATUS"], out.variables["BILL_NUMBER"]) == ("OK", "1")  # withheld: its country


def test_an_account_not_billed_for_calls_to_it_is_rung_with_nothing_held(cli, engine, world):
    cli("accounts", "edit", "acme-201", "--incoming-tariff", "")
    settings = world.settings.replace(incoming_dial="Local/${EXTENSION}@phones")
    [out] = place(engine, settings, incoming(TOLL_FREE, "+" + UK_MOBILE))
    assert out.variables == {"BILL_DIAL": "Local/201@phones", "BILL_STATUS": "OK"}
    with engine.begin() as conn:
        assert conn.execute(select(Reservation.id)).all() == []


@pytest.mark.parametrize(
    ("called", "callerid", "status"),
    [
        ("18005559999", "+" + UK_MOBILE, "UNKNOWN_ACCOUNT"),  # not a number of ours
        (TOLL_FREE, "0033123456789", "NO_RATE"),  # the tariff has no rate for callers from France
    ],
)
def test_a_refused_call_hears_nothing_from_the_agi(engine, world, called, callerid, status):
    [out] = place(engine, world.settings, incoming(called, callerid))
    assert out.variables == {"BILL_STATUS": status}
    assert not [command for command in out.commands if command.startswith(("STREAM", "ANSWER"))]
