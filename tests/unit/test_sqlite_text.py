"""UTCDateTime's own SQLite bind processor writes the text SQLAlchemy's DATETIME wrote (stored rows compare as text:
a CDR's started_at, a reservation's deadline), and reads back as the moment written."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy.dialects import postgresql, sqlite

from asteriskbill.store.types import UTCDateTime, sqlite_text, utc

DIALECT = sqlite.dialect()
DATETIME = sqlite.DATETIME().bind_processor(DIALECT)  # SQLAlchemy's, which UTCDateTime used after process_bind_param
moments = st.builds(
    lambda naive, minutes: naive.replace(tzinfo=timezone(timedelta(minutes=minutes))),
    st.datetimes(min_value=datetime(1970, 1, 2), max_value=datetime(9999, 12, 30)),
    st.integers(-14 * 60, 14 * 60),
)


@given(moments)
def test_the_text_is_sqlalchemys_and_reads_back_as_the_same_moment(moment):
    assert DATETIME is not None
    assert sqlite_text(moment) == DATETIME(UTCDateTime().process_bind_param(moment, DIALECT))
    assert utc(sqlite_text(moment)) == moment


def test_the_type_uses_it_on_sqlite_only():
    assert UTCDateTime().dialect_impl(DIALECT).bind_processor(DIALECT) is sqlite_text  # as Core and RawWrite ask
    assert UTCDateTime().dialect_impl(postgresql.dialect()).bind_processor(postgresql.dialect()) is not sqlite_text
    assert sqlite_text(datetime(2026, 12, 1, 13, 0, tzinfo=UTC)) == "2026-12-01 13:00:00.000000"
    assert sqlite_text(None) is None


def test_a_naive_datetime_is_refused():
    with pytest.raises(ValueError, match="naive"):
        sqlite_text(datetime(2026, 12, 1, 13, 0))
