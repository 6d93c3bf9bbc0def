"""explain(): the sentence for each mistake of the environment, from real exceptions where they can be made
here (SQLite's own "database or disk is full" through max_page_count, a read-only connection, a lock), and
the CLI's edge printing it as one line (tests/cli/test_environment.py makes the same mistakes for real)."""

from __future__ import annotations

import csv
import errno
import io
import socket
import sqlite3
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import create_engine, text
from sqlalchemy.exc import DBAPIError, IntegrityError

from asteriskbill.cli import main
from asteriskbill.explain import explain
from asteriskbill.services import tariffs
from asteriskbill.settings import Settings


def failure(url: str, *statements: str, **connect_args: object) -> DBAPIError:
    """The SQLAlchemy error the last of ``statements`` raises on ``url``."""
    engine = create_engine(url, connect_args=connect_args)
    try:
        with engine.connect() as conn:
            for statement in statements[:-1]:
                conn.execute(text(statement))
            with pytest.raises(DBAPIError) as raised:
                conn.execute(text(statements[-1]))
        return raised.value
    finally:
        engine.dispose()


@pytest.fixture
def db(tmp_path: Path) -> Path:
    path = tmp_path / "billing.db"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE t (x TEXT)")
    conn.close()
    return path


def test_sqlite_full(db):
    exc = failure(f"sqlite:///{db}", "PRAGMA max_page_count = 2", "INSERT INTO t VALUES (zeroblob(100000))")
    assert getattr(exc.orig, "sqlite_errorname", "") == "SQLITE_FULL"
    line = explain(exc, Settings(db=f"sqlite:///{db}"))
    assert line == f"the disk of database sqlite:///{db} is full — free some space, then run the command again " + (
        "(nothing was saved)"
    )


def test_sqlite_read_only(db):
    exc = failure(f"sqlite:///file:{db}?mode=ro&uri=true", "INSERT INTO t VALUES ('x')")
    assert "is read-only for this user" in explain(exc, Settings(db=f"sqlite:///{db}"))


def test_sqlite_locked(db):
    holder = sqlite3.connect(db, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        exc = failure(f"sqlite:///{db}", "BEGIN IMMEDIATE", timeout=0)
    finally:
        holder.close()
    assert "stayed locked by another process" in explain(exc, Settings(db=f"sqlite:///{db}"))


def test_no_such_table_asks_for_init(db):
    exc = failure(f"sqlite:///{db}", "SELECT * FROM rates")
    assert "lacks part of its schema (no such table: rates) — run 'asteriskbill init'" in explain(exc)


def test_a_password_is_never_shown(db):
    exc = failure(f"sqlite:///{db}", "SELECT * FROM rates")
    line = explain(exc, Settings(db="postgresql+psycopg://billing:hunter2@db1/billing"))
    assert "hunter2" not in line and "billing:***@db1" in line


def test_a_constraint_is_a_bug_not_the_environment(db):
    unique = ("CREATE UNIQUE INDEX u ON t (x)", "INSERT INTO t VALUES ('a')", "INSERT INTO t VALUES ('a')")
    exc = failure(f"sqlite:///{db}", *unique)
    assert isinstance(exc, IntegrityError) and explain(exc) is None


@pytest.mark.parametrize(
    "exc, settings, sentence",
    [
        (OSError(errno.ENOSPC, "No space left on device", "/srv/x.csv"), None, "no space left on the device of /srv/x"),
        (OSError(errno.EACCES, "Permission denied", "/srv/x.csv"), None, "cannot write or read /srv/x.csv (permission"),
        (
            OSError(errno.EADDRINUSE, "error while attempting to bind on address"),
            Settings(fastagi_port=4573),
            "port 127.0.0.1:4573 is in use (another asteriskbill serve?) — set fastagi_port or stop the other server",
        ),
        (
            OSError(errno.EADDRNOTAVAIL, "cannot assign requested address"),
            Settings(fastagi_host="10.255.255.1"),
            "cannot listen on 10.255.255.1:4573: no such address on this machine — set fastagi_host",
        ),
        (
            socket.gaierror(socket.EAI_NONAME, "Name or service not known"),
            Settings(fastagi_host="pbx.invalid"),
            "cannot listen on pbx.invalid:4573: Name or service not known — set fastagi_host",
        ),
        (
            OSError(errno.ENOTDIR, "Not a directory", "/srv/file/sub"),
            Settings(db="sqlite:////srv/file/sub/billing.db"),
            "cannot create the folder /srv/file/sub for database sqlite:////srv/file/sub/billing.db (not a directory)",
        ),
    ],
)
def test_os_errors(exc, settings, sentence):
    assert sentence in explain(exc, settings)


def test_text_and_csv():
    with pytest.raises(UnicodeDecodeError) as raised:
        b"ok\xff".decode()
    assert explain(raised.value) == "a file is not UTF-8 text (byte 0xff at 2) — save it as UTF-8"
    with pytest.raises(csv.Error) as too_long:
        list(csv.reader(io.StringIO('"' + "x" * (csv.field_size_limit() + 1))))
    assert "a CSV field is longer than 131,072 characters" in explain(too_long.value)


def test_a_bug_keeps_its_traceback():
    assert explain(RuntimeError("boom")) is None and explain(KeyError("k")) is None


def test_the_edge_prints_one_line_and_debug_the_traceback(db, monkeypatch):
    def full(*_args: object) -> None:
        raise OSError(errno.ENOSPC, "No space left on device", "/srv/export.csv")

    monkeypatch.setattr(tariffs, "list_tariffs", full)
    monkeypatch.setattr("asteriskbill.store.ready.connect", lambda settings: None)
    result = CliRunner().invoke(main, ["--db", f"sqlite:///{db}", "tariff", "list"])
    assert result.exit_code == 1
    assert result.stderr == (
        "Error: no space left on the device of /srv/export.csv — free some space, then run the command again\n"
    )
    debug = CliRunner().invoke(main, ["--debug", "--db", f"sqlite:///{db}", "tariff", "list"])
    assert debug.exit_code == 1 and isinstance(debug.exception, OSError)
