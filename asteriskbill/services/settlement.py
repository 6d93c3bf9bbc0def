"""Settlement: a finished call becomes one CDR, one ledger charge and a closed reservation (lifecycle.settle).

Idempotent on BILL_SESSION: the reservation row is locked first, and a reservation that is no
longer open (or a CDR that exists) means the call was settled already, whatever repeats the events.
The call is priced from the snapshot its authorization kept, over the same horizon, so its cost can
never exceed the credit the reservation held.

The buy cost is stored in the CDR's currency, converted from a vendor's currency with the rate valid
on the call's day, so that margin = cost - buy cost everywhere. When no rate is known for that day
yet, the CDR keeps the unconverted amount with its currency (``buy_currency``) and the reports
convert it once the operator sets that rate; settling a call never waits for, or fails on, a rate.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from operator import itemgetter
from typing import NamedTuple

from sqlalchemy import Connection, bindparam, insert, select

from asteriskbill.billing.currency import call_day
from asteriskbill.billing.incoming import IN
from asteriskbill.billing.ledger import CALL
from asteriskbill.billing.settle import CallResult, billable_seconds
from asteriskbill.rating.bundle import bundled
from asteriskbill.rating.engine import Charge, NoRateError, Pricing
from asteriskbill.rating.model import Tariff
from asteriskbill.services import bundles, ledger, routing, vendor_ledger
from asteriskbill.services.calls import ENGINE_OPERATOR
from asteriskbill.services.currency import Converter
from asteriskbill.store import tariffs as tariff_store
from asteriskbill.store.models import CallAttempt, Cdr, Reservation, Vendor
from asteriskbill.store.rawsql import RawWrite, moment
from asteriskbill.store.types import utcnow


@dataclass(frozen=True)
class Settled:
    session: str
    new: bool  # False: it had been settled before and nothing changed now
    cost: int
    billed_seconds: int
    outcome: str

    def again(self) -> Settled:
        """What settling the same call once more answers."""
        return Settled(self.session, False, self.cost, self.billed_seconds, self.outcome)


class Reserved(NamedTuple):
    """What settling reads of a reservation (lifecycle.settle_many locks it): ``of`` a row of ``COLUMNS``."""

    id: int
    session: str
    account_id: int
    payer_id: int | None  # the account whose balance pays: its own, or its company's pool
    status: str
    held_seconds: int
    max_seconds: int
    number: str
    priced_at: datetime
    pricing: str
    uniqueid: str
    callerid: str
    dialled: str
    destination: str
    prefix: str
    call_class: str
    created_at: datetime
    routes: str  # services/routing.py Routed.text: "" for a call routed by the routes table
    direction: str  # out: the account called; in: it was called (billing/incoming.py)
    bundle_id: int | None  # the bundle of minutes it draws on first
    bundle_seconds: int  # of that bundle, held: the call's charge is priced with them (rating/bundle.py)
    bundle_amount: int  # or of a money bundle

    @classmethod
    def of(cls, row: Sequence) -> Reserved:
        """From a row as the driver gives it (SQLite: times as text)."""
        values = list(row)
        for at in _MOMENTS:
            values[at] = moment(values[at])
        return cls._make(values)


_MOMENTS = [Reserved._fields.index(name) for name in ("priced_at", "created_at")]


COLUMNS = [Reservation.__table__.c[name] for name in Reserved._fields]
# Built once: a statement object memoizes its cache key, and a settlement runs for every call.
_CDRS_OF = select(Cdr.session, Cdr.cost, Cdr.billed_seconds, Cdr.outcome).where(
    Cdr.session.in_(bindparam("sessions", expanding=True))
)
_CDR = tuple(c.name for c in Cdr.__table__.columns if c.name != "id")
_CDR_VALUES = itemgetter(*_CDR)  # a CDR's values by name, in _CDR order
_CDR_IDS = select(Cdr.session, Cdr.id).where(Cdr.session.in_(bindparam("sessions", expanding=True)))
_PREPAID = select(Vendor.id).where(Vendor.id.in_(bindparam("ids", expanding=True)), Vendor.prepaid)
_NEW_CDRS = RawWrite(insert(Cdr).values({name: bindparam(name) for name in _CDR}), *_CDR)
# The calls of one destination and tariff share one snapshot: read once.
_snapshot = lru_cache(maxsize=1024)(tariff_store.from_snapshot)


def recorded(conn: Connection, reservations: Sequence[Reserved]) -> dict[str, Settled]:
    """What reservations that are no longer open came to, by session: their CDR, or nothing when released."""
    if not reservations:
        return {}
    cdrs = {row.session: row for row in conn.execute(_CDRS_OF, {"sessions": [r.session for r in reservations]})}
    found = {}
    for reservation in reservations:
        cdr = cdrs.get(reservation.session)
        if cdr is None:  # released before any call was made
            found[reservation.session] = Settled(reservation.session, False, 0, 0, reservation.status)
        else:
            found[reservation.session] = Settled(reservation.session, False, cdr.cost, cdr.billed_seconds, cdr.outcome)
    return found


def write(conn: Connection, calls: Iterable[tuple[Reserved, CallResult]]) -> list[Settled]:
    """Each call's CDR and its charge (lifecycle.settle_many locked the reservations, and closes them), in a few
    statements for all of them; the calls of one account are charged in their order."""
    calls = list(calls)
    if not calls:
        return []
    # Lock the accounts before the CDRs' foreign keys take a KEY SHARE on their rows: two settlements of one
    # account each holding that share, then asking FOR UPDATE, deadlock on PostgreSQL. A pool's members first,
    # then the balances paying, as authorization locks them.
    payers = {reservation.session: reservation.payer_id or reservation.account_id for reservation, _ in calls}
    members = {r.account_id for r, _ in calls if payers[r.session] != r.account_id} - set(payers.values())
    accounts = ledger.lock_many(conn, members)
    accounts |= ledger.lock_many(conn, payers.values())
    converter = Converter(conn)
    now = utcnow()
    cdrs, charges, done, routed, used = [], [], [], [], []
    for reservation, result in calls:
        seconds = billable_seconds(result, reservation.held_seconds)  # never beyond what it holds
        tariff, rates = _snapshot(reservation.pricing)
        pricing = Pricing(tariff, rates, reservation.number, reservation.priced_at, reservation.max_seconds)
        # what it holds of a bundle first, then the balance
        charge = bundled(pricing, reservation.bundle_seconds, reservation.bundle_amount).cost(seconds)
        if reservation.bundle_id is not None and (charge.bundle_seconds or charge.bundle_amount):
            used.append((reservation.bundle_id, charge.bundle_seconds or charge.bundle_amount))
        currency = accounts[reservation.account_id].currency
        carried, tried = routing.carried(reservation.routes, result.attempts)
        bought = None if carried is None else _bought(carried, reservation, seconds)
        payer = payers[reservation.session]
        cdrs.append(_cdr(converter, reservation, result, seconds, charge, tariff, currency, now, carried, bought))
        if carried is not None:
            routed.append((reservation.session, carried, bought, tried, result.attempts or (result.outcome,)))
        if charge.cost:
            by = "" if payer == reservation.account_id else f" by {accounts[reservation.account_id].name}"
            called = "from " if reservation.direction == IN else ""  # an incoming call's number is its caller's
            note = f"{called}{reservation.number} {seconds} s{by}"
            charges.append(ledger.Posting(payer, CALL, -charge.cost, reservation.session, note))
        done.append(Settled(reservation.session, True, charge.cost, seconds, result.outcome))
    _NEW_CDRS.many(conn, cdrs)
    ledger.post_many(conn, accounts, charges, operator=ENGINE_OPERATOR)
    bundles.use(conn, used)
    if routed:
        _vendors_and_attempts(conn, routed)
    return done


def _bought(carried: routing.Carried, reservation: Reserved, seconds: int) -> tuple[str, int] | None:
    """(The vendor's currency, what it charges for the call) by the rates that carried it; None: they cannot say."""
    tariff, rates = _snapshot(carried.buy)
    try:
        pricing = Pricing(tariff, rates, reservation.number, reservation.priced_at, max(seconds, 1))
    except NoRateError:
        return None
    return tariff.currency, pricing.cost(min(seconds, pricing.horizon)).cost


def _vendors_and_attempts(conn: Connection, routed: list) -> None:
    """Each routed call's attempts, and its prepaid vendor's debit (in vendor order: two groups settling calls
    of the same vendors lock them in the same order)."""
    ids: dict[str, int] = {row.session: row.id for row in conn.execute(_CDR_IDS, {"sessions": [c[0] for c in routed]})}
    attempts = []
    for session, _, _, tried, statuses in routed:
        for position, (trunk_id, status) in enumerate(zip(tried, statuses, strict=False), start=1):
            attempts.append({"cdr_id": ids[session], "position": position, "trunk_id": trunk_id, "dialstatus": status})
    conn.execute(insert(CallAttempt), attempts)
    prepaid = set(conn.execute(_PREPAID, {"ids": sorted({c.vendor_id for _, c, *_ in routed})}).scalars())
    for session, carried, bought, *_ in sorted(routed, key=lambda call: call[1].vendor_id):
        if carried.vendor_id in prepaid and bought and bought[1]:
            vendor_ledger.post(conn, carried.vendor_id, vendor_ledger.CALL, -bought[1], ENGINE_OPERATOR, session)


def _cdr(
    converter: Converter,
    reservation: Reserved,
    result: CallResult,
    seconds: int,
    charge: Charge,
    tariff: Tariff,
    currency: str,
    now: datetime,
    carried: routing.Carried | None,
    bought: tuple[str, int] | None,
) -> tuple:
    """The CDR's values, in ``_CDR`` order."""
    started_at = result.started_at or reservation.created_at
    if carried is None:  # routed by the routes table: bought at the sell rate's buy price
        buy_cost, buy_currency = _buy_cost(converter, charge.buy_costs, tariff, currency, started_at)
    else:
        costs: dict[str | None, int] | None = None if bought is None else {bought[0]: bought[1]}
        buy_cost, buy_currency = _buy_cost(converter, costs, tariff, currency, started_at)
    values = {
        "session": reservation.session,
        "account_id": reservation.account_id,
        "payer_id": reservation.payer_id or reservation.account_id,
        "server": result.server,
        "uniqueid": result.uniqueid or reservation.uniqueid,
        "linkedid": result.linkedid,
        "callerid": result.callerid or reservation.callerid,
        "dialled": reservation.dialled,
        "number": reservation.number,
        "destination": reservation.destination,
        "prefix": reservation.prefix,
        "call_class": reservation.call_class,
        "started_at": started_at,
        "answered_at": result.answered_at,
        "ended_at": result.ended_at,
        "billable_ms": max(result.billable_ms, 0),
        "billed_seconds": seconds,
        "outcome": result.outcome,
        "hangup_cause": result.hangup_cause,
        "cost": charge.cost,
        "buy_cost": buy_cost,
        "buy_currency": buy_currency,
        "currency": currency,
        "source": result.source,
        "created_at": now,
        "trunk_id": None if carried is None else carried.trunk_id,
        "vendor_id": None if carried is None else carried.vendor_id,
        "direction": reservation.direction,
        "bundle_seconds": charge.bundle_seconds,
        "bundle_amount": charge.bundle_amount,
    }
    return _CDR_VALUES(values)


def _buy_cost(
    converter: Converter, costs: dict[str | None, int] | None, tariff: Tariff, currency: str, started_at: datetime
) -> tuple[int | None, str | None]:
    """(buy cost, None) in ``currency`` of ``costs`` (by currency bought in, None: the tariff's); (the amount, its
    vendor currency) when no rate for the call's day converts it yet; (None, None) when a rate has no buy price,
    or when a call bought in several currencies (it crossed rates) misses one of their rates: a sum of unlike
    amounts means nothing."""
    if costs is None:
        return None, None
    day = call_day(started_at, tariff.timezone)
    converted = [converter.convert(amount, bought or currency, currency, day) for bought, amount in costs.items()]
    known = [amount for amount in converted if amount is not None]
    if len(known) == len(converted):
        return sum(known), None
    if len(costs) == 1:
        ((bought, amount),) = costs.items()
        return amount, bought
    return None, None
