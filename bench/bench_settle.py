"""Settlements/s (CDR + ledger charge + reservation closed): one by one, each its own transaction on one
connection; in groups of 32 by ``settle_many`` in one transaction; and all submitted at once to serve's writer (groups
of up to MAX_GROUP); on SQLite (WAL, synchronous=FULL) and on PostgreSQL. The bound runs the same statements on the
bare driver (the call's cost taken as given, not priced): the reservations and their accounts read and locked, the
CDRs and the ledger entries inserted, the balances and the reservations updated; one settlement per transaction, 32,
or MAX_GROUP.

The reservations are made by ``lifecycle.authorize`` (without waiting for the disk: that is not what is measured),
over 50 extensions and four destinations; the methods take turns, and each figure is the median of the rounds.
"""

from __future__ import annotations

import random
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import Engine, select

from asteriskbill.billing.settle import CallResult
from asteriskbill.services import accounts, lifecycle, routes
from asteriskbill.services import rates as rate_service
from asteriskbill.services import tariffs as tariff_service
from asteriskbill.settings import Settings
from asteriskbill.store import migrate
from asteriskbill.store.engine import make_engine
from asteriskbill.store.models import Account
from asteriskbill.store.writer import MAX_GROUP, Writer
from bench.common import Row, pg_database

ROUNDS = 3
ONE_BY_ONE = 400  # settlements per method and round
GROUPED = 1_280
GROUP = 32
THROUGH_WRITER = 2_560  # as many as 10 of serve's largest groups
EXTENSIONS = 50
NUMBERS = ("00442071234567", "0015551234567", "0033142685300", "004930123456")
RATES = 2_000
Settle = Callable[[list[CallResult]], None]  # settles its calls, one by one or in groups


def run() -> list[Row]:
    rows = []
    with tempfile.TemporaryDirectory(prefix="bench_settle_") as folder:
        path = Path(folder) / "bench.db"
        rows += _rows("SQLite FULL", Settings(db=f"sqlite:///{path}"), raw_sqlite(path))
    with pg_database() as url:
        if url is None:
            rows.append(Row("settlement", "PostgreSQL", "skipped", "no PostgreSQL server answers"))
        else:
            rows += _rows("PostgreSQL", Settings(db=url), _raw_pg(url))
    return rows


def _rows(backend: str, settings: Settings, raw: Callable[[int], Settle]) -> list[Row]:
    world(settings)
    engine = make_engine(settings)
    writer = Writer(engine)  # as serve makes it: groups of up to MAX_GROUP
    methods: dict[str, tuple[int, Settle]] = {  # the calls of one round, and how they are settled
        "ours one by one": (ONE_BY_ONE, lambda results: one_by_one(engine, results)),
        "raw one by one": (ONE_BY_ONE, raw(1)),
        "ours settle_many": (GROUPED, lambda results: _in_groups(engine, results)),
        "raw groups": (GROUPED, raw(GROUP)),
        "ours writer": (THROUGH_WRITER, lambda results: _through(writer, results)),
        "raw writer groups": (THROUGH_WRITER, raw(MAX_GROUP)),
    }
    figures: dict[str, list[float]] = {method: [] for method in methods}
    try:
        for _ in range(ROUNDS):
            for method, (count, settle) in methods.items():
                calls = ended_calls(settings, count)
                began = time.perf_counter()
                settle(calls)
                figures[method].append(count / (time.perf_counter() - began))
    finally:
        writer.close()
        engine.dispose()
    rate = {method: statistics.median(values) for method, values in figures.items()}
    return [
        Row(
            "settlement",
            f"{measure} ({backend})",
            f"{rate[ours]:,.0f} calls/s",
            f"bound: bare driver, the same statements, {per} {rate[bound]:,.0f}/s ({rate[ours] / rate[bound]:.0%}); "
            f"median of {ROUNDS} rounds of {methods[ours][0]:,}",
        )
        for ours, bound, per, measure in (
            ("ours one by one", "raw one by one", "one transaction each", "lifecycle.settle_in, one transaction each"),
            ("ours settle_many", "raw groups", f"{GROUP} per transaction", f"lifecycle.settle_many, {GROUP} at once"),
            (
                "ours writer",
                "raw writer groups",
                f"{MAX_GROUP} per transaction",
                f"serve's writer, all submitted at once, groups of up to {MAX_GROUP}",
            ),
        )
    ]


