"""An error a person can fix, said in one sentence with a hint: the only place that turns exceptions into words.

The CLI's edge (cli/__init__.py) and the agi-bin scripts print ``explain(exc)`` as one line and exit non-zero.
It knows bad input (UserError) and mistakes of the environment: a database that cannot be opened, read,
written or reached, a disk that is full, a port already taken, a file that is not UTF-8 or not CSV. Anything
else is a bug: ``explain`` gives None and the traceback stays. Database URLs are shown without password.
"""

from __future__ import annotations

import csv
import errno
import re
import shutil
import socket
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy import exc as sa
from sqlalchemy.engine import URL, make_url

from asteriskbill.errors import UserError
from asteriskbill.settings import Settings

DEBUG_HINT = "--debug shows the traceback"
UPGRADE = "run 'asteriskbill init' to upgrade it"
FULL_BELOW = 1 << 20  # bytes free under which a disk I/O error is told as a full disk


def explain(exc: BaseException, settings: Settings | None = None) -> str | None:
    """One line for ``exc`` (``settings``: those of the command that failed), or None for a bug."""
    for kind, explainer in _EXPLAINERS:
        if isinstance(exc, kind):
            return explainer(exc, settings)
    return None


def shown_url(url: URL | str) -> str:
    """A database URL as messages show it: the password hidden."""
    return make_url(url).render_as_string(hide_password=True)


def _db(settings: Settings | None) -> str:
    try:
        return f"database {shown_url(settings.db)}" if settings else "the database"
    except (sa.ArgumentError, ValueError):
        return "the database (db setting)"


# -- databases ---------------------------------------------------------------------------------------------

# SQLite's error names (sqlite3's ``sqlite_errorname``; a prefix covers the extended codes) and what to say.
_SQLITE = (
    (
        "SQLITE_READONLY",
        "{db} is read-only for this user — let it write the file and its folder, or run as their owner",
    ),
    ("SQLITE_FULL", "the disk of {db} is full — free some space, then run the command again (nothing was saved)"),
    ("SQLITE_IOERR", "{db}: disk I/O error — is its disk full (df {folder}) or failing?"),
    ("SQLITE_CANTOPEN", "cannot open {db} — check that its folder exists and that this user may write there"),
    ("SQLITE_BUSY", "{db} stayed locked by another process — run the command again, or raise sqlite_busy_timeout_ms"),
    ("SQLITE_NOTADB", "{db} is not a SQLite database file — check db / --db"),
    ("SQLITE_CORRUPT", "{db} is damaged ({detail}) — restore it from a backup (asteriskbill cdr backup)"),
)
# The same for PostgreSQL (and others): a pattern of the driver's first line.
_SERVER = (
    (r"database \S+ does not exist", "{db} does not exist on its server — create it (createdb), then run init"),
    (r"password authentication failed|no password supplied", "{db}: the server refused the login — check the URL"),
    (r"role \S+ does not exist", "{db}: no such user on the server — check the user in the URL"),
    (r"Connection refused|could not connect", "cannot reach the server of {db} ({detail}) — is it running?"),
    (r"failed to resolve host|could not translate host", "cannot find the server of {db} ({detail}) — check the host"),
    (r"no such (table|column)|relation \S+ does not exist", "{db} lacks part of its schema ({detail}) — " + UPGRADE),
    (r"could not extend file|No space left", "the disk of {db} is full — free some space, then run the command again"),
)
# Not the environment but the code (a constraint the code should have checked, a wrong query): bugs.
_BUGS = (sa.IntegrityError, sa.ProgrammingError, sa.DataError, sa.NotSupportedError)


def _database(exc: sa.DBAPIError, settings: Settings | None) -> str | None:
    said = str(exc.orig or exc).strip()  # the driver's words; SQLAlchemy's add the statement and its parameters
    detail = said.splitlines()[0] if said else type(exc).__name__
    words = {"db": _db(settings), "detail": detail, "folder": _folder(settings)}
    name = getattr(exc.orig, "sqlite_errorname", "")
    if name.startswith("SQLITE_IOERR") and _full(words["folder"]):  # a full disk fails SQLite's -shm as I/O
        name = "SQLITE_FULL"
    for prefix, sentence in _SQLITE:
        if name.startswith(prefix):
            return sentence.format(**words)
    for pattern, sentence in _SERVER:
        if re.search(pattern, detail, re.IGNORECASE):
            return sentence.format(**words)
    if isinstance(exc, _BUGS):
        return None
    return f"{words['db']}: {detail} — check db / --db ({DEBUG_HINT})"


