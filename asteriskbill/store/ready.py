"""Open a database only if `asteriskbill init` made it and brought it to this code's schema.

Connecting to a SQLite path that is not there creates an empty file, and the command then fails on its
first query ("no such table"); a database left at an older schema fails somewhere in the middle. Both are
refused here, once per process, before any work: a look at the file, then one small query. Only
``create`` (for `asteriskbill init`) makes the folder and lets the file be created.
"""

from __future__ import annotations

import os
import pwd
import sqlite3
from pathlib import Path

from sqlalchemy import Engine, inspect, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import DBAPIError

from asteriskbill.errors import UserError
from asteriskbill.explain import explain, shown_url
from asteriskbill.files import create_private
from asteriskbill.settings import Settings
from asteriskbill.store.engine import make_engine, reading, sqlite_file

HEAD = "0022"  # the newest migration, known without Alembic (~0.1 s to import); a test checks it is the head
VERSION_TABLE = "alembic_version"
SQLITE_MAGIC = b"SQLite format 3\x00"
WAL_FORMAT = 2  # header byte 18, the file format version: 2 in WAL mode, 1 with a rollback journal
INIT = "run 'asteriskbill init'"


class NotReady(UserError):
    """The database is missing, has no schema or another one than this code's, or cannot be written."""


def connect(settings: Settings) -> Engine:
    """The engine of a database at HEAD: for every command but `init`."""
    url = make_url(settings.db)
    path = sqlite_file(url)
    if path is not None:
        _check_file(path, url)
    return _checked(make_engine(settings), settings, for_init=False)


def create(settings: Settings) -> Engine:
    """The engine `asteriskbill init` migrates: a SQLite file's folder is made first. A database from a
    newer asteriskbill is refused, an older one is for init to upgrade."""
    path = sqlite_file(make_url(settings.db))
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        if not path.exists():
            # readable by its owner only; SQLite gives its -wal and -shm files the database file's mode
            create_private(path)
            return make_engine(settings)
    return _checked(make_engine(settings), settings, for_init=True)


def _check_file(path: Path, url: URL) -> None:
    try:
        problem = _file_problem(path)
    except OSError as exc:  # e.g. a file this user may not read
        raise NotReady(explain(exc) or str(exc)) from exc
    if problem:
        raise NotReady(f"database {shown_url(url)} {problem}")


def _file_problem(path: Path) -> str | None:
    """What is wrong with a SQLite file, told without writing to it: connecting would (a header into an empty
    file, WAL mode into another program's database), and SQLite's errors say less."""
    if not path.exists():
        return f"does not exist — {INIT} to create it, or set db (--db) to your database"
    with path.open("rb") as handle:
        header = handle.read(100)
    if not header:
        return f"has no tables — {INIT} first"
    if not header.startswith(SQLITE_MAGIC):
        return "is not a SQLite database file — check db (--db)"
    if header[18] != WAL_FORMAT:  # not made by init (which sets WAL): a restored backup, or someone else's
        tables = _tables_read_only(path)
        if tables is not None and VERSION_TABLE not in tables:
            return _unversioned(tables)
    locked = _not_writable(path)
    if locked is not None:
        return (
            f"is read-only for {_user(os.geteuid())}: {locked} (owner {_user(locked.stat().st_uid)}) "
            "is not writable — run as its owner, or make it writable"
        )
    return None


def _tables_read_only(path: Path) -> list[str] | None:
    """The tables of a rollback-journal SQLite file, read with a connection that writes nothing (on a WAL
    file it would leave -wal and -shm files behind); None if it cannot tell."""
    try:
        conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
        try:
            return [name for (name,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        finally:
            conn.close()
    except sqlite3.Error:
        return None  # e.g. a journal to roll back: the engine will say


def _unversioned(tables: list[str]) -> str:
    if tables:
        return f"has tables but no {VERSION_TABLE}: it is not an asteriskbill database — check db (--db)"
    return f"has no tables — {INIT} first"


def _not_writable(path: Path) -> Path | None:
    """The file, or its folder, that keeps SQLite from writing: in WAL mode it writes the file and its
    -wal and -shm files, which it creates beside it unless they are there already."""
    if not os.access(path, os.W_OK):
        return path
    siblings = [path.with_name(path.name + suffix) for suffix in ("-wal", "-shm")]
    if os.access(path.parent, os.W_OK | os.X_OK) or all(os.access(p, os.W_OK) for p in siblings):
        return None
    return path.parent


def _user(uid: int) -> str:
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return f"uid {uid}"


def _checked(engine: Engine, settings: Settings, *, for_init: bool) -> Engine:
    """``engine`` once its schema revision is HEAD (or, ``for_init``, one init can upgrade); else disposed.

    A database that cannot be reached or read is a NotReady too, in the words of explain(): so the agi-bin
    scripts, which know no click, get the same one line as the CLI."""
    try:
        problem = _problem(engine, for_init)
    except DBAPIError as exc:
        engine.dispose()
        line = explain(exc, settings)
        if line is None:
            raise
        raise NotReady(line) from exc
    except BaseException:
        engine.dispose()
        raise
    if problem:
        engine.dispose()
        raise NotReady(f"database {shown_url(settings.db)} {problem}")
    return engine


def _problem(engine: Engine, for_init: bool) -> str | None:
    with reading(engine) as conn:  # on SQLite no write lock: the check never waits for a call being settled
        if not inspect(conn).has_table(VERSION_TABLE):
            return None if for_init else _unversioned(inspect(conn).get_table_names())
        revision = conn.execute(text(f"SELECT version_num FROM {VERSION_TABLE}")).scalar()
    if revision == HEAD or (for_init and revision is None):
        return None
    if revision is None:
        return f"has no schema revision — {INIT} first"
    if _known(revision):
        return None if for_init else f"is at revision {revision}, this asteriskbill needs {HEAD} — {INIT} to upgrade"
    return f"is at revision {revision}, newer than this asteriskbill knows ({HEAD}) — upgrade asteriskbill"


def _known(revision: str) -> bool:
    """Whether ``revision`` is one of this code's migrations (asked of Alembic only when it is not HEAD)."""
    from alembic.script import ScriptDirectory

    from asteriskbill.store import migrate

    script = ScriptDirectory.from_config(migrate.alembic_config())
    return any(step.revision == revision for step in script.walk_revisions())
