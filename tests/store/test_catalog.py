"""The catalog: serve's in-memory tariffs, rates, routes and plans answer as the database does, and see at the next
call what another connection or program changed; an import is priced at once, its index follows."""

from __future__ import annotations

import csv
import random
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import text

from asteriskbill.services import rates, tariffs
from asteriskbill.settings import Settings
from asteriskbill.store.catalog import SQL_CATALOG, MemoryCatalog
from asteriskbill.store.engine import make_engine
from tests.helpers.cli import Cli
from tests.helpers.waiting import wait_for

SEED = 12


def version(engine) -> int:
    """0 when the row is missing: the PostgreSQL fixture truncates every table after a test."""
    with engine.connect() as conn:
        return conn.execute(text("SELECT version FROM catalog_version WHERE id = 1")).scalar() or 0


def tariff_id(engine, name: str = "retail") -> int:
    with engine.connect() as conn:
        return conn.execute(text("SELECT id FROM tariffs WHERE name = :name"), {"name": name}).scalar_one()


def account_id(engine, name: str) -> int:
    with engine.connect() as conn:
        return conn.execute(text("SELECT id FROM accounts WHERE name = :name"), {"name": name}).scalar_one()


@pytest.fixture
def catalog(engine):
    catalog = MemoryCatalog(engine)
    yield catalog
    catalog.close()


def write_rates(path: Path, rows: list[dict]) -> Path:
    with path.open("w", newline="") as stream:
        writer = csv.DictWriter(stream, ["prefix", "destination", "price", "weekdays", "time_from", "time_to"])
        writer.writeheader()
        writer.writerows(rows)
    return path


def price_list(path: Path, price: str) -> Path:
    return write_rates(path, [{"prefix": "44", "destination": "UK", "price": price}])


# -- the version ---------------------------------------------------------------------------------------


CHANGES = [  # (statement, whether it changes what authorizations read)
    (
        "INSERT INTO tariffs (name, currency, rounding, timezone, created_at, rates_revision, rates_staged)"
        " VALUES ('t2', 'USD', 1, 'UTC', '2026-11-30 10:00:00', 0, 0)",
        True,
    ),
    ("UPDATE tariffs SET rounding = 10 WHERE name = 't2'", True),
    ("UPDATE tariffs SET timezone = 'Europe/Sofia' WHERE name = 't2'", True),
    ("UPDATE tariffs SET routing_group_id = NULL WHERE name = 't2'", True),  # 0020: the group of its calls
    ("UPDATE tariffs SET rates_staged = 5 WHERE name = 't2'", False),  # an import begins: nothing in effect yet
    (
        "INSERT INTO rates (tariff_id, prefix, destination, intervals, connect_fee, grace, weekdays, weight, revision)"
        " SELECT id, '44', 'UK', '0:100000:60:60', 0, 0, 127, 0, 5 FROM tariffs WHERE name = 't2'",
        False,
    ),
    ("INSERT INTO rate_revisions (tariff_id, revision) SELECT id, 5 FROM tariffs WHERE name = 't2'", True),
    ("UPDATE tariffs SET rates_revision = 5 WHERE name = 't2'", True),
    ("INSERT INTO holidays (tariff_id, day, weekday) SELECT id, '2026-12-25', 6 FROM tariffs WHERE name = 't2'", True),
    ("UPDATE holidays SET weekday = 5", True),
    ("DELETE FROM holidays", True),
    ("INSERT INTO routes (prefix, dial, name) VALUES ('44', 'PJSIP/${NUMBER}@uk', '')", True),
    ("UPDATE routes SET name = 'uk'", True),
    ("DELETE FROM routes", True),
    ("INSERT INTO number_plans (account_id, outside_line) SELECT id, '9' FROM accounts WHERE name = 'acme'", True),
    ("UPDATE number_plans SET outside_line = '0'", True),
    ("DELETE FROM number_plans", True),
    ("DELETE FROM rate_revisions WHERE revision = 5", True),
    ("DELETE FROM rates", False),
    ("DELETE FROM tariffs WHERE name = 't2'", True),
]