def one_by_one(engine: Engine, results: list[CallResult]) -> None:
    with engine.connect() as conn:  # one connection, as serve's writer and the bound keep theirs
        for result in results:
            with conn.begin():
                lifecycle.settle_in(conn, result)


def _in_groups(engine: Engine, results: list[CallResult]) -> None:
    for start in range(0, len(results), GROUP):
        with engine.begin() as conn:
            lifecycle.settle_many(conn, results[start : start + GROUP])


def _through(writer: Writer, results: list[CallResult]) -> None:
    for future in [writer.submit_many(lifecycle.settle_many, result) for result in results]:
        future.result()


# --- the world and its calls ------------------------------------------------------------------------------


def world(settings: Settings) -> None:
    engine = make_engine(settings)
    migrate.upgrade(engine)
    tariff_service.create_tariff(engine, "bench", "retail", "USD", 1, "UTC")
    rng = random.Random(7)
    prefixes = {"1", "44", "33", "49"} | {str(rng.randrange(10, 10 ** rng.randrange(3, 9))) for _ in range(RATES)}
    with tempfile.TemporaryDirectory() as folder:
        source = Path(folder) / "rates.csv"
        lines = [f"{p},d{p},0.{rng.randrange(10, 99)},60/6,0.0{rng.randrange(1, 9)},\n" for p in sorted(prefixes)]
        source.write_text("prefix,destination,price,increments,buy_price,buy_currency\n" + "".join(lines))
        rate_service.import_rates(engine, "retail", source)
    routes.add_route(engine, "bench", "", "PJSIP/${NUMBER}@carrier")
    accounts.create(engine, "bench", accounts.NewAccount("company", "acme", tariff="retail", currency="USD"))
    for n in range(EXTENSIONS):
        name = f"e{n}"
        accounts.create(engine, "bench", accounts.NewAccount("extension", name, parent="acme", extension=str(1000 + n)))
        accounts.post(engine, "bench", name, "recharge", 1_000_000_000_000)
    engine.dispose()


def ended_calls(settings: Settings, count: int) -> list[CallResult]:
    """``count`` calls authorized and ended: 95 s of talk each."""
    fast = _unsynced(settings)
    with fast.begin() as conn:
        ids = conn.execute(select(Account.id).where(Account.kind == "extension").order_by(Account.id)).scalars().all()
    now = datetime.now(UTC)
    results = []
    for n in range(count):
        granted = lifecycle.authorize(fast, settings, ids[n % len(ids)], NUMBERS[n % len(NUMBERS)], slice_seconds=600)
        assert granted.session, granted.reason
        results.append(
            CallResult(
                granted.session,
                "ANSWER",
                95_000,
                started_at=now,
                answered_at=now + timedelta(seconds=4),
                ended_at=now + timedelta(seconds=99),
                uniqueid=f"1700000000.{n}",
                hangup_cause="16",
            )
        )
    fast.dispose()
    return results


def _unsynced(settings: Settings) -> Engine:
    """An engine that commits without waiting for the disk, to make the calls quickly."""
    if settings.db.startswith("sqlite"):
        return make_engine(Settings(db=settings.db, sqlite_synchronous="OFF"))
    return make_engine(settings, connect_args={"options": "-c synchronous_commit=off"})


# --- the bound: the same statements on the bare driver ----------------------------------------------------