def _full(folder: str) -> bool:
    try:
        return shutil.disk_usage(folder).free < FULL_BELOW
    except OSError:
        return False


def _folder(settings: Settings | None) -> str:
    path = _sqlite_path(settings)
    return str(path.parent) if path else "."


def _sqlite_path(settings: Settings | None) -> Path | None:
    from asteriskbill.store.engine import sqlite_file

    try:
        return sqlite_file(make_url(settings.db)) if settings else None
    except (sa.ArgumentError, ValueError):
        return None


def _argument(exc: sa.ArgumentError, settings: Settings | None) -> str:
    return f"{_db(settings)} cannot be opened: {exc} — check db / --db (e.g. postgresql+psycopg://user@host/db)"


# -- the operating system ------------------------------------------------------------------------------


_LISTENING = (errno.EADDRINUSE, errno.EADDRNOTAVAIL, errno.EACCES)  # bind's errors: they name no file


def _os(exc: OSError, settings: Settings | None) -> str:
    if isinstance(exc, socket.gaierror) or (exc.filename is None and exc.errno in _LISTENING):
        return _listen(exc, settings)  # only `serve` binds (and resolves fastagi_host) before it runs
    where = f" {exc.filename}" if exc.filename is not None else ""
    reason = (exc.strerror or str(exc)).lower()
    db_path = _sqlite_path(settings)
    if exc.filename is not None and db_path is not None and Path(exc.filename) in db_path.parents:
        return f"cannot create the folder{where} for {_db(settings)} ({reason}) — set db / --db to a path you can write"
    if exc.errno == errno.ENOSPC:
        return f"no space left on the device of{where or ' a file'} — free some space, then run the command again"
    if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return f"cannot write or read{where} ({reason}) — run as a user who may, or choose another path"
    return f"{exc.filename}: {reason}" if exc.filename is not None else f"{reason} ({type(exc).__name__})"


def _listen(exc: OSError, settings: Settings | None) -> str:
    which = getattr(exc, "listening", "fastagi")  # web/server.py marks the console's socket "web"
    host, port = f"{which}_host", f"{which}_port"
    address = f"{getattr(settings, host)}:{getattr(settings, port)}" if settings else f"the {which} address"
    if exc.errno == errno.EADDRINUSE:
        return f"port {address} is in use (another asteriskbill serve?) — set {port} or stop the other server"
    if exc.errno == errno.EACCES:
        return f"cannot listen on {address}: ports below 1024 need root — set {port} to 1024 or above"
    if isinstance(exc, socket.gaierror):
        return f"cannot listen on {address}: {exc.strerror} — set {host} to an address of this machine"
    return f"cannot listen on {address}: no such address on this machine — set {host}"


# -- file contents -------------------------------------------------------------------------------------------


def _unicode(exc: UnicodeDecodeError, _settings: Settings | None) -> str:
    return f"a file is not UTF-8 text (byte {exc.object[exc.start]:#x} at {exc.start}) — save it as UTF-8"


def _csv(exc: csv.Error, _settings: Settings | None) -> str:
    if "field larger than field limit" in str(exc):
        return (
            f"a CSV field is longer than {csv.field_size_limit():,} characters — is it the right file? "
            'A quote (") left open makes the rest of the file one field'
        )
    return f"not a CSV file as expected ({exc})"


_EXPLAINERS: tuple[tuple[type[BaseException], Callable[[Any, Settings | None], str | None]], ...] = (
    (UserError, lambda exc, _settings: str(exc)),
    (sa.DBAPIError, _database),
    (sa.ArgumentError, _argument),
    (OSError, _os),
    (UnicodeDecodeError, _unicode),
    (csv.Error, _csv),
)
