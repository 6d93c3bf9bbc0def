"""Exporting 1,000,000 CDRs: time and peak memory of `asteriskbill cdr export` in a subprocess, on SQLite and on
PostgreSQL.

The CDRs go into a fresh migrated database by the bare driver (sqlite3 executemany, psycopg COPY). Each export
runs the real command (service stream + sheets) in its own process, whose peak RSS (wait4) shows whether it
streams: holding a million CDRs would take gigabytes. Measured in the same run, alternating with the command:
the same rows and columns written by the bare driver and csv.writer (the speed bound); the peak RSS of the same
command exporting one CDR (the memory floor). Each figure is the median of RUNS. XLSX is timed on the newest
XLSX_CDRS only: openpyxl's cell-by-cell XML makes the million take minutes.
"""

from __future__ import annotations

import csv
import random
import sqlite3
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from asteriskbill.settings import Settings
from asteriskbill.store import migrate
from asteriskbill.store.engine import make_engine
from bench.common import Row, per_second, pg_database, timer

CDRS = 1_000_000
XLSX_CDRS = 100_000  # openpyxl writes a few thousand rows/s: the million would take minutes, over the bench's budget
ACCOUNTS = 1_000
RUNS = 3
MAIN = "from asteriskbill.cli import main; main()"
CLASSES = (("local", "1555", "US local"), ("national", "1212", "US New York"), ("international", "4420", "UK London"))
OUTCOMES = ("ANSWER",) * 6 + ("BUSY", "NOANSWER", "CONGESTION", "CANCEL")
ACCOUNTS_SQL = (
    "INSERT INTO accounts (id, kind, name, parent_id, currency, balance, credit_limit, status, created_at) "
    "VALUES ({0}, {0}, {0}, {0}, 'USD', 0, 0, 'active', '2026-01-01 00:00:00.000000')"
)
CDR_COLUMNS = (
    "session, account_id, server, uniqueid, linkedid, callerid, dialled, number, destination, prefix, call_class, "
    "started_at, answered_at, ended_at, billable_ms, billed_seconds, outcome, hangup_cause, cost, buy_cost, "
    "currency, source, created_at, payer_id"
)
# What the export reads (services/cdrs.py: CdrView's fields), in its order: the bound reads the same
BOUND_SQL = (
    "SELECT c.session, a.name, a.kind, p.name, c.callerid, c.dialled, c.number, c.destination, c.call_class, "
    "c.server, c.uniqueid, c.linkedid, c.started_at, c.answered_at, c.ended_at, c.billable_ms, c.billed_seconds, "
    "c.outcome, c.hangup_cause, c.prefix, c.cost, c.buy_cost, c.buy_currency, c.currency, c.source, c.id, "
    "t.name, v.name, b.name, c.direction, c.bundle_seconds, c.bundle_amount "
    "FROM cdrs c JOIN accounts a ON a.id = c.account_id LEFT JOIN accounts p ON p.id = a.parent_id "
    "LEFT JOIN trunks t ON t.id = c.trunk_id LEFT JOIN vendors v ON v.id = c.vendor_id "
    "LEFT JOIN accounts b ON b.id = c.payer_id "
    "ORDER BY c.started_at DESC, c.id DESC"
)
Bound = Callable[[Path], None]  # writes the CDRs to a CSV file


def run() -> list[Row]:
    with tempfile.TemporaryDirectory(prefix="bench_cdr_") as name:
        folder = Path(name)
        db = folder / "cdrs.db"
        with timer() as filled:
            fill(db)
        rows = [
            Row(
                "cdr export",
                f"fill: {CDRS:,} CDRs by sqlite3 executemany",
                f"{filled():.1f} s",
                f"database {db.stat().st_size / 2**20:,.0f} MiB",
            )
        ]
        url = f"sqlite:///{db}"
        rows += _csv_rows("SQLite", url, lambda out: _sqlite_bound(db, out), folder)
        rows += _xlsx_rows(url, folder)
        with pg_database() as pg:
            if pg is None:
                rows.append(Row("cdr export", "PostgreSQL", "not measured", "no PostgreSQL server answers"))
            else:
                fill_pg(pg)
                rows += _csv_rows("PostgreSQL", pg, lambda out: _pg_bound(pg, out), folder)
    return rows


