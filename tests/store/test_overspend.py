"""No overspending: 30 separate processes authorize at once on a card whose balance pays one minute."""

import json
import subprocess
import sys
from pathlib import Path

from sqlalchemy import func, select
from world import make_world

from asteriskbill.store.models import Account, Reservation

WORKER = Path(__file__).with_name("overspend_worker.py")
PROCESSES = 30


def test_parallel_authorizations_never_hold_more_than_the_balance(cli, engine, tmp_path):
    # 0.60 pays exactly the first 60 s block of UK at 0.60/min; the card may have 30 calls at once
    world = make_world(cli, tmp_path, card_value="0.60", card_args=("--max-calls", str(PROCESSES)))
    with engine.begin() as conn:
        account_id = conn.execute(select(Account.id).where(Account.name == world.card)).scalar_one()
    go = tmp_path / "go"
    workers = [
        subprocess.Popen(
            [sys.executable, str(WORKER), cli.db, str(account_id), str(go)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(PROCESSES)
    ]
    go.touch()
    results = []
    for worker in workers:
        out, err = worker.communicate(timeout=120)
        assert worker.returncode == 0, err
        results.append(json.loads(out))
    granted = [r for r in results if r["status"] == "OK"]
    assert sum(r["amount"] for r in granted) <= 600_000
    assert len(granted) == 1 and granted[0]["amount"] == 600_000
    assert {r["status"] for r in results} == {"OK", "NO_CREDIT"}
    with engine.begin() as conn:
        held = conn.execute(select(func.sum(Reservation.amount)).where(Reservation.status == "open")).scalar_one()
    assert held == 600_000
