"""Two `asteriskbill serve` processes on one PostgreSQL database, as on two Asterisk machines.

Twenty calls for ONE account race through both FastAGI servers over real TCP; the account pays for six.
Each granted call then ends on its Asterisk (a fake ARI replaying a real capture with our session), and
the calls of the first machine are also seen by the second machine's listener: each call is settled once.
"""

from __future__ import annotations

import asyncio
import os

import pytest
from sqlalchemy import func, select

from asteriskbill.agi.peer import Call, call_fastagi
from asteriskbill.store.models import Account, Cdr, LedgerEntry, Reservation
from tests.helpers.calls import OTHER_ID, marker, not_billed_in, on
from tests.helpers.captures import CALLS, expected, frames, later_copy
from tests.helpers.fake_ari import ENTITY_ID, FakeAri
from tests.helpers.serve import start_serve
from tests.helpers.waiting import until
from tests.helpers.world import make_world

pytestmark = pytest.mark.skipif(
    not os.environ.get("ASTERISKBILL_TEST_PG"),
    reason="two serve processes need PostgreSQL: set ASTERISKBILL_TEST_PG="
    "postgresql+psycopg://postgres@127.0.0.1:5432/postgres",
)

EXPECTED = expected()
CALLS_PLACED = 20
PER_CALL = 8_334  # 5 s (max_call_seconds) of USA at 0.10/min, rounded up
MONEY = "0.025002"  # balance and credit limit: together six calls of 5 s


def capture_of(n: int) -> str:
    return CALLS[n % len(CALLS)]


def caller_uniqueid(n: int) -> str:
    """Call ``n``'s caller channel, as later_copy renames it."""
    return f"{n}-{EXPECTED[capture_of(n)].uniqueid}"


def ended_on(asterisk_id: str, n: int, session: str) -> list[str]:
    """Call ``n`` as Asterisk ``asterisk_id`` reports it: capture_of(n) run n minutes later with our session."""
    marked = [frame.replace(EXPECTED[capture_of(n)].session, "@session@") for frame in frames(capture_of(n))]
    return on(asterisk_id, [frame.replace("@session@", session) for frame in later_copy(marked, n)])


def cost_of(n: int) -> int:
    """What the settlement charges call ``n``: started seconds of talk, at most 5, at 0.10/min."""
    seconds = min(-(-EXPECTED[capture_of(n)].billable_ms // 1000), 5)
    return -(-seconds * 100_000 // 60)


def state(engine):
    with engine.begin() as conn:
        reservations = conn.execute(
            select(Reservation.session, Reservation.status, Reservation.amount, Reservation.uniqueid)
        ).all()
        cdrs = {r.session: r for r in conn.execute(select(Cdr.session, Cdr.server, Cdr.cost, Cdr.uniqueid))}
        charges = conn.execute(
            select(LedgerEntry.reference, LedgerEntry.amount).where(LedgerEntry.kind == "call")
        ).all()
        balance = conn.execute(select(Account.balance).where(Account.name == "shop-1")).scalar_one()
    return reservations, cdrs, charges, balance


@pytest.mark.parametrize("db_url", ["postgres"], indirect=True)
def test_two_serve_processes_never_overspend_and_settle_each_call_once(cli, engine, tmp_path):
    make_world(cli, tmp_path)  # tariff retail (USA 0.10/min per second) and a default route
    cli(
        "accounts",
        "create",
        "extension",
        "shop-1",
        "--tariff",
        "retail",
        "--accountcode",
        "shop-1",
        "--credit-limit",
        MONEY,
        "--max-calls",
        str(CALLS_PLACED),
    )
    cli("accounts", "recharge", "shop-1", MONEY)
    usa = "0015551234"

    async def main():
        async with FakeAri() as first_ari, FakeAri(entity_id=OTHER_ID) as second_ari:
            (first, first_port), (second, second_port) = await asyncio.gather(
                start_serve(cli.db, first_ari, tmp_path / "first.log", max_call_seconds="5"),
                start_serve(cli.db, second_ari, tmp_path / "second.log", max_call_seconds="5"),
            )
            try:
                calls = [
                    Call(script="ext", args=(usa,), accountcode="shop-1", uniqueid=caller_uniqueid(n))
                    for n in range(CALLS_PLACED)
                ]
                ports = [first_port if n % 2 == 0 else second_port for n in range(CALLS_PLACED)]
                outcomes = await asyncio.gather(
                    *(call_fastagi(call, "127.0.0.1", port) for call, port in zip(calls, ports, strict=True))
                )
                granted = {
                    n: out.variables["BILL_SESSION"]
                    for n, out in enumerate(outcomes)
                    if out.variables.get("BILL_STATUS") == "OK"
                }
                refused = {out.variables.get("BILL_STATUS") for out in outcomes} - {"OK"}
                reserved = await asyncio.to_thread(state, engine)
                on_first = [f for n, s in granted.items() if n % 2 == 0 for f in ended_on(ENTITY_ID, n, s)]
                on_second = [f for n, s in granted.items() if n % 2 == 1 for f in ended_on(OTHER_ID, n, s)]
                (first_marker, first_end), (second_marker, second_end) = marker(), marker()
                first_ari.play(on_first + first_end)
                second_ari.play(on_first + on_second + second_end)  # the first machine's calls seen twice, at once
                await until(lambda: all(r.status == "settled" for r in state(engine)[0]), "every settlement")
                # each serve logs its marker once it has settled every call played before (twice-seen ones too)
                await until(
                    lambda: (
                        not_billed_in(tmp_path / "first.log", first_marker)
                        and not_billed_in(tmp_path / "second.log", second_marker)
                    ),
                    "both serves to settle every call played",
                )
            finally:
                for process in (first, second):
                    process.terminate()
                codes = [await process.wait() for process in (first, second)]
            assert codes == [0, 0], (tmp_path / "first.log").read_text() + (tmp_path / "second.log").read_text()
            return granted, refused, reserved

    granted, refused, (reservations, _, _, _) = asyncio.run(asyncio.wait_for(main(), 120))

    # authorization: never more held than balance + credit limit, and no credit left unused
    assert sum(r.amount for r in reservations) <= 2 * 25_002
    assert len(granted) == len(reservations) == 6 and {r.amount for r in reservations} == {PER_CALL}
    assert refused == {"NO_CREDIT"}

    # settlement: one CDR and at most one charge per call, on the Asterisk it ran on
    _, cdrs, charges, balance = state(engine)
    assert set(cdrs) == set(granted.values())
    for n, session in granted.items():
        assert cdrs[session].server == (ENTITY_ID if n % 2 == 0 else OTHER_ID)
        assert (cdrs[session].cost, cdrs[session].uniqueid) == (cost_of(n), caller_uniqueid(n))
    assert sorted(charges) == sorted((s, -cost_of(n)) for n, s in granted.items() if cost_of(n))
    assert balance == 25_002 - sum(cost_of(n) for n in granted)
    with engine.begin() as conn:
        assert conn.execute(select(func.count()).select_from(Cdr)).scalar_one() == 6
    cli("check")
