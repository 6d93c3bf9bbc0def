"""Parameter types shared by the command groups."""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Any

import click

from asteriskbill.billing.periods import PeriodError, parse_moment
from asteriskbill.money import MoneyError, parse_amount


class Amount(click.ParamType[int]):
    """A decimal amount in the main unit ("10.50"), converted to integer micro-units."""

    name = "amount"

    def __init__(self, negative: bool = False):
        self.negative = negative

    def convert(self, value: str | int, param: click.Parameter | None, ctx: click.Context | None) -> int:
        if isinstance(value, int):
            return value
        try:
            return parse_amount(value, negative=self.negative)
        except MoneyError as exc:
            self.fail(str(exc), param, ctx)


class Whole(click.IntRange):
    """A whole number in digits 0-9, optionally within a range: click's int() would also read other
    scripts' digits ("١٢٠" as 120) and "1_000"."""

    _DIGITS = re.compile(r"[+-]?[0-9]+")

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if isinstance(value, str) and not self._DIGITS.fullmatch(value.strip()):
            self.fail(f"{value!r} is not a whole number in digits 0-9", param, ctx)
        return super().convert(value, param, ctx)


class IsoDate(click.ParamType[date]):
    name = "date"

    def convert(self, value: str | date, param: click.Parameter | None, ctx: click.Context | None) -> date:
        if isinstance(value, date):
            return value
        try:
            return date.fromisoformat(value)
        except ValueError:
            self.fail(f"{value!r} is not a date like 2026-12-25", param, ctx)


class IsoDateTime(click.ParamType[datetime]):
    name = "datetime"

    def convert(self, value: str | datetime, param: click.Parameter | None, ctx: click.Context | None) -> datetime:
        if isinstance(value, datetime):
            return value
        try:
            return datetime.fromisoformat(value)
        except ValueError:
            self.fail(f"{value!r} is not a date and time like 2026-12-25T18:30 or 2026-12-25T18:30+02:00", param, ctx)


AMOUNT = Amount()
SIGNED_AMOUNT = Amount(negative=True)
DATE = IsoDate()
DATETIME = IsoDateTime()


class IsoMoment(click.ParamType[date | datetime]):
    """A day (2026-12-25) or a moment (2026-12-25T18:30, with or without an offset), kept as given:
    a report period reads a day alone as all of it (billing/periods.py)."""

    name = "date|datetime"

    def convert(self, value: str | date, param: click.Parameter | None, ctx: click.Context | None) -> date | datetime:
        if isinstance(value, date):  # a datetime is a date too
            return value
        try:
            return parse_moment(value)
        except PeriodError as exc:
            self.fail(str(exc), param, ctx)


MOMENT = IsoMoment()

CLEAR = ""  # what an option of an `edit` command is given to clear its setting


class Clearable(click.ParamType[Any]):
    """``inner``'s value, or '' (CLEAR) to clear the setting: `accounts edit --max-calls ''` lifts the limit."""

    def __init__(self, inner: click.ParamType[Any]) -> None:
        self.inner = inner
        self.name = inner.name

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if isinstance(value, str) and not value.strip():
            return CLEAR
        return self.inner.convert(value, param, ctx)
