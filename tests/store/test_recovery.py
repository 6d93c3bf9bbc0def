"""Recovery: reservations whose call is gone are settled from Asterisk's Master.csv, or flagged — never twice."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from asteriskbill.agi.peer import Call
from asteriskbill.billing import master_csv
from asteriskbill.services import recovery
from asteriskbill.store.models import Cdr, LedgerEntry, Reservation
from asteriskbill.store.types import utcnow
from tests.helpers import ASTERISK
from tests.helpers.world import make_world, place

CDR_FILE = ASTERISK / "ari" / "prepaid-cdr.txt"
MASTER = [line for line in CDR_FILE.read_text().splitlines() if line.startswith('"')]
ANSWERED, BUSY, UNKNOWN = "1795467901.289", "1795467920.305", "1795467999.999"  # caller legs of 2001, 2003
LATER = utcnow() + timedelta(hours=4)  # past every maximum + ring allowance + grace


@pytest.fixture
def world(cli, tmp_path):
    return make_world(cli, tmp_path, card_value="100", card_args=("--max-calls", "5"))


def authorize(engine, world, uniqueid: str) -> str:
    [out] = place(
        engine,
        world.settings,
        Call(script="card", uniqueid=uniqueid, keys=(world.card + "#", world.pin + "#", "0015551234#")),
    )
    return out.variables["BILL_SESSION"]


def state(engine):
    with engine.begin() as conn:
        reservations = dict(conn.execute(select(Reservation.session, Reservation.status)).all())
        cdrs = dict(conn.execute(select(Cdr.session, Cdr.outcome)).all())
        charges = conn.execute(select(LedgerEntry.amount).where(LedgerEntry.kind == "call")).scalars().all()
    return reservations, cdrs, charges


def test_settled_from_master_csv_or_flagged_and_never_twice(cli, engine, world):
    answered, busy, unknown = (authorize(engine, world, u) for u in (ANSWERED, BUSY, UNKNOWN))
    master = master_csv.read(MASTER, "Master.csv")
    assert recovery.expire(engine, None, 5, master, now=utcnow()).settled == []  # nothing overdue yet
    done = recovery.expire(engine, None, 5, master, now=LATER)
    assert (sorted(done.settled), done.flagged) == (sorted([answered, busy]), [unknown])
    reservations, cdrs, charges = state(engine)
    assert reservations == {answered: "settled", busy: "settled", unknown: "flagged"}
    assert cdrs == {answered: "ANSWER", busy: "BUSY"}
    assert charges == [-5_000]  # billsec 3 (Asterisk truncates 3506 ms) at 0.10/min
    again = recovery.expire(engine, None, 5, master, now=LATER)
    assert (again.settled, again.flagged) == ([], [])
    assert state(engine)[2] == [-5_000]
    cli("check")


def test_a_flagged_call_is_settled_when_its_record_shows_up(engine, world):
    session = authorize(engine, world, ANSWERED)
    assert recovery.expire(engine, None, 5, None, now=LATER).flagged == [session]
    assert recovery.expire(engine, None, 5, master_csv.read(MASTER, "Master.csv"), now=LATER).settled == [session]
    assert state(engine)[0] == {session: "settled"}


def test_a_call_still_up_is_left_alone(engine, world):
    session = authorize(engine, world, ANSWERED)
    done = recovery.expire(engine, {ANSWERED}, 5, master_csv.read(MASTER, "Master.csv"), now=LATER)
    assert (done.settled, done.flagged) == ([], [])
    assert state(engine)[0] == {session: "open"}


def test_reconcile_command(cli, engine, world, tmp_path):
    session = authorize(engine, world, ANSWERED)
    with engine.begin() as conn:  # the call was authorized four hours ago
        conn.execute(Reservation.__table__.update().values(created_at=utcnow() - timedelta(hours=4)))
    master = tmp_path / "Master.csv"
    master.write_text("\n".join(MASTER) + "\n")
    out = cli("cdr", "reconcile", master).stdout
    assert "settled 1" in out and session in out
    assert "no such file" in cli("cdr", "reconcile", tmp_path / "nope.csv", ok=False).output.lower()
