"""SQLite durability: an authorize-like transaction per second with synchronous=FULL vs NORMAL (WAL).

Each transaction reads a balance row, inserts a hold and commits, through store.engine.make_engine
(WAL, BEGIN IMMEDIATE, the chosen synchronous level), with raw sqlite3 in the same run as the bound;
each figure is the median of interleaved rounds, as fsync times on a shared disk jump around.
FULL syncs the WAL on every COMMIT, so a committed debit survives a power cut; NORMAL syncs only at
checkpoints, so the last commits before a power cut can vanish while Asterisk already connected the
call they paid for. The figures say what that guarantee costs.
"""

from __future__ import annotations

import sqlite3
import statistics
import tempfile
from pathlib import Path

from sqlalchemy import BigInteger, Column, Integer, MetaData, Table, insert, select

from asteriskbill.settings import Settings
from asteriskbill.store.engine import make_engine
from bench.common import Row, timer

ROUNDS = 12  # the methods take turns, so a burst of disk noise hits them all alike
ROUND_SECONDS = 0.3
BATCH = 25  # transactions between clock reads
meta = MetaData()
balances = Table("balances", meta, Column("id", Integer, primary_key=True), Column("amount", BigInteger))
holds = Table(
    "holds", meta, Column("id", Integer, primary_key=True), Column("balance_id", Integer), Column("amount", BigInteger)
)


def run() -> list[Row]:
    with tempfile.TemporaryDirectory(prefix="bench_sqlite_") as folder:
        methods = {
            (kind, level): make(Path(folder) / f"{kind}_{level}.db", level)
            for level in ("FULL", "NORMAL")
            for kind, make in (("ours", _asteriskbill), ("raw", _raw))
        }
        rates: dict[tuple[str, str], list[float]] = {key: [] for key in methods}
        for _ in range(ROUNDS):
            for key, transaction in methods.items():
                rates[key].append(_per_second(transaction))
    tx = {key: statistics.median(values) for key, values in rates.items()}
    sync_ms = 1000 * (1 / tx["ours", "FULL"] - 1 / tx["ours", "NORMAL"])
    return [
        Row(
            "sqlite authorize-like tx",
            f"make_engine, WAL, synchronous={level}",
            f"{tx['ours', level]:,.0f} tx/s",
            f"bound: raw sqlite3 {tx['raw', level]:,.0f} tx/s"
            + (f"; FULL adds {sync_ms:.2f} ms per commit" if level == "FULL" else ""),
        )
        for level in ("FULL", "NORMAL")
    ]


def _per_second(transaction) -> float:
    count = 0
    with timer() as elapsed:
        while elapsed() < ROUND_SECONDS:
            for _ in range(BATCH):
                transaction()
            count += BATCH
    return count / elapsed()


def _asteriskbill(path: Path, level: str):
    engine = make_engine(Settings(db=f"sqlite:///{path}", sqlite_synchronous=level))
    meta.create_all(engine)
    with engine.begin() as conn:
        conn.execute(insert(balances).values(id=1, amount=10**9))

    def transaction() -> None:
        with engine.begin() as conn:
            amount = conn.execute(select(balances.c.amount).where(balances.c.id == 1).with_for_update()).scalar_one()
            conn.execute(insert(holds).values(balance_id=1, amount=min(amount, 1000)))

    return transaction


def _raw(path: Path, level: str):
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute(f"PRAGMA synchronous={level}")
    db.execute("CREATE TABLE balances (id INTEGER PRIMARY KEY, amount BIGINT)")
    db.execute("CREATE TABLE holds (id INTEGER PRIMARY KEY, balance_id INTEGER, amount BIGINT)")
    db.execute("INSERT INTO balances VALUES (1, 1000000000)")

    def transaction() -> None:
        db.execute("BEGIN IMMEDIATE")
        (amount,) = db.execute("SELECT amount FROM balances WHERE id = 1").fetchone()
        db.execute("INSERT INTO holds (balance_id, amount) VALUES (1, ?)", (min(amount, 1000),))
        db.execute("COMMIT")

    return transaction
