"""Rates import of 100k and 1M rows, each beside its bound, on SQLite (WAL, synchronous=FULL) and PostgreSQL.

Ours: ``services.rates.import_rates`` from a CSV (read, validated, staged sorted by prefix, switched in), run in a
fresh process so that its peak RSS is its own. The bound: the same rows (read back from ours) inserted sorted by
prefix into the same table and indexes of a fresh database by the bare driver in one transaction: one executemany
(sqlite3), one COPY (psycopg).
Linear means 1M rows take at most 11x as long as 100k.
"""

from __future__ import annotations

import csv
import random
import sqlite3
import tempfile
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from contextlib import AbstractContextManager, contextmanager
from multiprocessing import get_context
from pathlib import Path

from bench.common import Row, per_second, pg_database

SIZES = (100_000, 1_000_000)
WINDOWED = 0.01  # share of prefixes that also have a peak-hour rate (those lines take the general path)
SEED = 11
LINEAR = 11  # 10x the rows in at most this many times the time


def run() -> list[Row]:
    rows: list[Row] = []
    with tempfile.TemporaryDirectory(prefix="bench_import_") as folder:
        sources = {size: write_rates_csv(Path(folder) / f"rates_{size}.csv", size) for size in SIZES}
        rows += _backend("SQLite FULL", sources, _sqlite_databases(Path(folder)), _raw_sqlite)
        with pg_database() as probe:
            if probe is None:
                return [*rows, Row("rates import", "PostgreSQL", "skipped", "no PostgreSQL server answers")]
        rows += _backend("PostgreSQL", sources, _pg_databases(), _raw_pg)
    return rows


Databases = Callable[[], AbstractContextManager[str]]  # a fresh database, migrated, with the tariff: its URL
Raw = Callable[[str, list[tuple]], float]  # inserts the rows by the bare driver; returns the seconds taken


def _backend(name: str, sources: dict[int, Path], databases: Databases, raw: Raw) -> list[Row]:
    bulk = "COPY" if raw is _raw_pg else "executemany"
    rows: list[Row] = []
    times: dict[int, float] = {}
    bounds: dict[int, float] = {}
    for size, source in sources.items():
        with databases() as ours, databases() as theirs:
            seconds, count, peak = _in_a_fresh_process(ours, source)
            bound = raw(theirs, _rows_of(ours))
        times[size], bounds[size] = seconds, bound
        rows += [
            Row(
                "rates import",
                f"{name}, {count:,} rows: import_rates (CSV -> rates in effect)",
                f"{seconds:.1f} s",
                f"{per_second(count, seconds, 'rows')}, {seconds / bound:.1f}x the bound; peak RSS {peak:.0f} MiB",
            ),
            Row(
                "rates import",
                f"{name}, {count:,} rows: bare driver, {bulk} sorted by prefix, one transaction",
                f"{bound:.1f} s",
                f"bound; {source.stat().st_size / 2**20:.0f} MiB CSV",
            ),
        ]
    small, large = SIZES
    ratio, raw_ratio = times[large] / times[small], bounds[large] / bounds[small]
    rows.append(
        Row(
            "rates import",
            f"{name}, {small:,} -> {large:,} rows",
            f"{ratio:.1f}x as long",
            f"linear: at most {LINEAR}x; the bound's {raw_ratio:.1f}x",
        )
    )
    return rows


def write_rates_csv(source: Path, count: int) -> Path:
    """``count`` rows: unique random prefixes of 1-12 digits, a few with a second, peak-hour rate."""
    rng = random.Random(SEED)
    prefixes: set[str] = set()
    with source.open("w", newline="") as stream:
        writer = csv.writer(stream)
        writer.writerow(["prefix", "destination", "price", "increments", "time_from", "time_to"])
        rows = 0
        while rows < count:
            prefix = "".join(rng.choices("0123456789", k=rng.randint(1, 12)))
            if prefix in prefixes:
                continue
            prefixes.add(prefix)
            price = f"0.{rng.randrange(10**6):06d}"
            writer.writerow([prefix, f"dest {prefix[:3]}", price, "60/6", "", ""])
            rows += 1
            if rng.random() < WINDOWED and rows < count:
                writer.writerow([prefix, f"dest {prefix[:3]} peak", price, "60/6", "08:00", "18:00"])
                rows += 1
    return source


