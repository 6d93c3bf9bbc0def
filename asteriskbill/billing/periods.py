"""Report periods and retention ages (pure): what an operator types, turned into UTC moments.

A period is ``since`` (included) to ``until`` (excluded). A day given alone for ``until`` includes
that whole day, so ``--since 2026-11-01 --until 2026-11-30`` is all of November. A moment given
without an offset is in the installation's time zone.

An age is how far back a retention reaches: ``6months``, ``180days``, ``2weeks``, ``1year``. Months
and years are calendar ones (6 months before 31 August is 28 or 29 February).
"""

from __future__ import annotations

import calendar
import contextlib
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo

from asteriskbill.errors import UserError

UNITS = ("day", "week", "month", "year")
PRESETS = ("today", "7days", "month")  # a report's usual periods: today, the last 7 days, this month so far
_AGE = re.compile(r"(\d+)\s*(day|week|month|year)s?", re.IGNORECASE | re.ASCII)


class PeriodError(UserError):
    """A period or an age that cannot be understood."""


@dataclass(frozen=True)
class Age:
    count: int
    unit: str  # one of UNITS

    def __str__(self) -> str:
        return f"{self.count}{self.unit}{'s' if self.count != 1 else ''}"


def parse_age(text: str) -> Age:
    match = _AGE.fullmatch(text.strip())
    if match is None:
        raise PeriodError(f"{text!r} is not an age like 6months, 180days, 2weeks or 1year")
    age = Age(int(match[1]), match[2].lower())
    if age.count < 1:
        raise PeriodError(f"{text!r}: an age must be at least 1 {age.unit}")
    return age


def before(moment: datetime, age: Age) -> datetime:
    """The moment ``age`` before ``moment``."""
    if age.unit in ("day", "week"):
        return moment - timedelta(days=age.count * (7 if age.unit == "week" else 1))
    months = moment.year * 12 + moment.month - 1 - age.count * (12 if age.unit == "year" else 1)
    year, month = divmod(months, 12)
    if year < 1:
        raise PeriodError(f"{age} reaches back before the year 1")
    day = min(moment.day, calendar.monthrange(year, month + 1)[1])
    return moment.replace(year=year, month=month + 1, day=day)


def bound(value: date | datetime, zone: tzinfo, end: bool = False) -> datetime:
    """The UTC moment of a period's start (``end`` False) or excluded end given as a day or a moment."""
    if isinstance(value, datetime):
        aware = value if value.tzinfo is not None else value.replace(tzinfo=zone)
        return aware.astimezone(UTC)
    day = value + timedelta(days=1) if end else value
    return datetime.combine(day, time(), zone).astimezone(UTC)


def parse_moment(text: str) -> date | datetime:
    """A day (2026-12-25) or a moment (2026-12-25T18:30, with or without an offset), kept as given: a period
    reads a day alone as all of it (``bound``)."""
    with contextlib.suppress(ValueError):
        return date.fromisoformat(text)
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        raise PeriodError(f"{text!r} is not a date like 2026-12-25 or a date and time like 2026-12-25T18:30") from None


def preset(name: str, zone: tzinfo, now: datetime) -> tuple[datetime, datetime]:
    """The UTC (since, until) of one of PRESETS, in days of ``zone``, up to the end of today."""
    today = now.astimezone(zone).date()
    starts = {"today": today, "7days": today - timedelta(days=6), "month": today.replace(day=1)}
    if name not in starts:
        raise PeriodError(f"unknown period {name!r}: use one of {', '.join(PRESETS)}")
    return bound(starts[name], zone), bound(today, zone, end=True)


def check_period(since: datetime | None, until: datetime | None) -> None:
    if since is not None and until is not None and since >= until:
        raise PeriodError(f"the period is empty: since {since.isoformat()} is not before until {until.isoformat()}")
