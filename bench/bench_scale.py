"""The scale table: whether the hot path's figures hold as the data grows (SQLite, WAL, synchronous=FULL).

- authorize in process as `serve` runs it (card + PIN, rates from the in-memory catalog, the reservation) with
  1k / 100k / 1M rates (1k cards) and with 1k / 1M cards (1k rates); the bound is the bare driver doing the same
  reads and writes in one transaction (bench_inprocess). 1M rates with 1M cards, on PostgreSQL too: bench_inprocess.
- settle one by one (``lifecycle.settle_in``, one transaction each) with no CDR stored and with 5,000,000; the
  bound is the same statements on the bare driver (bench_settle), over the same database.
- `cdr stats` (the service, by account) over 1,000,000 CDRs; the bound is the bare GROUP BY of the same sums.
"""

from __future__ import annotations

import sqlite3
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from asteriskbill.services import cdrs
from asteriskbill.settings import Settings
from asteriskbill.store.engine import make_engine
from bench import bench_cdr, bench_inprocess, bench_settle
from bench.common import Row, timer

CALLS = 150  # authorizations per method and run: 2 methods x 3 runs fit in 1,000 cards, none used twice
RUNS = 3
SETTLED = 400  # settlements per method and round
STORED = 5_000_000  # CDRs already there
STATS_RUNS = 3


def run() -> list[Row]:
    rows: list[Row] = []
    for rates, cards in ((1_000, 1_000), (100_000, 1_000), (1_000_000, 1_000), (1_000, 1_000_000)):
        with tempfile.TemporaryDirectory(prefix="bench_scale_") as name:
            rows.append(_authorize_row(Path(name), rates, cards))
    for stored in (0, STORED):
        with tempfile.TemporaryDirectory(prefix="bench_scale_") as name:
            rows.append(_settle_row(Path(name) / "bench.db", stored))
    with tempfile.TemporaryDirectory(prefix="bench_scale_") as name:
        rows.append(_stats_row(Path(name) / "cdrs.db"))
    return rows


def _authorize_row(folder: Path, rates: int, cards: int) -> Row:
    path = folder / "bench.db"
    settings, secret, chosen = bench_inprocess.world(f"sqlite:///{path}", folder, rates, cards, RUNS * 2 * CALLS)
    ours, bound = [], []
    for run in range(RUNS):
        chunk = chosen[run * 2 * CALLS : (run + 1) * 2 * CALLS]
        ours.append(bench_inprocess.ours(settings, chunk[:CALLS], memory=True))
        connect = bench_inprocess.sqlite_connect(path)
        bound.append(bench_inprocess.bound_ms(connect, "?", secret, chunk[CALLS:], "BEGIN IMMEDIATE"))
    figure, raw = statistics.median(ours), statistics.median(bound)
    return Row(
        "scale: authorize in process",
        f"card + PIN + longest prefix + reservation as serve runs it, {_count(rates)} rates, {_count(cards)} cards",
        f"{figure:.2f} ms",
        f"bound: bare sqlite3, one transaction {raw:.2f} ms ({figure / raw:.1f}x); median of {RUNS} runs of {CALLS}",
    )


def _settle_row(path: Path, stored: int) -> Row:
    settings = Settings(db=f"sqlite:///{path}")
    bench_settle.world(settings)
    if stored:
        _store_cdrs(path, stored)
    engine = make_engine(settings)
    methods: dict[str, Callable] = {
        "ours": lambda results: bench_settle.one_by_one(engine, results),
        "bound": bench_settle.raw_sqlite(path)(1),
    }
    figures: dict[str, list[float]] = {method: [] for method in methods}
    try:
        for _ in range(RUNS):
            for method, settle in methods.items():
                calls = bench_settle.ended_calls(settings, SETTLED)
                began = time.perf_counter()
                settle(calls)
                figures[method].append(SETTLED / (time.perf_counter() - began))
    finally:
        engine.dispose()
    ours, bound = (statistics.median(figures[method]) for method in ("ours", "bound"))
    return Row(
        "scale: settlement",
        f"lifecycle.settle_in one by one, {_count(stored) if stored else 'no'} CDRs stored",
        f"{ours:,.0f} calls/s",
        f"bound: bare sqlite3, the same statements, one transaction each {bound:,.0f}/s ({ours / bound:.0%}); "
        f"median of {RUNS} rounds of {SETTLED}",
    )


def _store_cdrs(path: Path, count: int) -> None:
    """``count`` CDRs of the world's accounts (the company and its extensions), by the bare driver."""
    db = sqlite3.connect(path, isolation_level=None)
    extensions = db.execute("SELECT count(*) FROM accounts").fetchone()[0]
    db.execute("PRAGMA synchronous=OFF")
    db.execute("BEGIN")
    marks = ", ".join("?" * len(bench_cdr.CDR_COLUMNS.split(",")))
    rows = bench_cdr.cdrs(count=count, accounts=extensions)
    db.executemany(f"INSERT INTO cdrs ({bench_cdr.CDR_COLUMNS}) VALUES ({marks})", rows)
    db.execute("COMMIT")
    db.close()


def _stats_row(path: Path) -> Row:
    bench_cdr.fill(path)
    engine = make_engine(Settings(db=f"sqlite:///{path}"))
    db = sqlite3.connect(path)
    ours, bound = [], []
    try:
        for _ in range(STATS_RUNS):
            with timer() as took:
                found = cdrs.stats(engine, cdrs.Filters(), "account")
            ours.append(took())
            with timer() as took:
                raw = db.execute(_STATS_BOUND).fetchall()
            bound.append(took())
            assert sum(row.total.calls for row in found) == sum(row[4] for row in raw)  # the same CDRs counted
    finally:
        db.close()
        engine.dispose()
    figure, floor = statistics.median(ours), statistics.median(bound)
    return Row(
        "scale: cdr stats",
        f"`cdr stats --by account` over {_count(bench_cdr.CDRS)} CDRs (the service)",
        f"{figure:.2f} s",
        f"bound: bare sqlite3 GROUP BY of the same sums {floor:.2f} s ({figure / floor:.1f}x); median of {STATS_RUNS}",
    )


# The same sums per account and currency by call class: one row per account and currency
_STATS_BOUND = (
    "SELECT a.name, a.kind, c.currency, c.call_class, count(*), sum(c.outcome = 'ANSWER'), sum(c.billed_seconds), "
    "sum(c.cost), sum(CASE WHEN c.buy_cost IS NOT NULL AND c.buy_currency IS NULL THEN c.buy_cost END), "
    "sum(CASE WHEN c.buy_cost IS NOT NULL AND c.buy_currency IS NULL THEN c.cost ELSE 0 END) "
    "FROM cdrs c JOIN accounts a ON a.id = c.account_id GROUP BY 1, 2, 3, 4"
)


def _count(n: int) -> str:
    return f"{n // 1_000_000}M" if n >= 1_000_000 else f"{n // 1000}k"