def _csv_rows(backend: str, url: str, bound: Bound, folder: Path) -> list[Row]:
    """The export of every CDR to CSV beside the bound, alternating, median of RUNS; its peak RSS beside the floor."""
    out = folder / "cdrs.csv"
    seconds, peaks, bounds = [], [], []
    for _ in range(RUNS):
        with timer() as elapsed:
            bound(out)
        bounds.append(elapsed())
        took, peak = _child(["cdr", "export", "-o", str(out)], url)
        seconds.append(took)
        peaks.append(peak)
    size = out.stat().st_size
    out.unlink()
    floor = _child(["cdr", "export", "--limit", "1", "-o", str(out)], url)[1]
    out.unlink()
    took, raw = statistics.median(seconds), statistics.median(bounds)
    driver = "sqlite3" if backend == "SQLite" else "psycopg (server-side cursor)"
    return [
        Row(
            "cdr export",
            f"`cdr export` of {CDRS:,} CDRs to .csv ({backend}, subprocess)",
            f"{took:.1f} s, {per_second(CDRS, took, 'CDRs')}",
            f"bound: {driver} + csv.writer, same rows and columns {raw:.1f} s ({took / raw:.2f}x); "
            f"median of {RUNS}; file {size / 2**20:,.0f} MiB",
        ),
        Row(
            "cdr export",
            f"peak RSS of that export ({backend})",
            f"{statistics.median(peaks) / 1024:,.0f} MiB",
            f"floor: the same command exporting 1 CDR {floor / 1024:,.0f} MiB",
        ),
    ]


def _xlsx_rows(url: str, folder: Path) -> list[Row]:
    out = folder / "cdrs.xlsx"
    seconds, peak = _child(["cdr", "export", "--limit", str(XLSX_CDRS), "-o", str(out)], url)
    size = out.stat().st_size
    out.unlink()
    return [
        Row(
            "cdr export",
            f"`cdr export` of {XLSX_CDRS:,} CDRs to .xlsx (SQLite, subprocess)",
            f"{seconds:.1f} s, {per_second(XLSX_CDRS, seconds, 'CDRs')}",
            f"openpyxl write_only; {CDRS:,} would take ~{seconds * CDRS / XLSX_CDRS:.0f} s; "
            f"file {size / 2**20:,.0f} MiB",
        ),
        Row("cdr export", "peak RSS of that .xlsx export", f"{peak / 1024:,.0f} MiB"),
    ]


def _every_15_seconds(i: int) -> datetime:
    return datetime(2026, 5, 1, tzinfo=UTC) + timedelta(seconds=i * 15)


def fill(path: Path, began_at: Callable[[int], datetime] = _every_15_seconds) -> None:
    """A fresh migrated SQLite file at ``path`` with CDRS CDRs of ACCOUNTS accounts; the i-th call starts at
    ``began_at(i)`` (default: one every 15 s from 1 May 2026, six months)."""
    engine = make_engine(Settings(db=f"sqlite:///{path}", sqlite_synchronous="OFF"))
    migrate.upgrade(engine)
    engine.dispose()
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA synchronous=OFF")
    db.execute("BEGIN")
    db.executemany(ACCOUNTS_SQL.format("?"), _accounts())
    marks = ", ".join("?" * len(CDR_COLUMNS.split(",")))
    db.executemany(f"INSERT INTO cdrs ({CDR_COLUMNS}) VALUES ({marks})", cdrs(began_at))
    db.execute("COMMIT")
    db.close()


