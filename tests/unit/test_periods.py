"""Report periods and retention ages: the forms operators type, calendar months, time zones."""

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest

from asteriskbill.billing.periods import (
    Age,
    PeriodError,
    before,
    bound,
    check_period,
    parse_age,
    parse_moment,
    preset,
)

UTC = UTC


@pytest.mark.parametrize(
    "text, age",
    [
        ("6months", Age(6, "month")),
        ("180days", Age(180, "day")),
        ("2weeks", Age(2, "week")),
        ("1year", Age(1, "year")),
        ("1 month", Age(1, "month")),
        (" 3 YEARS ", Age(3, "year")),
        ("1day", Age(1, "day")),
    ],
)
def test_ages_operators_type(text, age):
    assert parse_age(text) == age


@pytest.mark.parametrize("text", ["", "6", "months", "6mo", "-1days", "1.5years", "0months", "6 fortnights"])
def test_what_is_not_an_age(text):
    with pytest.raises(PeriodError):
        parse_age(text)


def test_age_prints_as_typed():
    assert [str(parse_age(t)) for t in ("6months", "1 year", "1days")] == ["6months", "1year", "1day"]


@pytest.mark.parametrize(
    "moment, age, expected",
    [
        (datetime(2026, 8, 31, 12, tzinfo=UTC), "6months", datetime(2026, 2, 28, 12, tzinfo=UTC)),
        (datetime(2028, 8, 31, tzinfo=UTC), "6months", datetime(2028, 2, 29, tzinfo=UTC)),  # a leap year
        (datetime(2026, 3, 15, tzinfo=UTC), "6months", datetime(2025, 9, 15, tzinfo=UTC)),
        (datetime(2026, 1, 31, tzinfo=UTC), "1month", datetime(2025, 12, 31, tzinfo=UTC)),
        (datetime(2028, 2, 29, tzinfo=UTC), "1year", datetime(2027, 2, 28, tzinfo=UTC)),
        (datetime(2026, 11, 27, 22, 5, tzinfo=UTC), "180days", datetime(2026, 5, 31, 22, 5, tzinfo=UTC)),
        (datetime(2026, 1, 10, tzinfo=UTC), "2weeks", datetime(2025, 12, 27, tzinfo=UTC)),
    ],
)
def test_before_counts_calendar_months(moment, age, expected):
    assert before(moment, parse_age(age)) == expected


def test_before_the_year_one_is_refused():
    with pytest.raises(PeriodError, match="before the year 1"):
        before(datetime(2026, 1, 1, tzinfo=UTC), parse_age("2030years"))


def test_bounds_of_days_and_moments():
    sofia = ZoneInfo("Europe/Sofia")  # UTC+2 in winter, +3 in summer
    assert bound(date(2026, 12, 1), sofia) == datetime(2026, 11, 30, 22, tzinfo=UTC)
    assert bound(date(2026, 12, 1), sofia, end=True) == datetime(2026, 12, 1, 22, tzinfo=UTC)  # the whole day
    assert bound(date(2026, 7, 1), sofia) == datetime(2026, 6, 30, 21, tzinfo=UTC)
    assert bound(datetime(2026, 12, 1, 18, 30), sofia, end=True) == datetime(2026, 12, 1, 16, 30, tzinfo=UTC)
    given = datetime(2026, 12, 1, 18, 30, tzinfo=ZoneInfo("America/New_York"))
    assert bound(given, sofia) == datetime(2026, 12, 1, 23, 30, tzinfo=UTC)  # an offset given wins
    assert bound(date(2026, 12, 1), UTC).tzinfo is UTC


def test_an_empty_period_is_refused():
    check_period(None, datetime(2026, 1, 1, tzinfo=UTC))
    check_period(datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 1, 1, 0, 0, 1, tzinfo=UTC))
    with pytest.raises(PeriodError, match="the period is empty"):
        check_period(datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 1, 1, tzinfo=UTC))


def test_moments_as_a_form_gives_them():
    assert parse_moment("2026-12-25") == date(2026, 12, 25)
    assert parse_moment("2026-12-25T18:30") == datetime(2026, 12, 25, 18, 30)
    with pytest.raises(PeriodError, match="'25/12/2026' is not a date like 2026-12-25"):
        parse_moment("25/12/2026")


def test_presets_are_days_of_the_time_zone_up_to_the_end_of_today():
    sofia = ZoneInfo("Europe/Sofia")
    now = datetime(2026, 12, 9, 23, 30, tzinfo=UTC)  # already the 10th in Sofia
    end = datetime(2026, 12, 10, 22, tzinfo=UTC)
    assert preset("today", sofia, now) == (datetime(2026, 12, 9, 22, tzinfo=UTC), end)
    assert preset("7days", sofia, now) == (datetime(2026, 12, 3, 22, tzinfo=UTC), end)
    assert preset("month", sofia, now) == (datetime(2026, 11, 30, 22, tzinfo=UTC), end)
    with pytest.raises(PeriodError, match="unknown period 'year'"):
        preset("year", sofia, now)
