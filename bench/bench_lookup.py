"""Longest-prefix lookups over 1,000,000 rates, and the 1M-row import that builds them.

One tariff in a fresh SQLite file, filled by the REAL import service from a CSV. Then the same
random 11-13 digit numbers are looked up by (a) asteriskbill's authorization path, (b) a raw sqlite3
IN-list query on the same file (the bound for a database lookup) and (c) a Python dict probed
longest -> shortest (the in-memory upper bound).
"""

from __future__ import annotations

import csv
import random
import sqlite3
import tempfile
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from asteriskbill.rating.engine import select_rate
from asteriskbill.services import rates as rate_service
from asteriskbill.services import tariffs as tariff_service
from asteriskbill.settings import Settings
from asteriskbill.store import migrate
from asteriskbill.store import tariffs as repo
from asteriskbill.store.engine import make_engine
from bench.common import Row, per_second, timer

RATES = 1_000_000
WINDOWED = 0.01  # share of prefixes that also have a peak-hour rate
LOOKUPS = 50_000  # numbers per method
SEED = 11


def run() -> list[Row]:
    rng = random.Random(SEED)
    with tempfile.TemporaryDirectory(prefix="bench_lookup_") as folder:
        path = Path(folder) / "rates.db"
        source = Path(folder) / "rates.csv"
        size = _write_csv(source, rng)
        engine = make_engine(Settings(db=f"sqlite:///{path}"))
        migrate.upgrade(engine)
        tariff_service.create_tariff(engine, "bench", "bench", "USD", 1, "UTC")
        with timer() as imported:
            result = rate_service.import_rates(engine, "bench", source)
        numbers = ["".join(rng.choices("0123456789", k=rng.randint(11, 13))) for _ in range(LOOKUPS)]
        moment = datetime(2026, 12, 1, 12, 0, tzinfo=ZoneInfo("UTC"))
        ours, found = _asteriskbill(engine, numbers, moment)
        engine.dispose()
        raw, raw_found = _raw_sqlite(path, numbers)
        loaded, probed, dict_found = _dict_probe(path, numbers)
    assert found == raw_found == dict_found, "the three methods disagree on which prefixes match"
    return [
        Row(
            "rate import",
            f"{result.count:,} rows, CSV -> services.rates.import_rates (staged in batches, in effect at once)",
            f"{imported():.1f} s",
            f"{per_second(result.count, imported(), 'rows')}, {size / 2**20:.0f} MiB CSV",
        ),
        Row(
            "rate lookup",
            "(a) asteriskbill: store rates_for_number + rating select_rate",
            per_second(LOOKUPS, ours, "lookups"),
            f"{ours / raw:.1f}x the time of (b); one open connection",
        ),
        Row(
            "rate lookup",
            "(b) raw sqlite3 IN (all prefixes) ORDER BY length DESC LIMIT 1",
            per_second(LOOKUPS, raw, "lookups"),
            "bound for a database lookup",
        ),
        Row(
            "rate lookup",
            "(c) dict probed longest -> shortest",
            per_second(LOOKUPS, probed, "lookups"),
            f"upper bound; loading the dict took {loaded:.1f} s",
        ),
    ]


def _write_csv(source: Path, rng: random.Random) -> int:
    """RATES rows: unique random prefixes of 1-12 digits, a few with a second, peak-hour rate."""
    prefixes: set[str] = set()
    rows = 0
    with source.open("w", newline="") as stream:
        writer = csv.writer(stream)
        writer.writerow(["prefix", "destination", "price", "increments", "time_from", "time_to"])
        while rows < RATES:
            prefix = "".join(rng.choices("0123456789", k=rng.randint(1, 12)))
            if prefix in prefixes:
                continue
            prefixes.add(prefix)
            price = f"0.{rng.randrange(10**6):06d}"
            writer.writerow([prefix, f"dest {prefix[:3]}", price, "60/6", "", ""])
            rows += 1
            if rng.random() < WINDOWED and rows < RATES:
                writer.writerow([prefix, f"dest {prefix[:3]} peak", price, "60/6", "08:00", "18:00"])
                rows += 1
    return source.stat().st_size


def _asteriskbill(engine, numbers: list[str], moment: datetime) -> tuple[float, list[str | None]]:
    found: list[str | None] = []
    with engine.connect() as conn:
        tid, tariff = tariff_service.get_tariff(conn, "bench")
        with timer() as elapsed:
            for number in numbers:
                rate = select_rate(tariff, repo.rates_for_number(conn, tid, number), moment)
                found.append(None if rate is None else rate.prefix)
    return elapsed(), found


def _raw_sqlite(path: Path, numbers: list[str]) -> tuple[float, list[str | None]]:
    found: list[str | None] = []
    db = sqlite3.connect(path)
    (tid,) = db.execute("SELECT id FROM tariffs WHERE name = 'bench'").fetchone()
    with timer() as elapsed:
        for number in numbers:
            prefixes = [number[:n] for n in range(len(number), 0, -1)]
            row = db.execute(
                f"SELECT prefix, * FROM rates WHERE tariff_id = ? AND prefix IN ({','.join('?' * len(prefixes))})"
                " ORDER BY length(prefix) DESC LIMIT 1",
                (tid, *prefixes),
            ).fetchone()
            found.append(row and row[0])
    db.close()
    return elapsed(), found


def _dict_probe(path: Path, numbers: list[str]) -> tuple[float, float, list[str | None]]:
    db = sqlite3.connect(path)
    with timer() as loading:
        table = dict(db.execute("SELECT prefix, id FROM rates"))
    db.close()
    found: list[str | None] = []
    with timer() as elapsed:
        for number in numbers:
            for length in range(len(number), 0, -1):
                if number[:length] in table:
                    found.append(number[:length])
                    break
            else:
                found.append(None)
    return loading(), elapsed(), found
