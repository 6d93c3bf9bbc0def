"""Currencies (pure): exchange rates valid from a date, and converting amounts with them.

A rate ``USD BGN 1.79`` says that 1 USD is 1.79 BGN, from its date until the pair's next rate. It is
kept as integer micro-units of the quote currency per unit of the base currency (1_790_000).

Only the pair in the direction asked converts: BGN -> USD needs a ``BGN USD`` rate. The inverse of
``USD BGN`` is not assumed, because an operator's two directions are two prices (a buying and a
selling rate) and 1/1.79 has no exact decimal form anyway.

A call converts with the rate valid on its day: the date its start has in its tariff's time zone,
the same local day that chose its rates.

Rounding: a converted amount is the exact product rounded to the nearest micro-unit, a half
micro-unit away from zero. Micro-units are a ten-thousandth of a cent, so the direction of the last
half never matters to money, but it is fixed so that every report computes the same figure.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from asteriskbill.money import MICRO, MoneyError, parse_amount, parse_currency


@dataclass(frozen=True)
class ExchangeRate:
    base: str
    quote: str
    rate: int  # micro-units of quote per unit of base
    valid_from: date


def parse_rate(text: str) -> int:
    """A rate as an operator types it ("1.79", up to 6 decimals), in micro-units; zero is refused."""
    rate = parse_amount(text, what="rate")
    if rate == 0:
        raise MoneyError(f"rate {text!r} must be more than 0")
    return rate


def parse_pair(base: str, quote: str) -> tuple[str, str]:
    """Two different currency codes."""
    pair = parse_currency(base), parse_currency(quote)
    if pair[0] == pair[1]:
        raise MoneyError(f"a rate converts between two currencies, not {pair[0]} into itself")
    return pair


def convert(amount: int, rate: int) -> int:
    """``amount`` micro-units of a base currency in micro-units of the quote, at ``rate``."""
    whole, rest = divmod(abs(amount) * rate, MICRO)
    rounded = whole + (2 * rest >= MICRO)
    return rounded if amount >= 0 else -rounded


def rate_on(rates: Iterable[ExchangeRate], day: date) -> ExchangeRate | None:
    """The rate valid on ``day``: the latest that starts on or before it (``rates`` of one pair)."""
    return max((r for r in rates if r.valid_from <= day), key=lambda r: r.valid_from, default=None)


def call_day(started_at: datetime, timezone: str) -> date:
    """The day whose currency rate a call uses: its start's date in its tariff's time zone."""
    return started_at.astimezone(ZoneInfo(timezone)).date()
