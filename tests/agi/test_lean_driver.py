"""The benchmark's lean fake Asterisk (bench/lean_asterisk.py) and its bound servers (bench/agi_bounds.py): every
session is driven to its end and checked, commands are counted, each side's CPU is reported, and the raw-SQL bound
really authorizes (in a copy of the database, leaving the original as it was)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from asteriskbill.agi.peer import Asterisk, Call
from bench.agi_bounds import line_server, raw_sql_server
from bench.bench_agi import OK, fastagi_server, trivial_apps
from bench.lean_asterisk import SessionFailed, measure, server_process
from tests.helpers.calls import USA
from tests.helpers.cli import Cli
from tests.helpers.world import make_world


def envs(count: int, **call) -> list[bytes]:
    calls = (Call(uniqueid=f"1.{n}", **call) for n in range(count))
    return [Asterisk(c).env(f"agi://127.0.0.1:4573/{c.script}", c.script) for c in calls]


@pytest.mark.parametrize("start", [fastagi_server(trivial_apps), line_server(6)], ids=["asteriskbill", "bound"])
def test_every_session_is_driven_to_its_end(start):
    with server_process(start) as server:
        load = measure(server, envs(120), OK, concurrency=7)
    assert (load.sessions, load.commands) == (120, 720)
    assert load.server_cpu > 0 and load.driver_cpu > 0


def test_a_session_that_ends_otherwise_fails_the_run():
    with server_process(line_server(2)) as server, pytest.raises(SessionFailed, match="BILL_STATUS=NO_CREDIT"):
        measure(server, envs(3), b"SET VARIABLE BILL_STATUS=NO_CREDIT\n")


def test_the_raw_sql_bound_authorizes_in_a_copy_of_the_database(sqlite_url, tmp_path):
    cli = Cli(sqlite_url)
    make_world(cli, tmp_path)
    cli("accounts", "recharge", "acme-201", "1000")
    path = Path(sqlite_url.removeprefix("sqlite:///"))
    with server_process(raw_sql_server(path)) as server:
        load = measure(server, envs(40, script="ext", args=[USA], callerid="201"), OK, concurrency=9)
    assert (load.sessions, load.commands) == (40, 200)
    count = "SELECT count(*) FROM reservations WHERE status = 'open'"
    with sqlite3.connect(path.with_name(path.name + ".bound")) as copy, sqlite3.connect(path) as original:
        assert copy.execute(count).fetchone() == (40,) and original.execute(count).fetchone() == (0,)
