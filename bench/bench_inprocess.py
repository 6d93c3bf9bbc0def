"""One calling-card authorization in process: card number + PIN, longest-prefix rate, credit reserved.

1,000,000 rates and 1,000,000 cards, filled by the real services. Each authorization is ``calls.card_login`` then
``lifecycle.authorize`` on a card not used before, with the rates read by SQL (a command run once) and from serve's
in-memory catalog. The bound does the same work with the bare driver in ONE transaction: the card by number, the PIN
hashed and compared, the account, the credit held, the rates by an IN-list of the number's prefixes, the reservation
inserted and the card stamped. SQLite (WAL, synchronous=FULL) and PostgreSQL.
"""

from __future__ import annotations

import hmac
import json
import random
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from asteriskbill.billing import cards as card_rules
from asteriskbill.services import calls, lifecycle, routes
from asteriskbill.services import rates as rate_service
from asteriskbill.services import tariffs as tariff_service
from asteriskbill.services.card_batches import BatchSpec, generate
from asteriskbill.services.secret import installation_secret
from asteriskbill.settings import Settings
from asteriskbill.store import migrate
from asteriskbill.store.catalog import SQL_CATALOG, MemoryCatalog
from asteriskbill.store.engine import make_engine
from bench.common import Row, pg_database

RATES = 1_000_000
CARDS = 1_000_000
CALLS = 2_000  # authorizations per method and run
RUNS = 3
NUMBER = "442071234567"


def world(
    url: str, folder: Path, rates: int = RATES, cards: int = CARDS, picks: int = RUNS * 3 * CALLS
) -> tuple[Settings, bytes, list[tuple[str, str]]]:
    """``rates`` rates and ``cards`` cards by the real services; ``picks`` of the cards (number, PIN), none twice."""
    settings = Settings(db=url, secret_file=str(folder / "secret"))
    secret = installation_secret(settings.secret_file, create=True)
    engine = make_engine(settings)
    migrate.upgrade(engine)
    tariff_service.create_tariff(engine, "bench", "retail", "USD", 1, "UTC")
    rng = random.Random(3)
    prefixes = {"44", "4420", "44207"} | {str(rng.randrange(10, 10 ** rng.randrange(3, 9))) for _ in range(rates)}
    source = folder / "rates.csv"
    with source.open("w") as out:
        out.write("prefix,destination,price,increments\n")
        out.writelines(f"{p},d{p},0.{rng.randrange(10, 99)},60/6\n" for p in sorted(prefixes)[:rates])
    rate_service.import_rates(engine, "retail", source)
    routes.add_route(engine, "bench", "", "PJSIP/${NUMBER}@carrier")
    _, made = generate(engine, secret, "bench", BatchSpec(count=cards, value=50_000_000, tariff="retail"))
    engine.dispose()
    chosen = rng.sample(made, picks)
    return settings, secret, [(c.number, c.pin) for c in chosen]


def ours(settings: Settings, cards: list[tuple[str, str]], memory: bool) -> float:
    """Median milliseconds of one card login + authorization (the first card's warms up: statements, caches)."""
    engine = make_engine(settings)
    memory_catalog = MemoryCatalog(engine) if memory else None
    catalog = memory_catalog or SQL_CATALOG
    if memory_catalog is not None:
        memory_catalog.warm()
        memory_catalog.wait_indexed()
    try:
        times = []
        for number, pin in cards:
            began = time.perf_counter()
            login = calls.card_login(engine, settings, number, pin)
            assert login.account_id is not None, login
            done = lifecycle.authorize(engine, settings, login.account_id, "00" + NUMBER, catalog=catalog)
            times.append(time.perf_counter() - began)
            assert done.status == "OK", done
        return statistics.median(times[1:]) * 1000
    finally:
        if memory_catalog is not None:
            memory_catalog.close()
        engine.dispose()


