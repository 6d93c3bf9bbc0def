"""Longest-prefix lookups over 1,000,000 rates (bench_import times the import that fills them).

One tariff, filled by the REAL import service from a CSV: in a fresh SQLite file, and in a scratch PostgreSQL
database when one answers. The same random 11-13 digit numbers are looked up by
(a) the SQL path (store rates_for_number + rating select_rate: commands, and serve while an index is built),
beside (b) a raw driver IN-list query on the same database, the bound for a database lookup;
(d) the lookup inside serve (MemoryCatalog.rates, its prefix index built), beside (c) a Python dict of the
prefixes probed longest -> shortest, the in-memory bound. Each pair runs in alternating chunks of the numbers, so
the machine's noise falls on both alike. The index's memory is the process's resident size before and after.
"""

from __future__ import annotations

import gc
import random
import sqlite3
import tempfile
from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import Engine
from sqlalchemy.engine import make_url

from asteriskbill.rating.engine import select_rate
from asteriskbill.services import rates as rate_service
from asteriskbill.services import tariffs as tariff_service
from asteriskbill.settings import Settings
from asteriskbill.store import migrate
from asteriskbill.store import tariffs as repo
from asteriskbill.store.catalog import MemoryCatalog
from asteriskbill.store.engine import make_engine
from bench.bench_import import write_rates_csv
from bench.common import Row, per_second, pg_database, timer

RATES = 1_000_000
LOOKUPS = 50_000  # numbers per method
CHUNK = 1_000  # numbers each method looks up in turn
SEED = 11
MOMENT = datetime(2026, 12, 1, 12, 0, tzinfo=ZoneInfo("UTC"))
BOUND_SQL = (
    "SELECT prefix, * FROM rates WHERE tariff_id = {mark} AND prefix IN ({marks}) ORDER BY length(prefix) DESC LIMIT 1"
)
Lookup = Callable[[list[str]], list]  # numbers -> for each, the longest prefix with a rate, or the rates found


def run() -> list[Row]:
    rng = random.Random(SEED)
    numbers = ["".join(rng.choices("0123456789", k=rng.randint(11, 13))) for _ in range(LOOKUPS)]
    with tempfile.TemporaryDirectory(prefix="bench_lookup_") as folder:
        source = Path(folder) / "rates.csv"
        write_rates_csv(source, RATES)
        path = Path(folder) / "rates.db"
        rows = _sqlite(f"sqlite:///{path}", path, source, numbers)
        with pg_database("asteriskbill_bench_lookup") as url:
            rows += _postgres(url, source, numbers) if url else [Row("rate lookup, PostgreSQL", "-", "-", "no server")]
    return rows


def _sqlite(url: str, path: Path, source: Path, numbers: list[str]) -> list[Row]:
    engine, tid = _imported(url, source)
    with engine.begin() as conn:
        sql = _alternating(numbers, ours=_sql_path(conn, tid), bound=_raw(sqlite3.connect(path), "?", tid))
    catalog, built, resident = _indexed(engine)
    dict_loaded, probe = _dict_probe(path)
    with engine.begin() as conn:
        memory = _alternating(numbers, ours=_memory(catalog, conn, tid), bound=probe)
    catalog.close()
    engine.dispose()
    return [
        *_pair("rate lookup", "(a) SQL path", "(b) raw sqlite3 IN (all prefixes) ORDER BY length DESC LIMIT 1", sql),
        *_pair("rate lookup", "(d) inside serve: MemoryCatalog.rates", "(c) dict probed longest -> shortest", memory),
        Row(
            "rate index",
            f"{RATES:,} rates in memory (MemoryCatalog: a thread builds it after an import)",
            f"{resident / 2**20:,.0f} MiB",
            f"resident size added; built in {built:.1f} s (a dict of prefix -> id: {dict_loaded:.1f} s)",
        ),
    ]


def _postgres(url: str, source: Path, numbers: list[str]) -> list[Row]:
    import psycopg

    engine, tid = _imported(url, source)
    bound = psycopg.connect(make_url(url).set(drivername="postgresql").render_as_string(hide_password=False))
    with engine.begin() as conn:
        sql = _alternating(numbers, ours=_sql_path(conn, tid), bound=_raw(bound, "%s", tid))
    bound.close()
    engine.dispose()
    return [
        *_pair(
            "rate lookup, PostgreSQL", "SQL path", "raw psycopg IN (all prefixes) ORDER BY length DESC LIMIT 1", sql
        ),
    ]


