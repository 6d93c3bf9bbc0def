"""A rates import stages its rows under a new revision in short transactions and puts them in effect at once."""

import sqlite3
from datetime import UTC, datetime

import pytest
from alembic import command
from sqlalchemy import func, select

from asteriskbill.errors import UserError
from asteriskbill.rating.engine import Pricing
from asteriskbill.services import rates, tariffs
from asteriskbill.settings import Settings
from asteriskbill.store import migrate
from asteriskbill.store import tariffs as repo
from asteriskbill.store.engine import make_engine
from asteriskbill.store.models import RateRow

NOON = datetime(2026, 1, 5, 12, tzinfo=UTC)
ROWS = 60_000  # about 1.5 MiB: the progress callback runs in the middle of the file


def price_list(path, price: str, rows: int = ROWS, last: str = "") -> str:
    lines = ["prefix,destination,price"] + [f"{9_000_000 + n},d{n},{price}" for n in range(rows)] + ["44,UK," + price]
    path.write_text("\n".join(lines + ([last] if last else [])) + "\n")
    return str(path)


def uk_price(engine) -> int:
    with engine.begin() as conn:
        tid, tariff = tariffs.get_tariff(conn, "retail")
        found = repo.rates_for_number(conn, tid, "4420")
    return Pricing(tariff, found, "4420", NOON, 60).cost(60).cost


def all_rows(engine) -> int:
    with engine.begin() as conn:
        return conn.execute(select(func.count()).select_from(RateRow)).scalar_one()


@pytest.fixture
def engine(sqlite_url):
    engine = make_engine(Settings(db=sqlite_url))
    tariffs.create_tariff(engine, "tester", "retail", "USD", 1, "UTC")
    yield engine
    engine.dispose()


def test_calls_are_authorized_during_a_long_import_and_see_the_old_prices(engine, sqlite_url, tmp_path):
    rates.import_rates(engine, "retail", price_list(tmp_path / "old.csv", "0.60", rows=10))
    seen = []

    def in_the_middle(_bytes):
        # a writer that will not wait at all gets SQLite's write lock: the import is between batches
        other = sqlite3.connect(sqlite_url.removeprefix("sqlite:///"), timeout=0, isolation_level=None)
        other.execute("BEGIN IMMEDIATE")
        other.execute("INSERT INTO routes (prefix, dial, name) VALUES (?, 'X/${NUMBER}', '')", (str(len(seen)),))
        other.execute("COMMIT")
        other.close()
        seen.append(uk_price(engine))

    rates.import_rates(engine, "retail", price_list(tmp_path / "new.csv", "0.30"), replace=True, progress=in_the_middle)
    assert len(seen) >= 2 and set(seen) == {600_000}  # the old price until the end
    assert uk_price(engine) == 300_000
    assert all_rows(engine) == ROWS + 1  # the replaced rates are gone, not just hidden


def test_a_failed_import_leaves_no_row_behind(engine, tmp_path):
    rates.import_rates(engine, "retail", price_list(tmp_path / "old.csv", "0.60", rows=10))
    with pytest.raises(UserError, match=rf"line {ROWS + 3}: price"):
        rates.import_rates(engine, "retail", price_list(tmp_path / "bad.csv", "0.30", last="45,X,abc"), replace=True)
    assert uk_price(engine) == 600_000 and all_rows(engine) == 11


def test_duplicates_against_the_rates_in_effect_only(engine, tmp_path):
    rates.import_rates(engine, "retail", price_list(tmp_path / "old.csv", "0.60", rows=10))
    with pytest.raises(UserError, match="is a rate of tariff 'retail' already"):
        rates.import_rates(engine, "retail", price_list(tmp_path / "again.csv", "0.30", rows=10))
    assert all_rows(engine) == 11
    rates.import_rates(engine, "retail", _one(tmp_path / "more.csv", "45,DE,0.30"))
    assert all_rows(engine) == 12


def _one(path, line: str) -> str:
    path.write_text("prefix,destination,price\n" + line + "\n")
    return str(path)


def test_the_upgrade_to_listed_revisions_keeps_what_was_in_effect(tmp_path):
    """A database at 0007 whose range [rates_base, rates_revision] = [2, 3] showed revisions 2 and 3 (1 was
    retired by a --replace, 4 staged by an import that died): after the upgrade exactly those two are in effect,
    and the downgrade keeps them, deleting the rows no range may show."""
    engine = make_engine(Settings(db=f"sqlite:///{tmp_path / 'old.db'}"))
    migrate.upgrade(engine, "0007")
    with engine.begin() as conn:
        conn.exec_driver_sql(
            "INSERT INTO tariffs (id, name, currency, rounding, timezone, created_at, rates_base, rates_revision,"
            " rates_staged) VALUES (1, 'retail', 'USD', 1, 'UTC', '2026-11-27 10:00:00.000000', 2, 3, 4)"
        )
        for revision in (1, 2, 3, 4):
            conn.exec_driver_sql(
                "INSERT INTO rates (tariff_id, prefix, destination, intervals, connect_fee, grace, weekdays, weight,"
                f" revision) VALUES (1, '44{revision}', '', '0:600000:60', 0, 0, 127, 0, {revision})"
            )
    migrate.upgrade(engine)
    with engine.connect() as conn:
        assert sorted(conn.execute(repo.in_effect(select(RateRow.prefix))).scalars()) == ["442", "443"]
    with engine.connect() as connection:
        command.downgrade(migrate.alembic_config(connection=connection), "0007")
        connection.commit()
    with engine.connect() as conn:
        tariff = conn.exec_driver_sql("SELECT rates_base, rates_revision, rates_staged FROM tariffs").one()
        prefixes = sorted(conn.exec_driver_sql("SELECT prefix FROM rates").scalars())
    engine.dispose()
    assert tuple(tariff) == (2, 3, 4) and prefixes == ["442", "443", "444"]  # 4: staged, above the range
