"""Tariffs and rates: rows to rating values and back."""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import date, time
from functools import lru_cache
from types import SimpleNamespace

from sqlalchemy import Connection, Select, and_, bindparam, select

from asteriskbill.rating.model import ALL_WEEKDAYS, IntervalGroup, Rate, Tariff
from asteriskbill.store.models import Holiday, RateRevision, RateRow
from asteriskbill.store.models import Tariff as TariffRow

RATE_COLUMNS = [c.name for c in RateRow.__table__.columns if c.name not in ("id", "tariff_id", "revision")]
ALL_WEEKDAYS_MASK = 127


def encode_groups(groups: Iterable[IntervalGroup]) -> str:
    return ";".join(f"{g.start}:{g.price}:{g.increment}:{g.unit}" for g in groups)


def decode_groups(text: str) -> tuple[IntervalGroup, ...]:
    return tuple(IntervalGroup(*map(int, part.split(":"))) for part in text.split(";"))


def weekdays_mask(weekdays: frozenset[int]) -> int:
    return sum(1 << day for day in weekdays)


def _minutes(value: time | None) -> int | None:
    return None if value is None else value.hour * 60 + value.minute


def _clock(minutes: int | None) -> time | None:
    return None if minutes is None else time(minutes // 60, minutes % 60)


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


def rate_from_row(row) -> Rate:
    """A rating value from a row holding RATE_COLUMNS."""
    mask = row.weekdays
    return Rate(
        prefix=row.prefix,
        destination=row.destination,
        groups=decode_groups(row.intervals),
        connect_fee=row.connect_fee,
        grace=row.grace,
        weekdays=ALL_WEEKDAYS if mask == ALL_WEEKDAYS_MASK else frozenset(d for d in range(7) if mask >> d & 1),
        time_from=_clock(row.time_from),
        time_to=_clock(row.time_to),
        date_from=row.date_from,
        date_to=row.date_to,
        buy_price=row.buy_price,
        buy_currency=row.buy_currency,
        weight=row.weight,
    )


def tariff_row(conn: Connection, name: str):
    return conn.execute(select(TariffRow.__table__).where(TariffRow.name == name)).one_or_none()


# Built once: a statement object memoizes its cache key, so authorizations do not rebuild it every call.
_TARIFF_BY_ID = select(TariffRow.__table__).where(TariffRow.id == bindparam("tariff_id"))
_HOLIDAYS = select(Holiday.day, Holiday.weekday).where(Holiday.tariff_id == bindparam("tariff_id"))


def tariff_by_id(conn: Connection, tariff_id: int):
    return conn.execute(_TARIFF_BY_ID, {"tariff_id": tariff_id}).one()


def load_tariff(conn: Connection, row) -> Tariff:
    holidays = conn.execute(_HOLIDAYS, {"tariff_id": row.id}).tuples().all()
    return Tariff(
        name=row.name,
        currency=row.currency,
        rounding=row.rounding,
        timezone=row.timezone,
        holidays=dict(holidays),
    )


def number_prefixes(number: str) -> list[str]:
    return [number[:n] for n in range(len(number), 0, -1)]


def rates_for_number(conn: Connection, tariff_id: int, number: str, *, shadowed: bool = False) -> list[Rate]:
    """The rates of the tariff whose prefix begins ``number``, in id order (equal rates: the first wins).

    Unless ``shadowed``, the rates of prefixes shorter than one with a rate valid at every moment are
    left out: that longer prefix wins at every moment, so they can never price the call, and
    building them was most of the time of a lookup.
    """
    prefixes = number_prefixes(number)
    rows = conn.execute(
        _rates_query(len(prefixes)), {"tariff_id": tariff_id, **{f"p{i}": p for i, p in enumerate(prefixes)}}
    ).all()
    floor = 0 if shadowed else max((len(row.prefix) for row in rows if _always_valid(row)), default=0)
    return [rate_from_row(row) for row in rows if len(row.prefix) >= floor]


@lru_cache(maxsize=64)
def _rates_query(count: int) -> Select:
    """One statement per number of prefixes, compiled once: an expanding IN is rendered again on every call."""
    table = RateRow.__table__
    return (
        in_effect(select(*[table.c[name] for name in RATE_COLUMNS]))
        .where(
            table.c.tariff_id == bindparam("tariff_id"), table.c.prefix.in_([bindparam(f"p{i}") for i in range(count)])
        )
        .order_by(table.c.id)
    )


def in_effect(query: Select) -> Select:
    """``query`` over rates, limited to those in effect: of a revision switched in (RateRevision), so never
    the rows of an import still running or one that never finished, nor those one with --replace retired."""
    return query.join(
        RateRevision, and_(RateRevision.tariff_id == RateRow.tariff_id, RateRevision.revision == RateRow.revision)
    )


def _always_valid(row) -> bool:
    return row.weekdays == ALL_WEEKDAYS_MASK and row.time_from is None and row.date_from is None and row.date_to is None


def snapshot(tariff: Tariff, rates: Iterable[Rate]) -> str:
    """The tariff and rates that priced a call, as JSON kept with its reservation."""
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