def fill_pg(url: str) -> None:
    """The same accounts and CDRs in a fresh PostgreSQL database (the timestamps are UTC)."""
    import psycopg
    from sqlalchemy.engine import make_url

    engine = make_engine(Settings(db=url))
    migrate.upgrade(engine)
    engine.dispose()
    with psycopg.connect(_plain(make_url(url))) as db, db.cursor() as cur:
        cur.execute("SET TIME ZONE 'UTC'")
        cur.executemany(ACCOUNTS_SQL.format("%s"), _accounts())
        with cur.copy(f"COPY cdrs ({CDR_COLUMNS}) FROM STDIN") as copy:
            for row in cdrs():
                copy.write_row(row)
        cur.execute("ANALYZE")


def _plain(url) -> str:
    """A SQLAlchemy URL as psycopg takes it."""
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


def _accounts():
    """Company acme and its ACCOUNTS - 1 extensions."""
    yield 1, "company", "acme", None
    for i in range(2, ACCOUNTS + 1):
        yield i, "extension", f"ext-{i}", 1


def cdrs(began_at: Callable[[int], datetime] = _every_15_seconds, count: int = CDRS, accounts: int = ACCOUNTS):
    """``count`` calls of accounts 1..``accounts`` as the listener would write them (timestamps as SQLAlchemy stores
    them)."""
    rng = random.Random(5)
    for i in range(count):
        call_class, prefix, destination = CLASSES[i % 3]
        outcome = OUTCOMES[i % len(OUTCOMES)]
        seconds = rng.randrange(1, 600) if outcome == "ANSWER" else 0
        began = began_at(i)
        stamp = f"{began:%Y-%m-%d %H:%M:%S}.000000"
        answered = f"{began + timedelta(seconds=8):%Y-%m-%d %H:%M:%S}.000000" if seconds else None
        ended = f"{began + timedelta(seconds=8 + seconds):%Y-%m-%d %H:%M:%S}.000000"
        number = f"{prefix}{i:07d}"
        cost = seconds * 1_000 if seconds else 0
        account = rng.randrange(1, accounts + 1)
        yield (
            f"{i:08x}-0000-4000-8000-000000000000",
            account,
            "pbx1",
            f"{1_780_000_000 + i}.{i}",
            f"{1_780_000_000 + i}.{i}",
            "100",
            f"00{number}",
            number,
            destination,
            prefix,
            call_class,
            stamp,
            answered,
            ended,
            seconds * 1000 - 300 if seconds else 0,
            seconds,
            outcome,
            "16" if seconds else "17",
            cost,
            cost // 2 if i % 2 else None,
            "USD",
            "events",
            stamp,
            account,  # paid by itself
        )


# Peak RSS is counted from a process forked by a small parent: a child forked from this (large) bench
# process would count the parent's pages it started with, and ru_maxrss survives exec.
MEASURE = """
import os, sys
pid = os.fork()
if pid == 0:
    os.execv(sys.executable, [sys.executable, *sys.argv[1:]])
_, status, usage = os.wait4(pid, 0)
print(os.waitstatus_to_exitcode(status), usage.ru_maxrss)
"""


def _child(args: list[str], url: str) -> tuple[float, int]:
    """Run the command in a subprocess: (seconds, peak RSS in KiB)."""
    with timer() as elapsed:
        out = subprocess.run(
            [sys.executable, "-c", MEASURE, "-c", MAIN, "--db", url, *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
            check=True,
        ).stdout
    status, peak = map(int, out.split()[-2:])
    if status:
        raise RuntimeError(f"asteriskbill {' '.join(args)} exited {status}")
    return elapsed(), peak


def _sqlite_bound(db: Path, out: Path) -> None:
    connection = sqlite3.connect(db)
    with out.open("w", newline="") as handle:
        csv.writer(handle).writerows(connection.execute(BOUND_SQL))
    connection.close()


def _pg_bound(url: str, out: Path) -> None:
    import psycopg
    from sqlalchemy.engine import make_url

    with psycopg.connect(_plain(make_url(url))) as db, db.cursor(name="bound") as cur, out.open("w", newline="") as f:
        cur.itersize = 2000  # as the export fetches (services/cdrs.py STREAM_CHUNK)
        cur.execute(BOUND_SQL)
        csv.writer(f).writerows(cur)
