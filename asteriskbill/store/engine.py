"""Engine factory: SQLite with WAL, foreign keys, a busy timeout and BEGIN IMMEDIATE; any other URL as is.

It opens what it is given (a SQLite file is created on first connect): commands open their database through
store/ready.py, which refuses one that `asteriskbill init` did not make.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from pathlib import Path

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import URL, make_url

from asteriskbill.settings import Settings

READ_ONLY = "asteriskbill_read_only"  # execution option: see ``reading``


def make_engine(settings: Settings, **kwargs) -> Engine:
    url = make_url(settings.db)
    if url.get_backend_name() != "sqlite":
        return create_engine(url, pool_pre_ping=True, **kwargs)
    synchronous = settings.sqlite_synchronous.upper()  # one of settings.SYNCHRONOUS_LEVELS: checked when loaded
    engine = create_engine(url, connect_args={"timeout": settings.sqlite_busy_timeout_ms / 1000}, **kwargs)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):
        # Autocommit at the driver level: SQLAlchemy's "begin" event below owns the transaction,
        # so that the first SELECT of a transaction already runs inside it.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={int(settings.sqlite_busy_timeout_ms)}")
        cursor.execute(f"PRAGMA synchronous={synchronous}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection):
        # IMMEDIATE takes the write lock up front: a deferred BEGIN fails its lock upgrade under
        # concurrent writers, and a balance read outside the write lock could be spent twice.
        # A read-only transaction (``reading``) takes none: WAL gives it a snapshot while calls settle.
        mode = "DEFERRED" if connection.get_execution_options().get(READ_ONLY) else "IMMEDIATE"
        # On the driver's connection: Core's execute path cost more than the BEGIN itself (every transaction has one).
        connection.connection.dbapi_connection.execute(f"BEGIN {mode}")

    return engine


def reading(engine: Engine) -> AbstractContextManager[Connection]:
    """A transaction that only reads (reports, exports): one consistent snapshot that, on SQLite,
    does not hold the write lock, so a minute-long export never makes a settlement wait."""
    readers = getattr(engine, _READERS, None)
    if readers is None:  # made once per engine: an OptionEngine costs more than a card login's read
        readers = engine.execution_options(**{READ_ONLY: True})
        setattr(engine, _READERS, readers)
    return readers.begin()


# The engine's read-only OptionEngine, kept on the engine: the two are freed together. As the value of a
# WeakKeyDictionary it referred to its key, so no engine was ever freed (nor its pool and statement cache).
_READERS = "_asteriskbill_readers"


def is_sqlite(engine: Engine) -> bool:
    return engine.dialect.name == "sqlite"


def sqlite_file(url: URL) -> Path | None:
    """The file of a SQLite URL; None for an in-memory database or another kind."""
    if url.get_backend_name() != "sqlite" or url.database in (None, "", ":memory:") or url.query.get("uri"):
        return None
    return Path(url.database)
