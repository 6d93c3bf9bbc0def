"""No overspending: 30 separate processes authorize at once on a card whose balance pays one minute."""

import json
import subprocess

from sqlalchemy import func, select

from asteriskbill.store.models import Account, Reservation
from tests.helpers import helper_command, python_env
from tests.helpers.waiting import wait_for
from tests.helpers.world import make_world

PROCESSES = 30


def test_parallel_authorizations_never_hold_more_than_the_balance(cli, engine, tmp_path):
    # 0.60 pays exactly the first 60 s block of UK at 0.60/min; the card may have 30 calls at once
    world = make_world(cli, tmp_path, card_value="0.60", card_args=("--max-calls", str(PROCESSES)))
    with engine.begin() as conn:
        account_id = conn.execute(select(Account.id).where(Account.name == world.card)).scalar_one()
    go, ready = tmp_path / "go", [tmp_path / f"ready-{n}" for n in range(PROCESSES)]
    workers = [
        subprocess.Popen(
            helper_command("overspend_worker", cli.db, str(account_id), str(path), str(go)),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=python_env(),
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
