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

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, bindparam, insert, select

from asteriskbill.billing.currency import call_day
from asteriskbill.billing.settle import CallResult, billable_seconds
from asteriskbill.rating.engine import Charge, Pricing
from asteriskbill.rating.model import Tariff
from asteriskbill.services import ledger
from asteriskbill.services.calls import ENGINE_OPERATOR
from asteriskbill.services.currency import Converter
from asteriskbill.store import tariffs as tariff_store
from asteriskbill.store.models import Account, Cdr
from asteriskbill.store.types import utcnow


@dataclass(frozen=True)
class Settled:
    session: str
    new: bool  # False: it had been settled before and nothing changed now
    cost: int
    billed_seconds: int
    outcome: str


# Built once: a statement object memoizes its cache key, and a settlement runs for every call.
_CDR_OF = select(Cdr.cost, Cdr.billed_seconds, Cdr.outcome).where(Cdr.session == bindparam("session"))


def recorded(conn: Connection, reservation) -> Settled:
    """What a reservation that is no longer open came to: its CDR, or nothing when it was released."""
    cdr = conn.execute(_CDR_OF, {"session": reservation.session}).one_or_none()
    if cdr is None:  # released before any call was made
        return Settled(reservation.session, False, 0, 0, reservation.status)
    return Settled(reservation.session, False, cdr.cost, cdr.billed_seconds, cdr.outcome)


def write(conn: Connection, reservation, result: CallResult) -> Settled:
    """The call's CDR and its charge (lifecycle.settle locked the reservation, and closes it)."""
    seconds = billable_seconds(result, reservation.held_seconds)  # never beyond what it holds
    tariff, rates = tariff_store.from_snapshot(reservation.pricing)
    charge = Pricing(tariff, rates, reservation.number, reservation.priced_at, reservation.max_seconds).cost(seconds)
    # Lock the account before the CDR's foreign key takes a KEY SHARE on its row: two settlements of one account
    # each holding that share, then asking FOR UPDATE (ledger.post), deadlock on PostgreSQL.
    account = select(Account.currency).where(Account.id == reservation.account_id).with_for_update()
    currency = conn.execute(account).scalar_one()
    started_at = result.started_at or reservation.created_at
    buy_cost, buy_currency = _buy_cost(conn, charge, tariff, currency, started_at)
    conn.execute(
        insert(Cdr).values(
            session=reservation.session,
            account_id=reservation.account_id,
            server=result.server,
            uniqueid=result.uniqueid or reservation.uniqueid,
            linkedid=result.linkedid,
            callerid=result.callerid or reservation.callerid,
            dialled=reservation.dialled,
            number=reservation.number,
            destination=reservation.destination,
            prefix=reservation.prefix,
            call_class=reservation.call_class,
            started_at=started_at,
            answered_at=result.answered_at,
            ended_at=result.ended_at,
            billable_ms=max(result.billable_ms, 0),
            billed_seconds=seconds,
            outcome=result.outcome,
            hangup_cause=result.hangup_cause,
            cost=charge.cost,
            buy_cost=buy_cost,
            buy_currency=buy_currency,
            currency=currency,
            source=result.source,
            created_at=utcnow(),
        )
    )
    if charge.cost:
        ledger.post(
            conn,
            reservation.account_id,
            "call",
            -charge.cost,
            operator=ENGINE_OPERATOR,
            reference=reservation.session,
            note=f"{reservation.number} {seconds} s",
        )
    return Settled(reservation.session, True, charge.cost, seconds, result.outcome)


def _buy_cost(
    conn: Connection, charge: Charge, tariff: Tariff, currency: str, started_at: datetime
) -> tuple[int | None, str | None]:
    """(buy cost, None) in ``currency``; (the amount, its vendor currency) when no rate for the call's
    day converts it yet; (None, None) when a rate has no buy price, or when a call bought in several
    currencies (it crossed rates) misses one of their rates: a sum of unlike amounts means nothing."""
    costs = charge.buy_costs
    if costs is None:
        return None, None
    day = call_day(started_at, tariff.timezone)
    converter = Converter(conn)
    converted = [converter.convert(amount, bought or currency, currency, day) for bought, amount in costs.items()]
    known = [amount for amount in converted if amount is not None]
    if len(known) == len(converted):
        return sum(known), None
    if len(costs) == 1:
        ((bought, amount),) = costs.items()
        return amount, bought
    return None, None
