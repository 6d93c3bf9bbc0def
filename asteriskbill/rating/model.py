"""The rating model: tariffs, rates and their interval groups, as plain values (no I/O)."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

from asteriskbill.billing.numbers import is_digits
from asteriskbill.errors import UserError

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
ALL_WEEKDAYS = frozenset(range(7))
SUNDAY = 6


class RatingError(UserError, ValueError):
    """A tariff or rate that cannot be priced as given."""


@dataclass(frozen=True)
class IntervalGroup:
    """Pricing from ``start`` seconds of elapsed call time until the next group starts.

    ``price`` micro-units buy ``unit`` seconds (60: a price per minute); usage inside the group
    is billed in blocks of ``increment`` seconds, a started block counting in full.
    """

    start: int
    price: int
    increment: int = 1
    unit: int = 60

    def __post_init__(self) -> None:
        if self.start < 0:
            raise RatingError(f"interval start {self.start} must not be negative")
        if self.price < 0:
            raise RatingError("interval price must not be negative")
        if self.increment < 1 or self.unit < 1:
            raise RatingError("interval increment and unit must be at least 1 second")


def groups_from_increments(price: int, initial: int = 1, following: int = 1) -> tuple[IntervalGroup, ...]:
    """The usual "INITIAL/NEXT" increments (60/6, 30/6, 1/1) as interval groups of one price."""
    if initial == following:
        return (IntervalGroup(0, price, initial),)
    return (IntervalGroup(0, price, initial), IntervalGroup(initial, price, following))


@dataclass(frozen=True)
class Rate:
    """The price of calls to numbers starting with ``prefix``, when its validity matches the moment."""

    prefix: str
    groups: tuple[IntervalGroup, ...]
    destination: str = ""
    connect_fee: int = 0
    grace: int = 0
    weekdays: frozenset[int] = ALL_WEEKDAYS
    time_from: time | None = None
    time_to: time | None = None
    date_from: date | None = None
    date_to: date | None = None
    buy_price: int | None = None
    buy_currency: str | None = None  # the vendor's currency of buy_price; None: the tariff's
    weight: int = 0

    def __post_init__(self) -> None:
        if not is_digits(self.prefix):
            raise RatingError(f"prefix {self.prefix!r} must be digits")
        if not self.groups or self.groups[0].start != 0:
            raise RatingError("a rate needs interval groups, the first starting at 0 s")
        for current, following in itertools.pairwise(self.groups):
            length = following.start - current.start
            if length <= 0:
                raise RatingError("interval groups must start at increasing seconds")
            if length % current.increment:
                raise RatingError(
                    f"interval group at {current.start} s lasts {length} s, "
                    f"not a multiple of its {current.increment} s increment"
                )
        if self.connect_fee < 0 or self.grace < 0:
            raise RatingError("connect fee and grace must not be negative")
        if not self.weekdays or not self.weekdays <= ALL_WEEKDAYS:
            raise RatingError("weekdays must name at least one day")
        if (self.time_from is None) != (self.time_to is None):
            raise RatingError("time_from and time_to go together")
        if self.time_from is not None and self.time_from == self.time_to:
            raise RatingError("time_from and time_to must differ (leave both empty for all day)")
        if self.date_from and self.date_to and self.date_from > self.date_to:
            raise RatingError("date_from is after date_to")

    def valid_on(self, day: date, weekday: int, at: time) -> bool:
        """Whether this rate applies at local time ``at`` on ``day`` (``weekday`` after holidays)."""
        if weekday not in self.weekdays:
            return False
        if (self.date_from and day < self.date_from) or (self.date_to and day > self.date_to):
            return False
        hours = self.hours
        if hours is None:
            return True
        time_from, time_to = hours
        if time_from < time_to:
            return time_from <= at < time_to
        return at >= time_from or at < time_to  # a window across midnight

    @property
    def always(self) -> bool:
        """Valid at every moment: no weekday, hour or date restriction (so holidays, which only change the
        weekday, cannot matter either)."""
        return self.weekdays == ALL_WEEKDAYS and self.time_from is None and not (self.date_from or self.date_to)

    @property
    def hours(self) -> tuple[time, time] | None:
        """(time_from, time_to), or None for all day (the two are set together)."""
        if self.time_from is None or self.time_to is None:
            return None
        return self.time_from, self.time_to

    @property
    def specificity(self) -> tuple[int, int, int]:
        """Higher is narrower: explicit weight first, then fewer weekdays, hours and dates covered."""
        hours = self.hours
        if hours is None:
            minutes = 1440
        else:
            time_from, time_to = hours
            span = (time_to.hour * 60 + time_to.minute) - (time_from.hour * 60 + time_from.minute)
            minutes = span % 1440
        days = (self.date_to - self.date_from).days if self.date_from and self.date_to else 10**6
        return (self.weight, -len(self.weekdays) * minutes, -days)


@dataclass(frozen=True)
class Tariff:
    """A price list in one currency; holidays map a date to the weekday whose rates it uses."""

    name: str
    currency: str
    rounding: int = 1
    timezone: str = "UTC"
    holidays: dict[date, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.rounding < 1:
            raise RatingError("rounding step must be at least one micro-unit")

    def weekday(self, day: date) -> int:
        return self.holidays.get(day, day.weekday())

    def moment(self, wall: datetime) -> datetime:
        """The instant at which this tariff's clock shows ``wall`` (naive). When the clocks go back, a time
        shown twice is its first occurrence; when they go forward, a time skipped is refused (no instant)."""
        zone = ZoneInfo(self.timezone)
        instant = wall.replace(tzinfo=zone, fold=0)
        if instant.astimezone(UTC).astimezone(zone).replace(tzinfo=None) != wall:
            shown = wall.isoformat(timespec="minutes" if not (wall.second or wall.microsecond) else "auto")
            raise RatingError(
                f"{shown} does not exist in {self.timezone}: the clocks go forward over it; "
                f"give the offset meant, e.g. {instant.isoformat()}"
            )
        return instant
