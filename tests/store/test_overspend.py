"""No overspending: 30 separate processes authorize at once on one card, holding their whole maximum, or credit in
slices that they extend and settle while the others do the same."""

import json
import subprocess

from sqlalchemy import func, select

from asteriskbill.store.models import Account, Cdr, LedgerEntry, Reservation
from tests.helpers import helper_command, python_env
from tests.helpers.waiting import wait_for
from tests.helpers.world import make_world

PROCESSES = 30
UK, USA = "00442071234567", "0015551234"  # 0.60/min 60/6; 0.10/min 1/1


def race(cli, engine, tmp_path, card_value: str, number: str, slice_seconds: int) -> list[dict]:
    """What each of PROCESSES workers reports, all started at once on one card that may have them all at once."""
    world = make_world(cli, tmp_path, card_value=card_value, card_args=("--max-calls", str(PROCESSES)))
    with engine.begin() as conn:
        account_id = conn.execute(select(Account.id).where(Account.name == world.card)).scalar_one()
    go, ready = tmp_path / "go", [tmp_path / f"ready-{n}" for n in range(PROCESSES)]
    args = (cli.db, str(account_id))
    # SQLite's writers wait their turn for the lock: longer than the 5 s default on a machine busy running other
    # tests; the money is what these tests are about
    env = {**python_env(), "ASTERISKBILL_SQLITE_BUSY_TIMEOUT_MS": "60000"}
    workers = [
        subprocess.Popen(
            helper_command("overspend_worker", *args, str(path), str(go), number, str(slice_seconds)),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        for path in ready
    ]
    try:  # a worker that died before it was ready is reported below with its stderr
        wait_for(
            lambda: all(path.exists() for path in ready) or any(w.poll() is not None for w in workers),
            "every worker to connect",
            seconds=120,
        )
    finally:
        go.touch()
    ended = [worker.communicate(timeout=120) for worker in workers]  # all of them, before any failure is told
    for worker, (_, err) in zip(workers, ended, strict=True):
        assert worker.returncode == 0, err
    return [json.loads(out) for out, _ in ended]


def test_parallel_authorizations_never_hold_more_than_the_balance(cli, engine, tmp_path):
    # 0.60 pays exactly the first 60 s block of UK at 0.60/min
    results = race(cli, engine, tmp_path, "0.60", UK, 0)
    granted = [r for r in results if r["status"] == "OK"]
    assert sum(r["amount"] for r in granted) <= 600_000
    assert len(granted) == 1 and granted[0]["amount"] == 600_000
    assert {r["status"] for r in results} == {"OK", "NO_CREDIT"}
    with engine.begin() as conn:
        held = conn.execute(select(func.sum(Reservation.amount)).where(Reservation.status == "open")).scalar_one()
    assert held == 600_000


def test_parallel_calls_in_slices_never_charge_more_than_the_balance(cli, engine, tmp_path):
    # 2.00 pays the first 30 s slice (0.05 at 0.10/min) of every call and 0.50 of extensions: the calls
    # compete for the rest slice by slice, and money comes back as they settle
    results = race(cli, engine, tmp_path, "2.00", USA, 30)
    granted = [r for r in results if r["status"] == "OK"]
    assert {r["status"] for r in results} <= {"OK", "NO_CREDIT"}
    assert len(granted) > 1 and all(0 < r["amount"] <= 50_000 for r in granted)  # several calls, a slice each
    assert sum(r["extensions"] for r in granted) > 0
    assert min(r["lowest_free"] for r in granted) >= 0  # the open calls never held more than the money
    assert all(r["charged"] <= r["held"] for r in granted)
    charged = sum(r["charged"] for r in granted)
    assert charged <= 2_000_000
    with engine.begin() as conn:
        still_open = conn.execute(select(func.count()).where(Reservation.status == "open")).scalar_one()
        cdrs = conn.execute(select(func.coalesce(func.sum(Cdr.cost), 0))).scalar_one()
        ledger = conn.execute(
            select(func.coalesce(func.sum(LedgerEntry.amount), 0)).where(LedgerEntry.kind == "call")
        ).scalar_one()
        left = conn.execute(select(Account.balance).where(Account.kind == "card")).scalar_one()
    assert (still_open, cdrs, -ledger, left) == (0, charged, charged, 2_000_000 - charged)
