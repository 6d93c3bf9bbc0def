"""Card generation rate and recharge transactions per second, through the real services, on SQLite files.

Bounds measured in the same run: the same rows written by bare sqlite3 executemany (generation), and a
bare sqlite3 UPDATE + INSERT transaction at the same synchronous level (recharges).
"""

from __future__ import annotations

import sqlite3
import tempfile
from pathlib import Path

from asteriskbill.services import accounts, card_batches, tariffs
from asteriskbill.settings import Settings
from asteriskbill.store import migrate
from asteriskbill.store.engine import make_engine
from bench.common import Row, per_second, timer

CARDS = 100_000
RECHARGES = 1_000
SECRET = b"b" * 32


def _engine(folder: Path, name: str):
    engine = make_engine(Settings(db=f"sqlite:///{folder / name}"))
    migrate.upgrade(engine)
    tariffs.create_tariff(engine, "bench", "retail", "USD", 1, "UTC")
    return engine


def _generation(folder: Path) -> float:
    engine = _engine(folder, "cards.db")
    spec = card_batches.BatchSpec(count=CARDS, value=5_000_000, tariff="retail")
    with timer() as elapsed:
        card_batches.generate(engine, SECRET, "bench", spec)
    engine.dispose()
    return elapsed()


def _generation_bound(folder: Path) -> float:
    """The same three rows per card, written by sqlite3 executemany in one transaction."""
    engine = _engine(folder, "bound.db")
    engine.dispose()
    db = sqlite3.connect(folder / "bound.db", isolation_level=None)
    db.execute("PRAGMA synchronous=FULL")
    with timer() as elapsed:
        db.execute("BEGIN IMMEDIATE")
        db.execute(
            "INSERT INTO card_batches (id, name, created_at, count, face_value, currency, tariff_id, "
            "activation, operator) VALUES (1, 'b', '2026-01-01', 1, 1, 'USD', 1, 'now', 'bench')"
        )
        ids = range(1, CARDS + 1)
        db.executemany(
            "INSERT INTO accounts (id, kind, name, tariff_id, currency, balance, credit_limit, status, "
            "max_calls, created_at) VALUES (?, 'card', ?, 1, 'USD', 5000000, 0, 'active', 1, "
            "'2026-01-01')",
            ((i, f"{100000000000 + i}") for i in ids),
        )
        db.executemany(
            "INSERT INTO cards (account_id, number, pin_hash, batch_id, status, activation, pin_failures) "
            "VALUES (?, ?, ?, 1, 'active', 'now', 0)",
            ((i, f"{100000000000 + i}", "f" * 64) for i in ids),
        )
        db.executemany(
            "INSERT INTO ledger_entries (account_id, kind, amount, balance_after, reference, operator, "
            "created_at) VALUES (?, 'face_value', 5000000, 5000000, 'b', 'bench', '2026-01-01')",
            ((i,) for i in ids),
        )
        db.execute("COMMIT")
    db.close()
    return elapsed()


def _recharges(folder: Path) -> float:
    engine = _engine(folder, "recharge.db")
    accounts.create(engine, "bench", accounts.NewAccount("extension", "x", tariff="retail"))
    with timer() as elapsed:
        for n in range(RECHARGES):  # each with its own order number, as payments come
            accounts.post(engine, "bench", "x", "recharge", 1_000_000, reference=f"order-{n}")
    engine.dispose()
    return elapsed()


def _recharge_bound(folder: Path) -> float:
    """One UPDATE and one INSERT per transaction by bare sqlite3, WAL and synchronous=FULL as the engine."""
    db = sqlite3.connect(folder / "recharge.db", isolation_level=None)
    db.execute("PRAGMA synchronous=FULL")
    with timer() as elapsed:
        for _ in range(RECHARGES):
            db.execute("BEGIN IMMEDIATE")
            db.execute("UPDATE accounts SET balance = balance + 1000000 WHERE id = 1")
            db.execute(
                "INSERT INTO ledger_entries (account_id, kind, amount, balance_after, operator, created_at) "
                "VALUES (1, 'recharge', 1000000, 0, 'bench', '2026-01-01')"
            )
            db.execute("COMMIT")
    db.close()
    return elapsed()


def run() -> list[Row]:
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        generation, bound = _generation(folder), _generation_bound(folder)
        recharges, recharge_bound = _recharges(folder), _recharge_bound(folder)
    return [
        Row(
            "cards generate",
            f"{CARDS:,} cards into a fresh SQLite file (service)",
            per_second(CARDS, generation, "cards"),
            f"{generation:.1f} s; bound: bare sqlite3 executemany of the same rows {per_second(CARDS, bound, 'cards')}",
        ),
        Row(
            "recharge",
            "accounts.post: lock, ledger entry, audit entry, one transaction (SQLite FULL)",
            per_second(RECHARGES, recharges, "recharges"),
            f"bound: bare sqlite3 UPDATE+INSERT transaction {per_second(RECHARGES, recharge_bound, 'tx')}",
        ),
    ]
