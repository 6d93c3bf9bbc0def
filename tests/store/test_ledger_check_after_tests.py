"""The suite's own guard: `check` on every database the tests used can fail, and says where."""

from __future__ import annotations

import shutil

from sqlalchemy import update

from asteriskbill.settings import Settings
from asteriskbill.store.engine import make_engine
from asteriskbill.store.models import Account
from tests.helpers import ledger_check
from tests.helpers.cli import Cli


def test_the_scan_names_a_broken_ledger_and_counts_what_it_cannot_check(sqlite_url, sqlite_template, tmp_path):
    cli = Cli(sqlite_url)
    cli("tariff", "create", "retail", "--currency", "USD")
    cli("accounts", "create", "extension", "a", "--tariff", "retail")
    cli("accounts", "recharge", "a", "10")
    root = tmp_path / "run"
    (root / "deep").mkdir(parents=True)
    broken = root / "deep" / "broken.db"
    shutil.copy(sqlite_url.removeprefix("sqlite:///"), broken)
    shutil.copy(sqlite_template, root / "empty-at-head.db")
    (root / "garbage.db").write_bytes(b"not a database")
    engine = make_engine(Settings(db=f"sqlite:///{broken}"))
    with engine.begin() as conn:
        conn.execute(update(Account).values(balance=0))
    engine.dispose()

    checked, skipped, failures = ledger_check.scan(root)

    assert (checked, skipped) == (2, 1)
    assert failures == [
        f"{broken}: account a: balance 0.00 USD but ledger entries sum to 10.00 USD (difference -10.00)"
    ]
    ledger_check.forget(root)
    assert ledger_check.scan(root) == (0, 0, [])
