"""Column types shared by the models."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import DateTime
from sqlalchemy.types import TypeDecorator


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator):
    """An aware datetime, stored in UTC: SQLite keeps no offset, so convert on the way in and out."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given for a UTC column")
        return value.astimezone(UTC)

    def bind_processor(self, dialect):
        # SQLite's DATETIME formats each field in Python after process_bind_param: ~3 us a value, six values a
        # settlement. isoformat writes the same text in C (tests/unit/test_types.py compares them).
        return sqlite_text if dialect.name == "sqlite" else super().bind_processor(dialect)

    def process_result_value(self, value, dialect):
        return None if value is None else utc(value)


def sqlite_text(value: datetime | None) -> str | None:
    """An aware datetime as UTCDateTime stores it in SQLite: UTC, no offset, always with microseconds."""
    if value is None:
        return None
    if value.tzinfo is None:
        raise ValueError("naive datetime given for a UTC column")
    return value.astimezone(UTC).replace(tzinfo=None).isoformat(" ", "microseconds")


def utc(value: datetime | str) -> datetime:
    """A UTCDateTime column's value as the driver gives it (SQLite: the text it stores, without an offset) read
    as UTCDateTime reads it, for a query that skips the type's processing."""
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
