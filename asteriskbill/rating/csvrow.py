"""The text form of a rate, as in a CSV row: parse what an operator wrote, format it back.

Pure: no I/O. ``parse_rate(format_rate(rate)) == rate`` for every rate. Errors name the field, the
value and what is expected, so an import can report them line by line.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date, time
from functools import lru_cache

from asteriskbill.billing.numbers import is_digits
from asteriskbill.money import MoneyError, format_amount, parse_amount, parse_currency
from asteriskbill.rating.model import ALL_WEEKDAYS, WEEKDAYS, IntervalGroup, Rate, RatingError, groups_from_increments

RATE_FIELDS = (
    "prefix",
    "destination",
    "price",
    "increments",
    "intervals",
    "connect_fee",
    "grace",
    "weekdays",
    "time_from",
    "time_to",
    "date_from",
    "date_to",
    "buy_price",
    "buy_currency",
    "weight",
)
MINUTE = 60

_CLOCK = re.compile(r"^(\d{1,2}):(\d{2})$", re.ASCII)
_INCREMENTS = re.compile(r"^(\d+)(?:/(\d+))?$", re.ASCII)
_INTEGER = re.compile(r"^[+-]?\d+$", re.ASCII)


def parse_rate(row: Mapping[str, str]) -> Rate:
    """A rate from the fields of one row; absent or empty fields take their defaults."""
    field = dict.fromkeys(RATE_FIELDS, "")
    field.update((name, value.strip()) for name, value in row.items() if value)
    if not field["prefix"]:
        raise RatingError("prefix is required (the digits the numbers start with, e.g. 4420)")
    if not is_digits(field["prefix"]):
        raise RatingError(f"prefix {field['prefix']!r} must be digits only, e.g. 4420")
    time_from = _clock(field["time_from"], "time_from")
    time_to = _clock(field["time_to"], "time_to", end_of_day=True)
    return Rate(
        prefix=field["prefix"],
        destination=field["destination"],
        groups=_groups(field["price"], field["increments"], field["intervals"]),
        connect_fee=_amount(field["connect_fee"], "connect_fee"),
        grace=_count(field["grace"], "grace", "seconds"),
        weekdays=_weekdays(field["weekdays"]),
        time_from=time_from,
        time_to=time_to,
        date_from=_date(field["date_from"], "date_from"),
        date_to=_date(field["date_to"], "date_to"),
        buy_price=_amount(field["buy_price"], "buy_price") if field["buy_price"] else None,
        buy_currency=_buy_currency(field["buy_currency"], field["buy_price"]),
        weight=_weight(field["weight"]),
    )


def format_rate(rate: Rate) -> dict[str, str]:
    """Every field of RATE_FIELDS as text: price and increments when the groups have that shape."""
    first, last = rate.groups[0], rate.groups[-1]
    simple = rate.groups == groups_from_increments(first.price, first.increment, last.increment)
    return {
        "prefix": rate.prefix,
        "destination": rate.destination,
        "price": format_amount(first.price) if simple else "",
        "increments": f"{first.increment}/{last.increment}" if simple else "",
        "intervals": "" if simple else format_intervals(rate.groups),
        "connect_fee": format_amount(rate.connect_fee),
        "grace": str(rate.grace),
        "weekdays": format_weekdays(rate.weekdays),
        "time_from": _format_clock(rate.time_from, "00:00"),
        "time_to": _format_clock(rate.time_to, "24:00"),
        "date_from": rate.date_from.isoformat() if rate.date_from else "",
        "date_to": rate.date_to.isoformat() if rate.date_to else "",
        "buy_price": "" if rate.buy_price is None else format_amount(rate.buy_price),
        "buy_currency": rate.buy_currency or "",
        "weight": str(rate.weight),
    }


def describe_validity(rate: Rate) -> str:
    """When a rate applies, in words: "every day, all day", "mon-fri 08:00-18:00, 2026-12-24 to 2026-12-26"."""
    text = format_rate(rate)
    words = [
        text["weekdays"] or "every day",
        f"{text['time_from']}-{text['time_to']}" if rate.time_from is not None else "all day",
    ]
    if rate.date_from or rate.date_to:
        words.append(f"{text['date_from'] or '...'} to {text['date_to'] or '...'}")
    return ", ".join(words)


def rate_words(rate: Rate) -> dict[str, str]:
    """``format_rate``'s fields, with the price as listings show it ("0.10 60/6", or the intervals) under
    "pricing" and ``describe_validity`` under "validity"."""
    text = format_rate(rate)
    return {
        **text,
        "pricing": text["intervals"] or f"{text['price']} {text['increments']}",
        "validity": describe_validity(rate),
    }


def format_intervals(groups: tuple[IntervalGroup, ...]) -> str:
    """``START:PRICE:INCREMENT`` per group, ``:UNIT`` added when the price is not per minute."""
    return ";".join(
        f"{g.start}:{format_amount(g.price)}:{g.increment}" + (f":{g.unit}" if g.unit != MINUTE else "") for g in groups
    )


def format_weekdays(days: frozenset[int]) -> str:
    """Empty for every day; runs of three or more days as ranges: ``mon-fri``, ``sat,sun``."""
    if days == ALL_WEEKDAYS:
        return ""
    runs: list[list[int]] = []
    for day in sorted(days):
        if runs and runs[-1][-1] == day - 1:
            runs[-1].append(day)
        else:
            runs.append([day])
    parts = []
    for run in runs:
        names = [WEEKDAYS[d] for d in run]
        parts.append(f"{names[0]}-{names[-1]}" if len(run) > 2 else ",".join(names))
    return ",".join(parts)


def _groups(price: str, increments: str, intervals: str) -> tuple[IntervalGroup, ...]:
    if intervals:
        if price or increments:
            raise RatingError("give either price (with increments) or intervals, not both")
        return _intervals(intervals)
    if not price:
        raise RatingError("price is required (per minute, e.g. 0.05), or intervals instead")
    return groups_from_increments(_amount(price, "price"), *parse_increments(increments))


@lru_cache(maxsize=256)
def parse_increments(text: str) -> tuple[int, int]:
    """(initial, next) seconds of "INITIAL/NEXT" increments such as 60/6; empty: 1/1."""
    if not text:
        return 1, 1
    match = _INCREMENTS.match(text)
    if not match or int(match.group(1)) < 1 or int(match.group(2) or 1) < 1:
        raise RatingError(f"increments {text!r} must be INITIAL/NEXT seconds of at least 1, e.g. 60/6, 30/6 or 1/1")
    initial = int(match.group(1))
    return initial, int(match.group(2) or initial)


@lru_cache(maxsize=256)
def _intervals(text: str) -> tuple[IntervalGroup, ...]:
    groups = []
    for part in text.split(";"):
        pieces = [p.strip() for p in part.split(":")]
        if len(pieces) not in (3, 4) or not all(is_digits(p) for i, p in enumerate(pieces) if i != 1):
            raise RatingError(
                f"intervals {text!r}: {part!r} must be START:PRICE:INCREMENT "
                "(seconds, price per minute, seconds), groups separated by ';', "
                "e.g. 0:0.20:60;60:0.10:1"
            )
        start, price, increment, *unit = pieces
        try:
            groups.append(
                IntervalGroup(
                    int(start),
                    parse_amount(price, what="interval price"),
                    int(increment),
                    int(unit[0]) if unit else MINUTE,
                )
            )
        except (RatingError, MoneyError) as exc:
            raise RatingError(f"intervals {text!r}: {exc}") from None
    try:
        Rate("0", tuple(groups))  # the model's rules for a sequence of groups, reported against this field
    except RatingError as exc:
        raise RatingError(f"intervals {text!r}: {exc}") from None
    return tuple(groups)


@lru_cache(maxsize=256)
def _weekdays(text: str) -> frozenset[int]:
    if not text:
        return ALL_WEEKDAYS
    days: set[int] = set()
    for part in text.lower().split(","):
        first, _, last = (p.strip() for p in part.partition("-"))
        if first not in WEEKDAYS or (last and last not in WEEKDAYS):
            raise RatingError(
                f"weekdays {text!r}: use {','.join(WEEKDAYS)} and ranges, e.g. mon-fri, sat,sun or mon,wed-fri"
            )
        start = WEEKDAYS.index(first)
        end = WEEKDAYS.index(last) if last else start
        days.update(d % 7 for d in range(start, start + (end - start) % 7 + 1))  # fri-mon wraps
    return frozenset(days)


@lru_cache(maxsize=256)
def _clock(text: str, name: str, end_of_day: bool = False) -> time | None:
    if not text:
        return None
    match = _CLOCK.match(text)
    hours, minutes = (int(match.group(1)), int(match.group(2))) if match else (-1, -1)
    if end_of_day and (hours, minutes) == (24, 0):
        return time(0, 0)  # the window runs to midnight
    if not (0 <= hours < 24 and 0 <= minutes < 60):
        limit = "00:00 to 24:00" if end_of_day else "00:00 to 23:59"
        raise RatingError(f"{name} {text!r} must be a time of day HH:MM from {limit}, e.g. 08:00")
    return time(hours, minutes)


def _format_clock(value: time | None, midnight: str) -> str:
    if value is None:
        return ""
    return midnight if value == time(0, 0) else value.strftime("%H:%M")


@lru_cache(maxsize=256)
def _date(text: str, name: str) -> date | None:
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise RatingError(f"{name} {text!r} must be a date like 2026-12-25") from None


def _amount(text: str, name: str) -> int:
    return parse_amount(text, what=name) if text else 0


def _buy_currency(text: str, buy_price: str) -> str | None:
    """The vendor's currency of the buy price; empty: the tariff's currency."""
    if not text:
        return None
    if not buy_price:
        raise RatingError(f"buy_currency {text!r} needs a buy_price (the price per minute in that currency)")
    try:
        return parse_currency(text)
    except MoneyError:
        raise RatingError(f"buy_currency {text!r} must be three letters, e.g. USD (empty: the tariff's)") from None


def _count(text: str, name: str, unit: str) -> int:
    if not text:
        return 0
    if not is_digits(text):
        raise RatingError(f"{name} {text!r} must be a whole number of {unit}, e.g. 5")
    return int(text)


def _weight(text: str) -> int:
    if not text:
        return 0
    if not _INTEGER.match(text):
        raise RatingError(f"weight {text!r} must be a whole number (higher wins among overlapping rates), e.g. 10")
    return int(text)