def test_every_change_to_what_authorizations_read_raises_the_version_in_its_own_transaction(engine, cli):
    """A trigger per table (a SQLite migration that copies one of these tables would drop them: this says so)."""
    cli("accounts", "create", "company", "acme", "--currency", "USD")
    for statement, changes in CHANGES:
        before = version(engine)
        with engine.begin() as conn:
            conn.execute(text(statement))
        assert (version(engine) > before) == changes, statement  # PostgreSQL: once per table a cascade reaches


def test_a_truncated_version_starts_again(engine):
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM catalog_version"))
        conn.execute(text("INSERT INTO routes (prefix, dial, name) VALUES ('1', 'PJSIP/${NUMBER}@us', '')"))
    assert version(engine) == 1


# -- another program's change is seen by the next call ---------------------------------------------------


def test_the_next_call_sees_what_another_connection_changed(engine, cli, settings, catalog):
    cli("tariff", "create", "retail", "--currency", "USD")
    cli("accounts", "create", "company", "acme", "--tariff", "retail")
    cli("routes", "add", "44", "PJSIP/${NUMBER}@uk")
    tid, acme = tariff_id(engine), account_id(engine, "acme")

    def ask(which):
        with engine.begin() as conn:
            return (
                which.route(conn, "442071234"),
                which.tariff(conn, tid),
                which.number_plan(conn, settings, acme),
                which.routing_group(conn, tid),
            )

    before = ask(catalog)
    assert before == ask(SQL_CATALOG)
    assert before[0].dial == "PJSIP/${NUMBER}@uk"
    cli("routes", "add", "442", "PJSIP/${NUMBER}@london")
    cli("tariff", "holiday", "add", "retail", "2026-12-25")
    cli("numbers", "plan", "set", "--company", "acme", "--outside-line", "9")
    cli("routing", "add", "cheapest", "--policy", "lcr")
    cli("routing", "bind", "cheapest", "--tariff", "retail")
    after = ask(catalog)
    assert after == ask(SQL_CATALOG)
    assert after[0].dial == "PJSIP/${NUMBER}@london"
    assert list(after[1].holidays) != list(before[1].holidays)
    assert (before[2].outside_line, after[2].outside_line) == ("", "9")
    assert before[3] is None and after[3] is not None


def test_the_next_call_sees_what_another_process_changed(engine, db_url, catalog):
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO routes (prefix, dial, name) VALUES ('', 'PJSIP/${NUMBER}@any', '')"))
    with engine.begin() as conn:
        assert catalog.route(conn, "15551234").dial == "PJSIP/${NUMBER}@any"
    command = Path(sys.executable).with_name("asteriskbill")
    subprocess.run(
        [command, "--db", db_url, "--operator", "tester", "routes", "add", "1", "PJSIP/${NUMBER}@us"], check=True
    )
    with engine.begin() as conn:
        assert catalog.route(conn, "15551234").dial == "PJSIP/${NUMBER}@us"
        assert catalog.route(conn, "445551234").dial == "PJSIP/${NUMBER}@any"


# -- an import ---------------------------------------------------------------------------------------------


def uk_price(catalog, engine, tid: int) -> int:
    with engine.begin() as conn:
        (rate,) = catalog.rates(conn, tid, "442071234")
    return rate.groups[0].price


def test_an_import_is_priced_at_once_and_its_index_follows(engine, tmp_path, catalog):
    tariffs.create_tariff(engine, "tester", "retail", "USD", 1, "UTC")
    rates.import_rates(engine, "retail", price_list(tmp_path / "old.csv", "0.10"))
    tid = tariff_id(engine)
    assert uk_price(catalog, engine, tid) == 100_000  # from the database, and the index is on its way
    assert catalog.wait_indexed(30)
    old = catalog.indexed(tid)
    assert old is not None
    assert uk_price(catalog, engine, tid) == 100_000  # from the index

    rates.import_rates(engine, "retail", price_list(tmp_path / "new.csv", "0.20"), replace=True)
    assert uk_price(catalog, engine, tid) == 200_000  # the very next call: from the database
    wait_for(lambda: (catalog.indexed(tid) or 0) > old, "the new revision's index")
    assert uk_price(catalog, engine, tid) == 200_000