def _pair(name: str, ours: str, bound: str, seconds: dict[str, float]) -> list[Row]:
    """Two rows: ours ("(a) ..."), then its bound ("(b) ...")."""
    (mine, ours), (theirs, bound) = (ours.split(" ", 1), bound.split(" ", 1))
    share = seconds["bound"] / seconds["ours"]
    return [
        Row(name, f"{mine} {ours}", per_second(LOOKUPS, seconds["ours"], "lookups"), f"{share:.0%} of {theirs}"),
        Row(name, f"{theirs} {bound}", per_second(LOOKUPS, seconds["bound"], "lookups"), "bound, same run"),
    ]


def _imported(url: str, source: Path) -> tuple[Engine, int]:
    """(engine, tariff id) of a migrated database with the CSV imported (bench_import times imports)."""
    engine = make_engine(Settings(db=url))
    migrate.upgrade(engine)
    tariff_service.create_tariff(engine, "bench", "bench", "USD", 1, "UTC")
    rate_service.import_rates(engine, "bench", source)
    with engine.connect() as conn:
        tid = tariff_service.tariff_id(conn, "bench")
    return engine, tid


def _alternating(numbers: list[str], **methods: Lookup) -> dict[str, float]:
    """Seconds each method took over all the numbers, looked up CHUNK at a time in turn; they must agree."""
    seconds = dict.fromkeys(methods, 0.0)
    for start in range(0, len(numbers), CHUNK):
        chunk = numbers[start : start + CHUNK]
        answers = []
        for name, lookup in methods.items():
            with timer() as elapsed:
                answers.append(lookup(chunk))
            seconds[name] += elapsed()
        found = [[_longest(answer) if isinstance(answer, (list, tuple)) else answer for answer in a] for a in answers]
        assert all(f == found[0] for f in found), "the methods disagree on the longest prefix"
    return seconds


def _longest(rates: Sequence) -> str | None:
    return max((rate.prefix for rate in rates), key=len, default=None)


def _sql_path(conn, tid: int) -> Lookup:
    tariff = repo.tariff_entry(conn, tid).tariff

    def lookup(numbers: list[str]) -> list[str | None]:
        chosen = [select_rate(tariff, repo.rates_for_number(conn, tid, number), MOMENT) for number in numbers]
        return [None if rate is None else rate.prefix for rate in chosen]

    return lookup


def _raw(db, mark: str, tid: int) -> Lookup:
    cursor = db.cursor()

    def lookup(numbers: list[str]) -> list[str | None]:
        found = []
        for number in numbers:
            prefixes = [number[:n] for n in range(len(number), 0, -1)]
            cursor.execute(BOUND_SQL.format(mark=mark, marks=",".join([mark] * len(prefixes))), (tid, *prefixes))
            row = cursor.fetchone()
            found.append(row and row[0])
        return found

    return lookup


def _indexed(engine: Engine) -> tuple[MemoryCatalog, float, int]:
    """Serve's catalog with its index built: (catalog, seconds, resident bytes it added)."""
    gc.collect()
    before = _resident()
    catalog = MemoryCatalog(engine)
    with timer() as built:
        catalog.warm()
        catalog.wait_indexed()
    gc.collect()
    return catalog, built(), _resident() - before


def _memory(catalog: MemoryCatalog, conn, tid: int) -> Lookup:
    return lambda numbers: [catalog.rates(conn, tid, number) for number in numbers]


def _dict_probe(path: Path) -> tuple[float, Lookup]:
    db = sqlite3.connect(path)
    with timer() as loading:
        table = dict(db.execute("SELECT prefix, id FROM rates"))
    db.close()

    def lookup(numbers: list[str]) -> list[str | None]:
        found: list[str | None] = []
        for number in numbers:
            for length in range(len(number), 0, -1):
                if number[:length] in table:
                    found.append(number[:length])
                    break
            else:
                found.append(None)
        return found

    return loading(), lookup


def _resident() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * 4096  # pages; Linux pages are 4 KiB
