"""Hot-path reads on the DBAPI cursor: a Core select compiled once per dialect, run in the caller's transaction.

For a lookup that SQLite answers in microseconds, SQLAlchemy's execute and result layers cost more than the
database itself (the rates lookup ran at 32 % of raw sqlite3 through them). The rows come back as the driver
gives them, without SQLAlchemy's type processing: SQLite gives a Date column as ISO text (see ``day``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime
from operator import itemgetter
from typing import Any, overload

from sqlalchemy import Connection, Engine, Select, bindparam
from sqlalchemy.engine import Dialect
from sqlalchemy.sql.elements import BindParameter, DQLDMLClauseElement

from asteriskbill.store.engine import reading


class RawSelect:
    """``rows(conn, *values)``: the rows of ``statement``, its bind parameters ``names`` given in that order."""

    def __init__(self, statement: DQLDMLClauseElement, *names: str):
        self.statement = statement
        self.names = names
        self._compiled: dict[str, tuple[str, Callable[[tuple], Any]]] = {}  # dialect name -> (SQL, parameters)

    def rows(self, conn: Connection, *values: Any) -> Sequence[Any]:
        sql, parameters = self._compiled.get(conn.dialect.name) or self._compile(conn.dialect)
        if not conn.in_transaction():
            conn.begin()  # as Core's autobegin: the engine's BEGIN (IMMEDIATE or not, on SQLite) comes first
        cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
        try:
            cursor.execute(sql, parameters(values))
            return cursor.fetchall()
        finally:
            cursor.close()

    def alone(self, engine: Engine, *values: Any) -> Any:
        """The first row (or None) of the statement run by itself, read-only. On SQLite on a pooled driver connection in
        no transaction: one SELECT reads one consistent snapshot, so it needs no Connection, BEGIN or COMMIT around it.
        Elsewhere in a read transaction: psycopg begins one itself, and the pool's rollback of it costs more than
        a COMMIT."""
        if engine.dialect.name != "sqlite":
            with reading(engine) as conn:
                return self.first(conn, *values)
        sql, parameters = self._compiled.get(engine.dialect.name) or self._compile(engine.dialect)
        connection = engine.raw_connection()
        try:
            cursor = connection.cursor()
            cursor.execute(sql, parameters(values))
            return cursor.fetchone()
        finally:
            connection.close()  # back to the pool, which rolls back what a driver may have begun (psycopg)

    def first(self, conn: Connection, *values: Any) -> Any:
        """The first row, or None."""
        rows = self.rows(conn, *values)
        return rows[0] if rows else None

    def scalar(self, conn: Connection, *values: Any) -> Any:
        """The first column of the first row, or None."""
        rows = self.rows(conn, *values)
        return rows[0][0] if rows else None

    def _compile(self, dialect: Dialect) -> tuple[str, Callable[[tuple], Any]]:
        """The SQL and how to pass the values; a value written in the statement (``id == 1``) is passed as it is."""
        compiled = self.statement.compile(dialect=dialect)
        fixed = {name: value for name, value in compiled.params.items() if name not in self.names}
        parameters: Callable[[tuple], Any]
        if not compiled.positional:  # named (psycopg's %(name)s)
            parameters = lambda v: {**fixed, **dict(zip(self.names, v, strict=True))}  # noqa: E731
        elif list(compiled.positiontup or ()) == list(self.names):
            parameters = lambda v: v  # noqa: E731
        elif not fixed:  # the values in the statement's order, picked in C (an insert's columns are the table's)
            at = [self.names.index(name) for name in compiled.positiontup or ()]
            parameters = itemgetter(*at) if len(at) > 1 else lambda v: tuple(v[i] for i in at)
        else:  # the statement's own values (a LIMIT, a constant) in place, the caller's put in around them
            order = list(compiled.positiontup or ())
            template = [fixed.get(name) for name in order]
            slots = [(i, self.names.index(name)) for i, name in enumerate(order) if name in self.names]

            def parameters(v: tuple) -> list:
                row = template.copy()
                for i, at in slots:
                    row[i] = v[at]
                return row

        self._compiled[dialect.name] = compiled.string, parameters
        return self._compiled[dialect.name]


@overload
def day(value: date | str) -> date: ...
@overload
def day(value: None) -> None: ...
def day(value: date | str | None) -> date | None:
    """A Date column's value as the driver gave it (SQLite: ISO text) as a date."""
    return date.fromisoformat(value) if isinstance(value, str) else value


class RawSelectIn:
    """``rows(conn, values)``: the rows of a select whose one IN list takes ``values`` (a group's sessions, its
    accounts), compiled once for each length of the list."""

    def __init__(self, build: Callable[[list[BindParameter]], Select]):
        self.build = build
        self._by_length: dict[int, RawSelect] = {}

    def rows(self, conn: Connection, values: Sequence[Any]) -> Sequence[Any]:
        raw = self._by_length.get(len(values))
        if raw is None:
            names = [f"in_{n}" for n in range(len(values))]
            raw = self._by_length[len(values)] = RawSelect(self.build([bindparam(name) for name in names]), *names)
        return raw.rows(conn, *values)


class RawWrite(RawSelect):
    """``many(conn, rows)``: an insert or update run once per row of values (in ``names`` order) as ONE executemany,
    each value converted by its column's type as Core converts it (an aware datetime into SQLite's UTC text)."""

    def many(self, conn: Connection, rows: Sequence[tuple]) -> None:
        sql, parameters = self._compiled.get(conn.dialect.name) or self._compile(conn.dialect)
        if not conn.in_transaction():
            conn.begin()
        cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
        try:
            cursor.executemany(sql, [parameters(row) for row in rows])
        finally:
            cursor.close()

    def _compile(self, dialect: Dialect) -> tuple[str, Callable[[tuple], Any]]:
        sql, parameters = super()._compile(dialect)
        binds = self.statement.compile(dialect=dialect).binds
        convert = [(at, found) for at, name in enumerate(self.names) if (found := _processor(binds[name], dialect))]
        if convert:

            def converted(values: Sequence[Any]) -> Any:
                row = list(values)
                for at, process in convert:
                    row[at] = process(row[at])
                return parameters(tuple(row))

            self._compiled[dialect.name] = sql, converted
        return self._compiled[dialect.name]


def _processor(bind: BindParameter, dialect: Dialect) -> Callable[[Any], Any] | None:
    # The dialect's own type: SQLite's DATETIME writes Core's text. The generic type would leave the datetime to the
    # driver, whose text ("+00:00" appended) compares wrongly with the rows Core writes.
    return bind.type.dialect_impl(dialect).bind_processor(dialect)


@overload
def moment(value: datetime | str) -> datetime: ...
@overload
def moment(value: None) -> None: ...
def moment(value: datetime | str | None) -> datetime | None:
    """A UTCDateTime column's value as the driver gave it (SQLite: UTC text) as an aware datetime."""
    return datetime.fromisoformat(value).replace(tzinfo=UTC) if isinstance(value, str) else value