def bound_ms(connect: Callable, mark: str, secret: bytes, cards: list[tuple[str, str]], begin: str) -> float:
    """The same reads and writes with the bare driver, one transaction each."""
    db = connect()
    cur = db.cursor()
    prefixes = [NUMBER[:n] for n in range(len(NUMBER), 0, -1)]
    inlist = ", ".join([mark] * len(prefixes))
    times = []
    for number, pin in cards:
        began = time.perf_counter()
        cur.execute(begin)
        cur.execute(f"SELECT id, account_id, pin_hash, pin_failures FROM cards WHERE number = {mark}", (number,))
        card_id, account_id, stored, _ = cur.fetchone()
        assert hmac.compare_digest(card_rules.pin_hash(secret, number, pin), stored)
        cur.execute(
            f"SELECT balance, credit_limit, status, tariff_id, max_calls FROM accounts WHERE id = {mark}", (account_id,)
        )
        balance, _, _, tariff_id, _ = cur.fetchone()
        cur.execute(
            "SELECT coalesce(sum(amount), 0), count(*) FROM reservations "
            f"WHERE account_id = {mark} AND status = 'open'",
            (account_id,),
        )
        cur.fetchone()
        cur.execute(
            "SELECT prefix, destination, intervals, connect_fee, grace, weekdays, time_from, time_to, date_from, "
            f"date_to, buy_price, buy_currency, weight FROM rates WHERE tariff_id = {mark} AND prefix IN ({inlist})",
            (tariff_id, *prefixes),
        )
        rates = cur.fetchall()
        now = datetime.now(UTC)
        cur.execute(
            "INSERT INTO reservations (session, account_id, status, amount, held_seconds, max_seconds, dialled, "
            "number, call_class, destination, prefix, dial, priced_at, pricing, channel, uniqueid, callerid, "
            f"created_at) VALUES ({', '.join([mark] * 18)})",
            (
                str(uuid.uuid4()), account_id, "open", min(balance, 1_000_000), 300, 3600, "00" + NUMBER, NUMBER,
                "international", "d", rates[0][0], "PJSIP/x", now, json.dumps([list(r) for r in rates], default=str),
                "", "", "", now,
            ),
        )  # fmt: skip
        cur.execute(f"UPDATE cards SET last_used_at = {mark} WHERE id = {mark}", (now, card_id))
        db.commit() if begin == "BEGIN" else cur.execute("COMMIT")
        times.append(time.perf_counter() - began)
    db.close()
    return statistics.median(times) * 1000


def sqlite_connect(path: Path) -> Callable:
    import sqlite3

    def connect():
        db = sqlite3.connect(path, isolation_level=None)
        db.execute("PRAGMA synchronous=FULL")
        return db

    return connect


def _pg_connect(url: str) -> Callable:
    import psycopg
    from sqlalchemy.engine import make_url

    plain = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    return lambda: psycopg.connect(plain)


def _rows(
    backend: str, world: tuple[Settings, bytes, list[tuple[str, str]]], connect: Callable, mark: str
) -> list[Row]:
    settings, secret, cards = world
    sql, memory, bound = [], [], []
    for run in range(RUNS):
        chunk = cards[run * 3 * CALLS : (run + 1) * 3 * CALLS]
        sql.append(ours(settings, chunk[:CALLS], memory=False))
        memory.append(ours(settings, chunk[CALLS : 2 * CALLS], memory=True))
        begin = "BEGIN IMMEDIATE" if backend == "SQLite" else "BEGIN"
        bound.append(bound_ms(connect, mark, secret, chunk[2 * CALLS :], begin))
    raw = statistics.median(bound)
    return [
        Row(
            "authorize in process",
            f"card + PIN + longest prefix + reservation, rates from {how} ({backend}, 1M rates, 1M cards)",
            f"{statistics.median(figures):.2f} ms",
            f"bound: bare driver, one transaction {raw:.2f} ms ({statistics.median(figures) / raw:.1f}x); "
            f"median of {RUNS} runs of {CALLS:,}",
        )
        for how, figures in (("the in-memory catalog (serve)", memory), ("SQL (a command)", sql))
    ]


def run() -> list[Row]:
    rows: list[Row] = []
    with tempfile.TemporaryDirectory(prefix="bench_inprocess_") as name:
        folder = Path(name)
        path = folder / "bench.db"
        rows += _rows("SQLite", world(f"sqlite:///{path}", folder), sqlite_connect(path), "?")
        with pg_database() as url:
            if url is None:
                rows.append(Row("authorize in process", "PostgreSQL", "not measured", "no PostgreSQL server answers"))
            else:
                rows += _rows("PostgreSQL", world(url, folder), _pg_connect(url), "%s")
    return rows
