"""Exporting 1,000,000 CDRs: time and peak memory of `asteriskbill cdr export` in a subprocess.

The CDRs go into a fresh migrated SQLite file by sqlite3 executemany. Each export runs the real
command (service stream + sheets) in its own process, whose peak RSS (wait4) shows whether it
streams: holding a million CDRs would take gigabytes. Measured in the same run: the same rows
written by bare sqlite3 + csv.writer (the speed bound), and the peak RSS of a process that only
loads the command (the memory floor). XLSX is timed on the newest XLSX_CDRS only: openpyxl's
cell-by-cell XML makes the million take minutes.
"""

from __future__ import annotations

import csv
import random
import sqlite3
import subprocess
import sys
import tempfile
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from asteriskbill.settings import Settings
from asteriskbill.store import migrate
from asteriskbill.store.engine import make_engine
from bench.common import Row, per_second, timer

CDRS = 1_000_000
XLSX_CDRS = 100_000  # openpyxl writes ~4,000 rows/s: the million would take ~4 minutes, over the bench's budget
ACCOUNTS = 1_000
MAIN = "from asteriskbill.cli import main; main()"
CLASSES = (("local", "1555", "US local"), ("national", "1212", "US New York"), ("international", "4420", "UK London"))
OUTCOMES = ("ANSWER",) * 6 + ("BUSY", "NOANSWER", "CONGESTION", "CANCEL")


def run() -> list[Row]:
    with tempfile.TemporaryDirectory(prefix="bench_cdr_") as name:
        folder = Path(name)
        db = folder / "cdrs.db"
        with timer() as filled:
            fill(db)
        floor = f"floor: `asteriskbill --help` {_child(['--help'], db)[1] / 1024:,.0f} MiB"
        bound = _bound(db, folder / "bound.csv")
        rows = [
            Row(
                "cdr export",
                f"fill: {CDRS:,} CDRs by sqlite3 executemany",
                f"{filled():.1f} s",
                f"database {db.stat().st_size / 2**20:,.0f} MiB",
            )
        ]
        for count, out in ((CDRS, folder / "cdrs.csv"), (XLSX_CDRS, folder / "cdrs.xlsx")):
            seconds, peak_kib = _child(["cdr", "export", "--limit", str(count), "-o", str(out)], db)
            note = (
                f"bound: sqlite3 + csv.writer {bound:.1f} s"
                if out.suffix == ".csv"
                else f"openpyxl write_only; {CDRS:,} would take ~{seconds * CDRS / count:.0f} s"
            )
            rows.append(
                Row(
                    "cdr export",
                    f"`cdr export` of {count:,} CDRs to {out.suffix} (subprocess)",
                    f"{seconds:.1f} s, {per_second(count, seconds, 'CDRs')}",
                    f"{note}; file {out.stat().st_size / 2**20:,.0f} MiB",
                )
            )
            rows.append(
                Row("cdr export", f"peak RSS of that {out.suffix} export", f"{peak_kib / 1024:,.0f} MiB", floor)
            )
            out.unlink()
    return rows


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
    db.execute(
        "INSERT INTO accounts (id, kind, name, currency, balance, credit_limit, status, created_at) "
        "VALUES (1, 'company', 'acme', 'USD', 0, 0, 'active', '2026-01-01 00:00:00.000000')"
    )
    db.executemany(
        "INSERT INTO accounts (id, kind, name, parent_id, currency, balance, credit_limit, status, "
        "created_at) VALUES (?, 'extension', ?, 1, 'USD', 0, 0, 'active', '2026-01-01 00:00:00.000000')",
        ((i, f"ext-{i}") for i in range(2, ACCOUNTS + 1)),
    )
    db.executemany(
        "INSERT INTO cdrs (session, account_id, server, uniqueid, linkedid, callerid, dialled, number, destination, "
        "prefix, call_class, started_at, answered_at, ended_at, billable_ms, billed_seconds, outcome, hangup_cause, "
        "cost, buy_cost, currency, source, created_at) "
        "VALUES (?, ?, 'pbx1', ?, ?, '100', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'USD', 'events', ?)",
        _cdrs(began_at),
    )
    db.execute("COMMIT")
    db.close()


def _cdrs(began_at: Callable[[int], datetime]):
    """Calls as the listener would write them (timestamps as SQLAlchemy stores them)."""
    rng = random.Random(5)
    for i in range(CDRS):
        call_class, prefix, destination = CLASSES[i % 3]
        outcome = OUTCOMES[i % len(OUTCOMES)]
        seconds = rng.randrange(1, 600) if outcome == "ANSWER" else 0
        began = began_at(i)
        stamp = f"{began:%Y-%m-%d %H:%M:%S}.000000"
        answered = f"{began + timedelta(seconds=8):%Y-%m-%d %H:%M:%S}.000000" if seconds else None
        ended = f"{began + timedelta(seconds=8 + seconds):%Y-%m-%d %H:%M:%S}.000000"
        number = f"{prefix}{i:07d}"
        cost = seconds * 1_000 if seconds else 0
        yield (
            f"{i:08x}-0000-4000-8000-000000000000",
            rng.randrange(1, ACCOUNTS + 1),
            f"{1_780_000_000 + i}.{i}",
            f"{1_780_000_000 + i}.{i}",
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
            stamp,
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


def _child(args: list[str], db: Path) -> tuple[float, int]:
    """Run the command in a subprocess: (seconds, peak RSS in KiB)."""
    with timer() as elapsed:
        out = subprocess.run(
            [sys.executable, "-c", MEASURE, "-c", MAIN, "--db", f"sqlite:///{db}", *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
            check=True,
        ).stdout
    status, peak = map(int, out.split()[-2:])
    if status:
        raise RuntimeError(f"asteriskbill {' '.join(args)} exited {status}")
    return elapsed(), peak


def _bound(db: Path, out: Path) -> float:
    """The same rows and order (newest first, joined to the account) by sqlite3 and csv.writer."""
    connection = sqlite3.connect(db)
    with timer() as elapsed, out.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerows(
            connection.execute(
                "SELECT c.*, a.name, a.kind, p.name FROM cdrs c JOIN accounts a ON a.id = c.account_id "
                "LEFT JOIN accounts p ON p.id = a.parent_id ORDER BY c.started_at DESC, c.id DESC"
            )
        )
    connection.close()
    return elapsed()
