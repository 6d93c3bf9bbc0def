"""Authorizations over FastAGI (the real ext app, 50 channels, real TCP), agi-bin start-up, settlements/s."""

from __future__ import annotations

import os
import random
import tempfile
import time
from pathlib import Path

from click.testing import CliRunner
from sqlalchemy import select

from asteriskbill.agi.apps import BillingApps
from asteriskbill.agi.peer import Call
from asteriskbill.billing.settle import CallResult
from asteriskbill.cli import main as cli_main
from asteriskbill.services import lifecycle
from asteriskbill.settings import load
from asteriskbill.store.engine import make_engine
from asteriskbill.store.models import Account
from bench.bench_agi import fastagi_rows, startup_rows
from bench.common import Row, per_second

EXTENSIONS = 500
SESSIONS = 2000
SETTLEMENTS = 2000
RATES = 10_000


def _cli(db: str, *args: str | Path) -> None:
    result = CliRunner().invoke(cli_main, ["--db", db, "--operator", "bench", *map(str, args)])
    if result.exit_code:
        raise RuntimeError(result.output)


def _world(folder: Path) -> str:
    db = f"sqlite:///{folder / 'bench.db'}"
    os.environ["ASTERISKBILL_SECRET_FILE"] = str(folder / "secret")
    _cli(db, "init")
    _cli(db, "tariff", "create", "retail", "--currency", "USD")
    rng = random.Random(5)
    prefixes = {"44"} | {str(rng.randrange(10, 10 ** rng.randrange(3, 9))) for _ in range(RATES)}
    lines = ["prefix,destination,price,increments"] + [f"{p},d{p},0.{rng.randrange(10, 99)},60/6" for p in prefixes]
    (folder / "rates.csv").write_text("\n".join(lines) + "\n")
    _cli(db, "rates", "import", "retail", folder / "rates.csv")
    _cli(db, "routes", "add", "", "PJSIP/${NUMBER}@carrier")
    _cli(db, "accounts", "create", "company", "acme", "--tariff", "retail", "--currency", "USD")
    for n in range(EXTENSIONS):
        _cli(db, "accounts", "create", "extension", f"e{n}", "--parent", "acme", "--extension", str(1000 + n))
        _cli(db, "accounts", "recharge", f"e{n}", "100000")
    return db


def _settlements(db: str) -> list[Row]:
    settings = load(db=db)
    engine = make_engine(settings)
    with engine.begin() as conn:
        ids = conn.execute(select(Account.id).where(Account.kind == "extension")).scalars().all()
    sessions = [
        lifecycle.authorize(engine, settings, ids[n % len(ids)], "00442071234567").session for n in range(SETTLEMENTS)
    ]
    began = time.perf_counter()
    for session in sessions:
        lifecycle.settle(engine, CallResult(session, "ANSWER", 95_000))
    seconds = time.perf_counter() - began
    engine.dispose()
    return [
        Row(
            "settlement",
            "CDR + ledger charge + reservation closed, one transaction (SQLite FULL)",
            per_second(SETTLEMENTS, seconds, "calls"),
            f"{SETTLEMENTS} answered calls, sequential",
        )
    ]


def run() -> list[Row]:
    with tempfile.TemporaryDirectory() as folder:
        db = _world(Path(folder))
        os.environ["ASTERISKBILL_DB"] = db
        settings = load(db=db)
        engine = make_engine(settings)
        engine.dispose()  # the FastAGI server is forked: it opens its own connections
        ext = BillingApps(engine, settings).ext
        rows = fastagi_rows(
            ext,
            lambda n: Call(
                script="card", args=["00442071234567"], callerid=str(1000 + n % EXTENSIONS), uniqueid=f"2.{n}"
            ),
            sessions=SESSIONS,
            name="ext authorization: normalise, route, rate, reserve",
        )
        script = Path(folder) / "asteriskbill-ext"
        script.write_text("from asteriskbill.agi.script import main\nmain(['ext'])\n")
        rows += startup_rows(script, starts=7)
        rows += _settlements(db)
    return rows
