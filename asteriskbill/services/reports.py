"""Figures for the console's charts and dashboard: calls and money per hour or day as the operator's clock shows
them, per call class, and today's with its recharges.

The sums are the statistics' own (cdrs.totals_by), so a chart and `asteriskbill cdr stats` agree to the
micro-unit, late currency conversions included; the tables per company, account or gateway are cdrs.stats.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo

from sqlalchemy import BigInteger, Connection, Engine, Integer, cast, extract, func, literal_column, select

from asteriskbill.billing.ledger import RECHARGE
from asteriskbill.billing.numbers import CALL_CLASSES
from asteriskbill.billing.periods import check_period, preset
from asteriskbill.errors import UserError
from asteriskbill.services.cdrs import Filters, Totals, totals_by
from asteriskbill.store.engine import reading
from asteriskbill.store.models import Account, Cdr, LedgerEntry
from asteriskbill.store.types import utcnow

STEPS = {"hour": timedelta(hours=1), "day": timedelta(days=1)}
MAX_BUCKETS = 10_000  # a chart's points: over a year of hours, decades of days


@dataclass(frozen=True)
class Figures:
    """Calls and money of some CDRs, per their currency (Totals: buy cost and margin over the calls that have one)."""

    currencies: dict[str, Totals]

    @property
    def calls(self) -> int:
        return sum(totals.calls for totals in self.currencies.values())

    @property
    def answered(self) -> int:
        return sum(totals.answered for totals in self.currencies.values())

    @property
    def billed_seconds(self) -> int:
        return sum(totals.seconds for totals in self.currencies.values())

    @property
    def minutes(self) -> str:
        """All currencies' billed minutes, rounded as Totals.minutes rounds them (minutes need no exchange rate)."""
        return sum(self.currencies.values(), Totals()).minutes

    @property
    def takings(self) -> dict[str, int]:
        return {code: totals.cost for code, totals in self.currencies.items()}

    @property
    def buy_cost(self) -> dict[str, int | None]:
        return {code: totals.buy_cost for code, totals in self.currencies.items()}

    @property
    def margin(self) -> dict[str, int | None]:
        return {code: totals.margin for code, totals in self.currencies.items()}


@dataclass(frozen=True)
class Bucket(Figures):
    start: datetime  # the hour's or day's first moment, in the zone (its UTC offset tells a repeated hour apart)


@dataclass(frozen=True)
class Today(Figures):
    since: datetime  # the zone's midnight (UTC)
    until: datetime  # the next one
    recharges: dict[str, int]  # per account currency


def series(engine: Engine, f: Filters, every: str, zone: tzinfo) -> list[Bucket]:
    """The CDRs ``f`` chooses per hour or day of its period on ``zone``'s clock, empty ones included: where summer
    time starts or ends, a day has 23 or 25 hours. The first bucket is the one ``f.since`` falls in."""
    if every not in STEPS:
        raise UserError(f"a chart goes by hour or day, not {every!r}")
    if f.since is None or f.until is None:
        raise UserError("a chart needs a period: give since and until")
    check_period(f.since, f.until)
    if (f.until - f.since) / STEPS[every] > MAX_BUCKETS:
        raise UserError(f"too many {every}s for one chart (at most {MAX_BUCKETS:,}): choose a shorter period")
    starts = _starts(f.since, f.until, every, zone)
    edges = [int(start.timestamp()) // 60 for start in starts]
    buckets: list[dict[str, Totals]] = [{} for _ in starts]
    with reading(engine) as conn:
        found = totals_by(conn, f, (_minute(conn), Cdr.currency), accounts=False)
    for (minute, currency), totals in sorted(found.items()):
        sums = buckets[bisect_right(edges, minute) - 1]
        sums[currency] = sums.get(currency, Totals()) + totals
    return [Bucket(sums, start.astimezone(zone)) for start, sums in zip(starts, buckets, strict=True)]


def _starts(since: datetime, until: datetime, every: str, zone: tzinfo) -> list[datetime]:
    """The UTC moments each hour or day of ``zone``'s clock begins, from the one ``since`` is in to ``until``; a day
    begins at its midnight, or at the change that skipped it."""
    first = since.astimezone(zone).date()
    days = [first + timedelta(days=n) for n in range((until.astimezone(zone).date() - first).days + 1)]
    if every == "day":
        moments = [datetime.combine(day, time(), zone) for day in days]
    else:
        moments = [moment for day in days for moment in _hours(day, zone)]
    utc = sorted({moment.astimezone(UTC) for moment in moments})
    return utc[bisect_right(utc, since) - 1 : bisect_left(utc, until)]


def _hours(day: date, zone: tzinfo) -> Iterator[datetime]:
    """The starts of the day's hours on the clock. An hour shown twice starts twice (fold 1: the second time); an
    hour the clock skips reads as the start of the next (its fold 0 moment), a duplicate the caller drops."""
    for hour in range(24):
        yield datetime.combine(day, time(hour), zone)
        again = datetime.combine(day, time(hour, fold=1), zone)
        if again.astimezone(UTC).astimezone(zone).replace(tzinfo=None) == again.replace(tzinfo=None):
            yield again  # shown: the second reading of a repeated hour, else the same moment as fold 0


def _minute(conn: Connection):
    """The minute a CDR started, counted in UTC from 1970: every zone's hours and days are whole minutes of UTC
    (their offsets are), so the database sums a period into one row per minute at most. Literal constants:
    PostgreSQL must see the same expression in SELECT and GROUP BY."""
    if conn.dialect.name == "sqlite":  # started_at is UTC text there: 2026-11-30 21:00:00.000000
        return cast(func.strftime(literal_column("'%s'"), Cdr.started_at), Integer) // literal_column("60", Integer)
    return cast(func.floor(extract("epoch", Cdr.started_at) / literal_column("60")), BigInteger)


def by_class(engine: Engine, f: Filters) -> dict[str, dict[str, Totals]]:
    """Per currency, the CDRs' totals per call class: local, national, international (every one, in this order)."""
    with reading(engine) as conn:
        found = totals_by(conn, f, (Cdr.currency, Cdr.call_class), accounts=False)
    classes: dict[str, dict[str, Totals]] = {}
    for (currency, call_class), totals in sorted(found.items()):
        classes.setdefault(currency, dict.fromkeys(CALL_CLASSES, Totals()))[call_class] = totals
    return classes


def today(engine: Engine, zone: tzinfo, now: datetime | None = None) -> Today:
    """Today's calls and recharges, from the zone's midnight to the next."""
    since, until = preset("today", zone, now or utcnow())
    with reading(engine) as conn:
        found = totals_by(conn, Filters(since=since, until=until), (Cdr.currency,), accounts=False)
        recharges = conn.execute(
            select(Account.currency, func.sum(LedgerEntry.amount))
            .join(Account, Account.id == LedgerEntry.account_id)
            .where(LedgerEntry.kind == RECHARGE, LedgerEntry.created_at >= since, LedgerEntry.created_at < until)
            .group_by(Account.currency)
        ).all()
    currencies = {currency: totals for (currency,), totals in sorted(found.items())}
    return Today(currencies, since, until, {currency: int(amount) for currency, amount in sorted(recharges)})
