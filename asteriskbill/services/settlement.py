"""Settlement: a finished call becomes one CDR, one ledger charge and a closed reservation, once.

Idempotent on BILL_SESSION: the reservation row is locked first, and a reservation that is no
longer open (or a CDR that exists) means the call was settled already, whatever repeats the events.
The call is priced from the snapshot its authorization kept, over the same horizon, so its cost can
never exceed the credit the reservation held.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection, Engine, insert, select, update

from asteriskbill.billing.settle import CallResult, billable_seconds
from asteriskbill.rating.engine import Pricing
from asteriskbill.services import ledger
from asteriskbill.services.calls import ENGINE_OPERATOR, FLAGGED, OPEN, SETTLED
from asteriskbill.store import tariffs as tariff_store
from asteriskbill.store.models import Account, Cdr, Reservation
from asteriskbill.store.types import utcnow


@dataclass(frozen=True)
class Settled:
    session: str
    new: bool          # False: it had been settled before and nothing changed now
    cost: int
    billed_seconds: int
    outcome: str


def settle(engine: Engine, result: CallResult) -> Settled | None:
    """Write the call's CDR and charge it; None when no reservation has that session."""
    with engine.begin() as conn:
        reservation = conn.execute(select(Reservation.__table__).where(Reservation.session == result.session)
                                   .with_for_update()).one_or_none()
        if reservation is None:
            return None
        if reservation.status not in (OPEN, FLAGGED):
            cdr = conn.execute(select(Cdr.cost, Cdr.billed_seconds, Cdr.outcome)
                               .where(Cdr.session == result.session)).one_or_none()
            if cdr is None:  # released before any call was made
                return Settled(result.session, False, 0, 0, reservation.status)
            return Settled(result.session, False, cdr.cost, cdr.billed_seconds, cdr.outcome)
        return _write(conn, reservation, result)


def _write(conn: Connection, reservation, result: CallResult) -> Settled:
    seconds = billable_seconds(result, reservation.max_seconds)
    tariff, rates = tariff_store.from_snapshot(reservation.pricing)
    charge = Pricing(tariff, rates, reservation.number, reservation.priced_at, reservation.max_seconds).cost(seconds)
    currency = conn.execute(select(Account.currency).where(Account.id == reservation.account_id)).scalar_one()
    conn.execute(insert(Cdr).values(
        session=reservation.session, account_id=reservation.account_id, server=result.server,
        uniqueid=result.uniqueid or reservation.uniqueid, linkedid=result.linkedid,
        callerid=result.callerid or reservation.callerid, dialled=reservation.dialled, number=reservation.number,
        destination=reservation.destination, prefix=reservation.prefix, call_class=reservation.call_class,
        started_at=result.started_at or reservation.created_at, answered_at=result.answered_at,
        ended_at=result.ended_at, billable_ms=max(result.billable_ms, 0), billed_seconds=seconds,
        outcome=result.outcome, hangup_cause=result.hangup_cause, cost=charge.cost,
        buy_cost=charge.buy_cost, currency=currency, source=result.source, created_at=utcnow()))
    if charge.cost:
        ledger.post(conn, reservation.account_id, "call", -charge.cost, operator=ENGINE_OPERATOR,
                    reference=reservation.session, note=f"{reservation.number} {seconds} s")
    conn.execute(update(Reservation).where(Reservation.id == reservation.id)
                 .values(status=SETTLED, closed_at=utcnow()))
    return Settled(reservation.session, True, charge.cost, seconds, result.outcome)
