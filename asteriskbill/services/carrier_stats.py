"""Statistics per vendor and per trunk (`asteriskbill cdr stats --by vendor|trunk`): the Dial attempts each took and
how many were answered (ASR), the calls it carried with their billed minutes and average answered call (ACD), what
they sold for, what buying them cost and the margin.

Two GROUP BYs over the CDRs the filters choose. One sums the CDRs per trunk (or vendor) that carried them, as every
statistic sums them (cdrs.totals_by): amounts in the tariff's currency, a buy cost that settlement left in a vendor's
currency converted with the rate of its day if one has been set since, else counted in ``no_rate``. The other counts
their call_attempts per trunk tried: a call that failed over counts as an attempt on each trunk it tried, and
carried on the last. Calls routed by the routes table have no trunk and no attempts: they make one row of their own
(key None, shown as ROUTES_TABLE), so calls, minutes and money add up to those of `cdr stats`. An attempt on a trunk
deleted since has no trunk either, and counts in that row.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import Connection, Engine, Select, case, func, select

from asteriskbill.billing.settle import ANSWER, CARRIER_STATS_BY
from asteriskbill.errors import UserError
from asteriskbill.services.cdrs import Filters, Totals, filtered, totals_by
from asteriskbill.store.engine import reading
from asteriskbill.store.models import CallAttempt, Cdr, Trunk, Vendor

ROUTES_TABLE = "(routes table)"  # the row of the calls no trunk carried


@dataclass(frozen=True)
class CarrierRow:
    key: str | None  # the vendor or the trunk; None: the routes table
    vendor: str | None  # the trunk's vendor (by trunk only)
    currency: str  # the tariff's, which every amount of the row is in
    attempts: int  # Dial attempts on the trunk (the vendor's trunks)
    answered: int  # of those, the ones answered
    total: Totals  # the calls it carried

    @property
    def asr(self) -> str | None:
        """Answered attempts per hundred, to the tenth, rounded half up in integers: 1 of 3 -> "33.3"; None when
        there was no attempt."""
        if not self.attempts:
            return None
        tenths = (self.answered * 2000 + self.attempts) // (2 * self.attempts)
        return f"{tenths // 10}.{tenths % 10}"

    @property
    def acd_seconds(self) -> int | None:
        """Billed seconds per answered call carried, rounded half up to the second; None when none was answered."""
        answered = self.total.answered
        return (2 * self.total.seconds + answered) // (2 * answered) if answered else None

    @property
    def acd(self) -> str | None:
        """The ACD as minutes and seconds: 95 -> "01:35" (past 99 minutes, more digits)."""
        seconds = self.acd_seconds
        return None if seconds is None else f"{seconds // 60:02d}:{seconds % 60:02d}"


Join = Callable[[Select], Select]


def _trunk_of(trunk_id) -> Join:
    """The trunk ``trunk_id`` names and that trunk's vendor, joined (none for a call routed by the routes table)."""
    return lambda query: query.outerjoin(Trunk, Trunk.id == trunk_id).outerjoin(Vendor, Vendor.id == Trunk.vendor_id)


# by: (the keys, the joins they need on a CDR, on an attempt). A CDR's vendor is the one its buy cost is of.
_GROUPS: dict[str, tuple[tuple, Join, Join]] = {
    "vendor": (
        (Vendor.name,),
        lambda query: query.outerjoin(Vendor, Vendor.id == Cdr.vendor_id),
        _trunk_of(CallAttempt.trunk_id),
    ),
    "trunk": ((Trunk.name, Vendor.name), _trunk_of(Cdr.trunk_id), _trunk_of(CallAttempt.trunk_id)),
}


def stats(engine: Engine, f: Filters, by: str) -> list[CarrierRow]:
    """Per vendor or trunk and tariff currency: attempts, answered attempts and the totals of the calls carried;
    by name, the routes table's row last."""
    if by not in CARRIER_STATS_BY:
        raise UserError(f"cannot group carrier statistics by {by!r}: use one of {', '.join(CARRIER_STATS_BY)}")
    groups, carried, tried = _GROUPS[by]
    with reading(engine) as conn:
        calls = totals_by(conn, f, (*groups, Cdr.currency), carried, accounts=False)
        attempts = _attempts(conn, f, groups, tried)
    rows = [
        CarrierRow(
            key[0], key[1] if by == "trunk" else None, key[-1], *attempts.get(key, (0, 0)), calls.get(key, Totals())
        )
        for key in calls.keys() | attempts.keys()
    ]
    return sorted(rows, key=lambda row: (row.key is None, row.key or "", row.currency))


def _attempts(conn: Connection, f: Filters, groups: tuple, tried: Join) -> dict[tuple, tuple[int, int]]:
    """(attempts, answered ones) per ``groups`` and currency, of the CDRs ``f`` chooses."""
    answered = func.sum(case((CallAttempt.dialstatus == ANSWER, 1), else_=0))
    query = select(*groups, Cdr.currency, func.count(), answered).select_from(CallAttempt)
    query = tried(query.join(Cdr, Cdr.id == CallAttempt.cdr_id)).group_by(*groups, Cdr.currency)
    return {tuple(key): (count, int(yes)) for *key, count, yes in conn.execute(filtered(conn, query, f))}