def test_warm_indexes_every_tariff(engine, tmp_path, catalog):
    for name in ("retail", "wholesale"):
        tariffs.create_tariff(engine, "tester", name, "USD", 1, "UTC")
        rates.import_rates(engine, name, price_list(tmp_path / f"{name}.csv", "0.10"))
    catalog.warm()
    assert catalog.wait_indexed(30)
    assert None not in (catalog.indexed(tariff_id(engine, "retail")), catalog.indexed(tariff_id(engine, "wholesale")))


# -- the index answers as the database --------------------------------------------------------------------


def realistic_rates(rng: random.Random) -> list[dict]:
    """Countries, their regions and operators: nested prefixes, a peak-hour rate on some, a weekend rate on
    others, and a few prefixes priced only at some hours (the shorter prefix prices the rest of the day)."""
    rows = []
    prefixes = sorted(
        {str(rng.randint(1, 99)) + "".join(rng.choices("0123456789", k=rng.randint(0, 5))) for _ in range(1500)}
    )
    for prefix in prefixes:
        price = f"0.{rng.randrange(10**6):06d}"
        shape = rng.random()
        if shape < 0.05:  # only at peak hours
            rows.append(
                {"prefix": prefix, "destination": "peak", "price": price, "time_from": "08:00", "time_to": "18:00"}
            )
            continue
        rows.append({"prefix": prefix, "destination": f"d{prefix[:2]}", "price": price})
        if shape < 0.15:
            rows.append(
                {"prefix": prefix, "destination": "peak", "price": price, "time_from": "08:00", "time_to": "18:00"}
            )
        elif shape < 0.2:
            rows.append({"prefix": prefix, "destination": "weekend", "price": price, "weekdays": "sat,sun"})
    return rows


def test_the_index_gives_what_the_database_gives(engine, tmp_path, catalog):
    rng = random.Random(SEED)
    tariffs.create_tariff(engine, "tester", "retail", "USD", 1, "UTC")
    rows = realistic_rates(rng)
    rates.import_rates(engine, "retail", write_rates(tmp_path / "rates.csv", rows))
    catalog.warm()
    assert catalog.wait_indexed(30)
    tid = tariff_id(engine)
    assert catalog.indexed(tid) is not None
    numbers = [
        rng.choice(rows)["prefix"] + "".join(rng.choices("0123456789", k=rng.randint(0, 8))) for _ in range(1500)
    ]
    numbers += ["".join(rng.choices("0123456789", k=rng.randint(1, 13))) for _ in range(500)]
    with engine.begin() as conn:
        for number in numbers:
            assert list(catalog.rates(conn, tid, number)) == SQL_CATALOG.rates(conn, tid, number), number


# -- what it reads ------------------------------------------------------------------------------------------


def test_a_transaction_reads_the_version_once_and_nothing_more_once_cached(sqlite_url, tmp_path):
    """SQLite's trace of each transaction's statements: the first loads what it asks for, the next reads one row."""
    engine = make_engine(Settings(db=sqlite_url))
    cli = Cli(sqlite_url)
    cli("tariff", "create", "retail", "--currency", "USD")
    cli("accounts", "create", "company", "acme", "--tariff", "retail")
    cli("routes", "add", "44", "PJSIP/${NUMBER}@uk")
    rates.import_rates(engine, "retail", price_list(tmp_path / "uk.csv", "0.10"))
    tid, acme, settings = tariff_id(engine), account_id(engine, "acme"), Settings(db=sqlite_url)
    catalog = MemoryCatalog(engine)
    catalog.warm()
    assert catalog.wait_indexed(30)

    def traced() -> list[str]:
        statements: list[str] = []
        with engine.connect() as conn:
            conn.connection.dbapi_connection.set_trace_callback(statements.append)
            for _ in range(3):  # the calls of a group in serve's writer
                catalog.number_plan(conn, settings, acme)
                catalog.route(conn, "442071234")
                catalog.tariff(conn, tid)
                catalog.rates(conn, tid, "442071234")
            conn.commit()
            conn.connection.dbapi_connection.set_trace_callback(None)
        return statements

    first, second = traced(), traced()
    assert first[0] == "BEGIN IMMEDIATE"  # the raw reads begin the engine's transaction, as Core would
    assert sum("catalog_version" in s for s in first) == 1 and len(first) > 3
    assert [s.split()[0] for s in second] == ["BEGIN", "SELECT", "COMMIT"]
    assert "FROM catalog_version" in second[1]
    catalog.close()
    engine.dispose()