_CDR = (
    "INSERT INTO cdrs (session, account_id, server, uniqueid, linkedid, callerid, dialled, number, destination, "
    "prefix, call_class, started_at, answered_at, ended_at, billable_ms, billed_seconds, outcome, hangup_cause, "
    "cost, buy_cost, buy_currency, currency, source, created_at) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
_ENTRY = (
    "INSERT INTO ledger_entries (account_id, kind, amount, balance_after, reference, note, operator, created_at) "
    "VALUES (?, 'call', ?, ?, ?, ?, 'engine', ?)"
)
_BALANCE = "UPDATE accounts SET balance = ? WHERE id = ?"
_CLOSE = "UPDATE reservations SET status = 'settled', closed_at = ? WHERE id = ?"


def _settle_raw(cur, results: list[CallResult], lock: str, mark: str, stamp: Callable[[datetime], object]) -> None:
    """settle_many's statements: the reservations and their accounts read and locked in one select each, then one
    executemany for the CDRs, the ledger entries, the balances, the reservations; each cost half the amount held."""

    def sql(text: str, count: int = 1) -> str:
        return text.replace("?", mark).replace("(*)", f"({', '.join([mark] * count)})")

    reservations = "SELECT id, session, account_id, amount, number, dialled, destination, prefix, call_class, "
    reservations += "callerid FROM reservations WHERE session IN (*) ORDER BY id"
    cur.execute(sql(reservations, len(results)) + lock, [result.session for result in results])
    held = {row[1]: row for row in cur.fetchall()}
    ids = sorted({row[2] for row in held.values()})
    cur.execute(sql("SELECT id, balance, currency FROM accounts WHERE id IN (*) ORDER BY id", len(ids)) + lock, ids)
    accounts = {row[0]: [row[1], row[2]] for row in cur.fetchall()}
    now = stamp(datetime.now(UTC))
    cdrs, entries = [], []
    for result in results:
        r = held[result.session]
        account, cost = accounts[r[2]], r[3] // 2
        account[0] -= cost
        times = [stamp(t) for t in (result.started_at, result.answered_at, result.ended_at)]  # type: ignore[arg-type]
        cdrs.append(
            (
                result.session, r[2], "", result.uniqueid, "", r[9], r[5], r[4], r[6], r[7], r[8], *times,
                result.billable_ms, 95, result.outcome, result.hangup_cause, cost, cost // 3, None, account[1],
                "events", now,
            )
        )  # fmt: skip
        entries.append((r[2], -cost, account[0], result.session, f"{r[4]} 95 s", now))
    cur.executemany(sql(_CDR), cdrs)
    cur.executemany(sql(_ENTRY), entries)
    cur.executemany(sql(_BALANCE), [(balance, key) for key, (balance, _) in accounts.items()])
    cur.executemany(sql(_CLOSE), [(now, r[0]) for r in held.values()])


def raw_sqlite(path: Path) -> Callable[[int], Settle]:
    import sqlite3

    def per_commit(size: int) -> Settle:
        def settle(results: list[CallResult]) -> None:
            db = sqlite3.connect(path, isolation_level=None)
            db.execute("PRAGMA synchronous=FULL")
            db.execute("PRAGMA foreign_keys=ON")
            cur = db.cursor()
            for start in range(0, len(results), size):
                cur.execute("BEGIN IMMEDIATE")
                _settle_raw(cur, results[start : start + size], "", "?", _sqlite_text)
                cur.execute("COMMIT")
            db.close()

        return settle

    return per_commit


def _sqlite_text(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")


def _raw_pg(url: str) -> Callable[[int], Settle]:
    import psycopg
    from sqlalchemy.engine import make_url

    plain = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)

    def per_commit(size: int) -> Settle:
        def settle(results: list[CallResult]) -> None:
            with psycopg.connect(plain) as db:
                cur = db.cursor()
                for start in range(0, len(results), size):
                    _settle_raw(cur, results[start : start + size], " FOR UPDATE", "%s", lambda moment: moment)
                    db.commit()

        return settle

    return per_commit
