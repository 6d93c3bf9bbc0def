"""Shared fixtures: a migrated database on SQLite always, and on PostgreSQL when ASTERISKBILL_TEST_PG is set."""

from __future__ import annotations

import os
import shutil
import uuid

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from asteriskbill.settings import Settings
from asteriskbill.store import migrate
from asteriskbill.store.base import Base
from asteriskbill.store.engine import make_engine

# the helpers' asserts explain their failures like the tests' own: registered before any is imported
pytest.register_assert_rewrite("tests.helpers")
from tests.helpers import ledger_check  # noqa: E402
from tests.helpers.cli import Cli  # noqa: E402

PG_URL = os.environ.get("ASTERISKBILL_TEST_PG")
BACKENDS = ["sqlite"] + (["postgres"] if PG_URL else [])


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory):
    """A migrated SQLite file, copied for each test (migrations run once per worker)."""
    path = tmp_path_factory.mktemp("template") / "template.db"
    engine = make_engine(Settings(db=f"sqlite:///{path}"))
    migrate.upgrade(engine)
    engine.dispose()
    return path


@pytest.fixture(scope="session")
def pg_database():
    """A scratch PostgreSQL database for this worker, migrated once, dropped at the end."""
    base = make_url(PG_URL)
    name = f"{base.database}_{uuid.uuid4().hex[:8]}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = base.set(database=name).render_as_string(hide_password=False)
    engine = make_engine(Settings(db=url))
    migrate.upgrade(engine)
    engine.dispose()
    yield url
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
    admin.dispose()


def pytest_configure(config):
    config.addinivalue_line("markers", f"{ledger_check.MARKER}: the test corrupts a ledger on purpose")


def _checked_after(request, url: str) -> None:
    """`asteriskbill check` passes on the test's database when it ends, unless the test broke it on purpose."""
    if request.node.get_closest_marker(ledger_check.MARKER):
        return
    found = ledger_check.problems(url)
    assert not found, f"asteriskbill check fails after {request.node.nodeid}: {found}"


@pytest.fixture(autouse=True)
def _forget_broken_ledgers(request, tmp_path):
    yield
    if request.node.get_closest_marker(ledger_check.MARKER):
        ledger_check.forget(tmp_path)


def pytest_sessionfinish(session, exitstatus):
    """On the controller (not an xdist worker): `check` every SQLite file the run left under its basetemp."""
    if hasattr(session.config, "workerinput") or session.config.option.collectonly:
        return
    root = session.config._tmp_path_factory.getbasetemp()
    checked, skipped, failures = ledger_check.scan(root)
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    if reporter is not None:
        reporter.write_line(
            f"asteriskbill check: {checked} databases pass, {len(failures)} fail, {skipped} not at head"
        )
        for line in failures:
            reporter.write_line(f"  {line}")
    if failures:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


@pytest.fixture(params=BACKENDS)
def db_url(request, tmp_path):
    """A database URL at the head revision with no data, for each backend; `check` passes on it at the end."""
    if request.param == "sqlite":
        path = tmp_path / "billing.db"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        yield f"sqlite:///{path}"
        _checked_after(request, f"sqlite:///{path}")
        return
    url = request.getfixturevalue("pg_database")
    yield url
    try:
        _checked_after(request, url)
    finally:
        engine = create_engine(url)
        tables = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
        with engine.begin() as conn:
            conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
        engine.dispose()


@pytest.fixture
def sqlite_url(request, tmp_path, sqlite_template):
    """A migrated SQLite database only, for tests about SQLite itself or subprocess work."""
    path = tmp_path / "billing.db"
    shutil.copy(sqlite_template, path)
    yield f"sqlite:///{path}"
    _checked_after(request, f"sqlite:///{path}")


@pytest.fixture
def settings(db_url) -> Settings:
    return Settings(db=db_url)


@pytest.fixture
def engine(settings):
    engine = make_engine(settings)
    yield engine
    engine.dispose()


@pytest.fixture
def cli(db_url) -> Cli:
    return Cli(db_url)


@pytest.fixture(autouse=True)
def secret_file(tmp_path, monkeypatch):
    """The installation secret (PIN hashes) lives in the test's own directory, never in /var/lib."""
    path = tmp_path / "secret"
    monkeypatch.setenv("ASTERISKBILL_SECRET_FILE", str(path))
    return path


@pytest.fixture
def snapshot(engine):
    """``snapshot()`` is every row of every table: compare before and after a refused command."""

    def take() -> dict[str, list[tuple]]:
        with engine.connect() as conn:
            return {
                table.name: sorted(map(tuple, conn.execute(table.select())), key=repr)
                for table in Base.metadata.sorted_tables
            }

    return take