def _in_a_fresh_process(url: str, source: Path) -> tuple[float, int, float]:
    with ProcessPoolExecutor(1, mp_context=get_context("spawn")) as pool:
        return pool.submit(_import, url, source).result()


def _import(url: str, source: Path) -> tuple[float, int, float]:
    """(seconds, rows, peak RSS in MiB) of the import, in this process."""
    from asteriskbill.services import rates
    from asteriskbill.settings import Settings
    from asteriskbill.store.engine import make_engine

    engine = make_engine(Settings(db=url))
    began = time.perf_counter()
    result = rates.import_rates(engine, "bench", source)
    seconds = time.perf_counter() - began
    engine.dispose()
    return seconds, result.count, _peak_rss()


def _peak_rss() -> float:
    """This process's peak resident memory, MiB (VmHWM: ru_maxrss would count the parent's, from before exec)."""
    status = Path("/proc/self/status").read_text()
    return int(status.split("VmHWM:")[1].split()[0]) / 1024


def _ready(url: str) -> str:
    """A migrated database with the tariff the rates go into."""
    from asteriskbill.services import tariffs
    from asteriskbill.settings import Settings
    from asteriskbill.store import migrate
    from asteriskbill.store.engine import make_engine

    engine = make_engine(Settings(db=url))
    migrate.upgrade(engine)
    tariffs.create_tariff(engine, "bench", "bench", "USD", 1, "UTC")
    engine.dispose()
    return url


def _rows_of(url: str) -> list[tuple]:
    """Every rate row, as inserted, by prefix."""
    from sqlalchemy import create_engine

    engine = create_engine(url)
    with engine.connect() as conn:
        rows = [tuple(row) for row in conn.exec_driver_sql(f"SELECT {_columns()} FROM rates ORDER BY prefix, id")]
    engine.dispose()
    return rows


def _sqlite_databases(folder: Path) -> Databases:
    names = iter(range(1_000))

    @contextmanager
    def database() -> Iterator[str]:
        yield _ready(f"sqlite:///{folder / f'bench_{next(names)}.db'}")

    return database


def _pg_databases() -> Databases:
    @contextmanager
    def database() -> Iterator[str]:
        with pg_database("asteriskbill_bench_import") as url:
            assert url is not None
            yield _ready(url)

    return database


def _columns() -> str:
    from asteriskbill.store.tariffs import RATE_COLUMNS

    return ", ".join(["tariff_id", "revision", *RATE_COLUMNS])


def _insert_sql(style: str, count: int) -> str:
    return f"INSERT INTO rates ({_columns()}) VALUES ({', '.join([style] * count)})"


def _raw_sqlite(url: str, rows: list[tuple]) -> float:
    db = sqlite3.connect(url.removeprefix("sqlite:///"), isolation_level=None)
    for pragma in ("journal_mode=WAL", "synchronous=FULL", "foreign_keys=ON"):
        db.execute(f"PRAGMA {pragma}")
    began = time.perf_counter()
    db.execute("BEGIN IMMEDIATE")
    db.executemany(_insert_sql("?", len(rows[0])), rows)
    db.execute("COMMIT")
    seconds = time.perf_counter() - began
    db.close()
    return seconds


def _raw_pg(url: str, rows: list[tuple]) -> float:
    import psycopg
    from sqlalchemy.engine import make_url

    plain = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(plain) as db:
        began = time.perf_counter()
        with db.transaction(), db.cursor() as cursor, cursor.copy(f"COPY rates ({_columns()}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        return time.perf_counter() - began
