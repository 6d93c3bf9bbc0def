"""Authorizations over FastAGI (the real ext app as serve runs it, 50 channels, real TCP) and agi-bin start-up."""

from __future__ import annotations

import os
import random
import tempfile
from collections.abc import Callable
from pathlib import Path

from click.testing import CliRunner

from asteriskbill import affinity
from asteriskbill.agi.apps import BillingApps
from asteriskbill.agi.peer import Call
from asteriskbill.agi.session import App
from asteriskbill.cli import main as cli_main
from asteriskbill.settings import load
from asteriskbill.store.catalog import MemoryCatalog
from asteriskbill.store.engine import make_engine
from asteriskbill.store.writer import Writer
from bench.agi_bounds import raw_sql_server
from bench.agi_startup import startup_rows
from bench.bench_agi import fastagi_rows
from bench.common import Row

EXTENSIONS = 500
SESSIONS = 2000
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


def serve_apps(db: str) -> Callable[[], dict[str, App]]:
    """The apps as `serve` builds them, in the server's own process: on one CPU, its one writer and its in-memory
    catalog."""

    def make() -> dict[str, App]:
        settings = load(db=db)
        engine = make_engine(settings)
        affinity.pin(settings.serve_cpu)  # as serve keeps to one CPU, before its writer starts
        return BillingApps(engine, settings, writer=Writer(engine), catalog=MemoryCatalog(engine)).apps

    return make


def run() -> list[Row]:
    with tempfile.TemporaryDirectory() as folder:
        db = _world(Path(folder))
        os.environ["ASTERISKBILL_DB"] = db
        rows = fastagi_rows(
            serve_apps(db),
            lambda n: Call(
                script="ext", args=["00442071234567"], callerid=str(1000 + n % EXTENSIONS), uniqueid=f"2.{n}"
            ),
            sessions=SESSIONS,
            name="ext authorization: normalise, route, rate, reserve (serve's writer and catalog)",
            bound=raw_sql_server(Path(folder) / "bench.db"),
            bound_name="minimal asyncio FastAGI server, the same SQL inline by bare sqlite3, group commit",
        )
        rows += startup_rows(db, Call(script="ext", args=["00442071234567"], callerid="1000"), starts=7)
    return rows
