"""Currency rates: set one from a date on, list them, and convert amounts with the rate valid on a day.

Rates live in the database (``currency_rates``); the arithmetic is billing/currency.py's.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import Connection, Engine, func, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import aliased

from asteriskbill.billing.currency import ExchangeRate, call_day, convert, parse_pair, rate_on
from asteriskbill.errors import UserError
from asteriskbill.money import format_amount
from asteriskbill.services import audit
from asteriskbill.store.engine import reading
from asteriskbill.store.models import Account, CurrencyRate, Tariff

_COLUMNS = (CurrencyRate.base, CurrencyRate.quote, CurrencyRate.rate, CurrencyRate.valid_from)


@dataclass(frozen=True)
class RateSet:
    rate: ExchangeRate
    replaced: int | None  # the rate this pair had for that very date before (a correction)


def set_rate(engine: Engine, operator: str, base: str, quote: str, rate: int, valid_from: date) -> RateSet:
    """1 ``base`` = ``rate`` micro-units of ``quote`` from ``valid_from`` until the pair's next rate.

    A rate for a date that has one already replaces it (a correction), and the audit log keeps both.
    """
    base, quote = parse_pair(base, quote)
    if rate <= 0:
        raise UserError("a rate must be more than 0")
    key = (CurrencyRate.base == base, CurrencyRate.quote == quote, CurrencyRate.valid_from == valid_from)
    try:
        with engine.begin() as conn:
            replaced = conn.execute(select(CurrencyRate.rate).where(*key).with_for_update()).scalar()
            if replaced is None:
                conn.execute(insert(CurrencyRate).values(base=base, quote=quote, rate=rate, valid_from=valid_from))
            else:
                conn.execute(update(CurrencyRate).where(*key).values(rate=rate))
            audit.record(
                conn,
                operator,
                "currency.rate",
                f"{base} {quote}",
                {
                    "rate": format_amount(rate),
                    "valid_from": valid_from.isoformat(),
                    "replaced": None if replaced is None else format_amount(replaced),
                },
            )
    except IntegrityError:  # another operator set the same pair and date at this moment
        raise UserError(f"a {base} {quote} rate for {valid_from} was set meanwhile: run again to replace it") from None
    return RateSet(ExchangeRate(base, quote, rate, valid_from), replaced)


def list_rates(engine: Engine) -> list[ExchangeRate]:
    """Every rate by pair, oldest first."""
    with reading(engine) as conn:
        rows = conn.execute(select(*_COLUMNS).order_by(*_COLUMNS[:2], CurrencyRate.valid_from)).all()
    return [ExchangeRate(*row) for row in rows]


def valid_until(rates: list[ExchangeRate]) -> list[tuple[ExchangeRate, date | None]]:
    """Each rate of ``list_rates`` with the last day it is valid: the day before its pair's next rate (None:
    until the pair has a next one)."""
    following: list[ExchangeRate | None] = [*rates[1:], None]
    found: list[tuple[ExchangeRate, date | None]] = []
    for rate, after in zip(rates, following[: len(rates)], strict=True):
        if after is not None and (after.base, after.quote) == (rate.base, rate.quote):
            found.append((rate, after.valid_from - timedelta(days=1)))
        else:
            found.append((rate, None))
    return found


class Converter:
    """Conversions inside one transaction; each pair's rates are read once (a pair has few)."""

    def __init__(self, conn: Connection):
        self.conn = conn
        self._pairs: dict[tuple[str, str], list[ExchangeRate]] = {}

    def rate(self, base: str, quote: str, day: date) -> ExchangeRate | None:
        """The ``base`` -> ``quote`` rate valid on ``day``; None when the pair has none by then."""
        if (base, quote) not in self._pairs:
            rows = self.conn.execute(select(*_COLUMNS).where(CurrencyRate.base == base, CurrencyRate.quote == quote))
            self._pairs[base, quote] = [ExchangeRate(*row) for row in rows]
        return rate_on(self._pairs[base, quote], day)

    def convert(self, amount: int, base: str, quote: str, day: date) -> int | None:
        """``amount`` of ``base`` in ``quote`` at the rate valid on ``day``; None without one."""
        if base == quote:
            return amount
        found = self.rate(base, quote, day)
        return None if found is None else convert(amount, found.rate)


_parent = aliased(Account)
_ZONE = (
    select(Tariff.timezone)
    .select_from(Account)
    .outerjoin(_parent, _parent.id == Account.parent_id)
    .join(Tariff, Tariff.id == func.coalesce(Account.tariff_id, _parent.tariff_id))
)


class LateConversions:
    """Buy costs that settlement kept in a vendor's currency, because no rate was known for the call's
    day then, converted in a report with the rate valid on that day if the operator has set one since.

    The call's day is read in the time zone of the account's tariff now (its own, else its company's).
    """

    def __init__(self, conn: Connection):
        self.conn = conn
        self.converter = Converter(conn)
        self._zones: dict[str, str] = {}

    def convert(self, account: str, started_at: datetime, amount: int, bought: str, currency: str) -> int | None:
        """``amount`` of ``bought`` in ``currency``; None while no rate is known for the call's day."""
        if account not in self._zones:
            zone = self.conn.execute(_ZONE.where(Account.name == account)).scalar()
            self._zones[account] = zone or "UTC"
        return self.converter.convert(amount, bought, currency, call_day(started_at, self._zones[account]))


def rate_valid_on(engine: Engine, base: str, quote: str, day: date) -> ExchangeRate:
    """The rate valid on ``day``, or an error that says which rate to set."""
    base, quote = parse_pair(base, quote)
    with reading(engine) as conn:
        found = Converter(conn).rate(base, quote, day)
    if found is None:
        raise UserError(
            f"no {base} {quote} rate on {day}: set one with "
            f"`asteriskbill currency set-rate {base} {quote} RATE --date {day}`"
        )
    return found
