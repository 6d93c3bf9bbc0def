"""Tariffs and rates: rows to rating values and back."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from datetime import date, time
from functools import lru_cache
from operator import attrgetter
from types import SimpleNamespace
from typing import NamedTuple

from sqlalchemy import Connection, Select, and_, bindparam, select
from sqlalchemy.exc import NoResultFound

from asteriskbill.rating.model import ALL_WEEKDAYS, IntervalGroup, Rate, Tariff
from asteriskbill.store.models import Holiday, RateRevision, RateRow
from asteriskbill.store.models import Tariff as TariffRow
from asteriskbill.store.rawsql import RawSelect, day

RATE_COLUMNS = [c.name for c in RateRow.__table__.columns if c.name not in ("id", "tariff_id", "revision")]
ALL_WEEKDAYS_MASK = 127


def encode_groups(groups: Iterable[IntervalGroup]) -> str:
    return ";".join(f"{g.start}:{g.price}:{g.increment}:{g.unit}" for g in groups)


@lru_cache(maxsize=4096)  # a tariff's rates share few interval texts: each is decoded once
def decode_groups(text: str) -> tuple[IntervalGroup, ...]:
    return tuple(IntervalGroup(*map(int, part.split(":"))) for part in text.split(";"))


def weekdays_mask(weekdays: frozenset[int]) -> int:
    return sum(1 << day for day in weekdays)


def _minutes(value: time | None) -> int | None:
    return None if value is None else value.hour * 60 + value.minute


# Shared by every rate that has them (1M rates in serve's memory): the weekday sets of each mask, the times of day.
_WEEKDAY_SETS = tuple(
    ALL_WEEKDAYS if mask == ALL_WEEKDAYS_MASK else frozenset(d for d in range(7) if mask >> d & 1)
    for mask in range(ALL_WEEKDAYS_MASK + 1)
)
_CLOCKS = tuple(time(minutes // 60, minutes % 60) for minutes in range(24 * 60))


def _clock(minutes: int | None) -> time | None:
    return None if minutes is None else _CLOCKS[minutes]


def rate_values(rate: Rate) -> dict:
    """The column values of a rate row (without its tariff)."""
    return {
        "prefix": rate.prefix,
        "destination": rate.destination,
        "intervals": encode_groups(rate.groups),
        "connect_fee": rate.connect_fee,
        "grace": rate.grace,
        "weekdays": weekdays_mask(rate.weekdays),
        "time_from": _minutes(rate.time_from),
        "time_to": _minutes(rate.time_to),
        "date_from": rate.date_from,
        "date_to": rate.date_to,
        "buy_price": rate.buy_price,
        "buy_currency": rate.buy_currency,
        "weight": rate.weight,
    }


# RATE_COLUMNS positions in a row, for the shadowing rule on raw rows
PREFIX, WEEKDAYS, TIME_FROM, DATE_FROM, DATE_TO = map(
    RATE_COLUMNS.index, ("prefix", "weekdays", "time_from", "date_from", "date_to")
)
_row_values = attrgetter(*RATE_COLUMNS)


class Shared:
    """Equal interval texts and destinations of many rates decoded once and kept as one object (1M rates in
    serve's memory share a few thousand)."""

    def __init__(self) -> None:
        self._groups: dict[str, tuple[IntervalGroup, ...]] = {}
        self._texts: dict[str, str] = {}

    def groups(self, text: str) -> tuple[IntervalGroup, ...]:
        found = self._groups.get(text)
        if found is None:
            found = self._groups[text] = decode_groups.__wrapped__(text)
        return found

    def text(self, value: str) -> str:
        return self._texts.setdefault(value, value)


def rate_of(values: Sequence, shared: Shared | None = None) -> Rate:
    """A rating value from a row's values in RATE_COLUMNS order (a date as a date or, from SQLite's driver, text)."""
    (
        prefix,
        destination,
        intervals,
        connect_fee,
        grace,
        weekdays,
        time_from,
        time_to,
        date_from,
        date_to,
        buy_price,
        buy_currency,
        weight,
    ) = values
    if shared is not None:
        destination = shared.text(destination)
    return Rate(
        prefix=prefix,
        destination=destination,
        groups=decode_groups(intervals) if shared is None else shared.groups(intervals),
        connect_fee=connect_fee,
        grace=grace,
        weekdays=_WEEKDAY_SETS[weekdays],
        time_from=_clock(time_from),
        time_to=_clock(time_to),
        date_from=day(date_from),
        date_to=day(date_to),
        buy_price=buy_price,
        buy_currency=buy_currency,
        weight=weight,
    )


def rate_from_row(row) -> Rate:
    """A rating value from a row holding RATE_COLUMNS (by name)."""
    return rate_of(_row_values(row))


def tariff_row(conn: Connection, name: str):
    return conn.execute(select(TariffRow.__table__).where(TariffRow.name == name)).one_or_none()


_TARIFF_AND_HOLIDAYS = RawSelect(
    select(
        TariffRow.name,
        TariffRow.currency,
        TariffRow.rounding,
        TariffRow.timezone,
        TariffRow.rates_revision,
        TariffRow.routing_group_id,
        Holiday.day,
        Holiday.weekday,
    )
    .outerjoin(Holiday, Holiday.tariff_id == TariffRow.id)
    .where(TariffRow.id == bindparam("tariff_id")),
    "tariff_id",
)


class TariffEntry(NamedTuple):
    """A tariff as authorization reads it (serve's catalog keeps it in memory)."""

    tariff: Tariff  # with its holidays
    revision: int  # of its rates, the one last switched in
    routing_group_id: int | None  # the routing group of the calls it rates (of accounts and companies without one)


def load_tariff(conn: Connection, tariff_id: int) -> Tariff:
    return tariff_entry(conn, tariff_id).tariff


def tariff_entry(conn: Connection, tariff_id: int) -> TariffEntry:
    """The tariff, its rates' revision and its routing group: one query."""
    rows = _TARIFF_AND_HOLIDAYS.rows(conn, tariff_id)
    if not rows:
        raise NoResultFound(f"no tariff {tariff_id}")
    name, currency, rounding, timezone, revision, group_id = rows[0][:6]
    holidays = {day(row[6]): row[7] for row in rows if row[6] is not None}
    tariff = Tariff(name=name, currency=currency, rounding=rounding, timezone=timezone, holidays=holidays)
    return TariffEntry(tariff, revision, group_id)


def number_prefixes(number: str) -> list[str]:
    return [number[:n] for n in range(len(number), 0, -1)]


def rates_for_number(conn: Connection, tariff_id: int, number: str, *, shadowed: bool = False) -> list[Rate]:
    """The rates of the tariff whose prefix begins ``number``, in id order (equal rates: the first wins).

    Unless ``shadowed``, the rates of prefixes shorter than one with a rate valid at every moment are
    left out: that longer prefix wins at every moment, so they can never price the call, and
    building them was most of the time of a lookup.
    """
    prefixes = number_prefixes(number)
    rows = _rates_query(len(prefixes)).rows(conn, tariff_id, *prefixes)
    return [_cached_rate(row) for row in (rows if shadowed else unshadowed(rows))]


# The rates a server prices most are looked up again and again: each row (its whole content) is built once.
_cached_rate = lru_cache(maxsize=8192)(rate_of)


def unshadowed(rows: Sequence[Sequence]) -> list:
    """``rows`` (RATE_COLUMNS order) but those of prefixes shorter than one with a rate valid at every moment."""
    floor = 0
    for row in rows:
        if len(row[PREFIX]) > floor and always_valid(row):
            floor = len(row[PREFIX])
    return [row for row in rows if len(row[PREFIX]) >= floor]


def always_valid(row: Sequence) -> bool:
    return (
        row[WEEKDAYS] == ALL_WEEKDAYS_MASK
        and row[TIME_FROM] is None
        and row[DATE_FROM] is None
        and row[DATE_TO] is None
    )


@lru_cache(maxsize=64)
def _rates_query(count: int) -> RawSelect:
    """One statement per number of prefixes, compiled once: an expanding IN is rendered again on every call."""
    table = RateRow.__table__
    return RawSelect(
        in_effect(select(*[table.c[name] for name in RATE_COLUMNS]))
        .where(
            table.c.tariff_id == bindparam("tariff_id"), table.c.prefix.in_([bindparam(f"p{i}") for i in range(count)])
        )
        .order_by(table.c.id),
        "tariff_id",
        *[f"p{i}" for i in range(count)],
    )


def in_effect(query: Select) -> Select:
    """``query`` over rates, limited to those in effect: of a revision switched in (RateRevision), so never
    the rows of an import still running or one that never finished, nor those one with --replace retired."""
    return query.join(
        RateRevision, and_(RateRevision.tariff_id == RateRow.tariff_id, RateRevision.revision == RateRow.revision)
    )


def snapshot(tariff: Tariff, rates: Iterable[Rate]) -> str:
    """The tariff and rates that priced a call, as JSON kept with its reservation. In `serve` the catalog hands
    every call to a destination the same objects: their JSON is made once (kept by identity, the objects held so
    that no other object can take their ids while they are kept)."""
    rates = tuple(rates)
    key = (id(tariff), *map(id, rates))
    kept = _SNAPSHOTS.get(key)
    if kept is not None and kept[0] is tariff and all(a is b for a, b in zip(kept[1], rates, strict=True)):
        return kept[2]
    text = _snapshot(tariff, rates)
    if len(_SNAPSHOTS) >= _SNAPSHOTS_KEPT:
        _SNAPSHOTS.clear()
    _SNAPSHOTS[key] = (tariff, rates, text)
    return text


_SNAPSHOTS: dict[tuple[int, ...], tuple[Tariff, tuple[Rate, ...], str]] = {}
_SNAPSHOTS_KEPT = 4096


def _snapshot(tariff: Tariff, rates: tuple[Rate, ...]) -> str:
    return json.dumps(
        {
            "tariff": {
                "name": tariff.name,
                "currency": tariff.currency,
                "rounding": tariff.rounding,
                "timezone": tariff.timezone,
                "holidays": {d.isoformat(): w for d, w in tariff.holidays.items()},
            },
            "rates": [rate_values(rate) for rate in rates],
        },
        default=str,
    )


def from_snapshot(text: str) -> tuple[Tariff, list[Rate]]:
    data = json.loads(text)
    t = data["tariff"]
    tariff = Tariff(
        t["name"],
        t["currency"],
        t["rounding"],
        t["timezone"],
        {date.fromisoformat(d): w for d, w in t["holidays"].items()},
    )
    rates = []
    for values in data["rates"]:
        for key in ("date_from", "date_to"):
            values[key] = values[key] and date.fromisoformat(values[key])
        rates.append(rate_from_row(SimpleNamespace(**values)))
    return tariff, rates
