"""The operator's hand on held credit: release a call that will never settle; list and clear what recovery flagged.

A call whose end is never seen (no ARI connection, `calls simulate` without --talk) holds its credit until
recovery gives up on it after its maximum (3 h by default); meanwhile its card may be refused with TOO_MANY_CALLS
and its booth cannot be stopped. Releasing it closes the reservation with the operator's reason and touches no
ledger (nothing was charged, nothing is). It is final: a released call is not charged if its end is seen later.
Recovery flags a call it could not settle, its credit already given back (services/recovery.py); the operator
checks it by hand, then clears the flag, which is final too. Both are audited in the same transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, Engine, func, select

from asteriskbill.billing.reservation import FLAGGED, OPEN, RELEASED
from asteriskbill.errors import UserError
from asteriskbill.money import format_amount
from asteriskbill.services import audit, lifecycle
from asteriskbill.store.engine import reading
from asteriskbill.store.models import Account, Reservation


@dataclass(frozen=True)
class Released:
    session: str
    account: str
    held: int  # the credit the call held, given back
    currency: str
    reason: str


@dataclass(frozen=True)
class FlaggedCall:
    session: str
    account: str
    callerid: str
    number: str
    destination: str
    authorized_at: datetime
    flagged_at: datetime
    held: int  # what it held until flagged
    currency: str
    reason: str
    uniqueid: str


@dataclass(frozen=True)
class Flagged:
    calls: list[FlaggedCall]  # newest flag first
    total: int  # flagged calls in all


_CALL = (
    select(
        Reservation.id,
        Reservation.status,
        Reservation.amount,
        Reservation.closed_at,
        Reservation.note,
        Account.name,
        Account.currency,
    )
    .join(Account, Account.id == Reservation.account_id)
    .with_for_update(of=Reservation)
)


def _call(conn: Connection, session: str):
    row = conn.execute(_CALL.where(Reservation.session == session)).one_or_none()
    if row is None:
        raise UserError(f"no call has session {session} (`asteriskbill calls active` lists them)")
    return row


def _reason(reason: str) -> str:
    if not reason.strip():
        raise UserError("give a --reason: it is kept with the call and in the audit log")
    return reason.strip()


def _when(moment: datetime | None) -> str:
    return "" if moment is None else moment.isoformat(timespec="seconds")


def _holds_nothing(session: str, row) -> str:
    """Why a call that is not open cannot be released."""
    if row.status == FLAGGED:
        return (
            f"call {session} is flagged: its credit was given back at {_when(row.closed_at)} ({row.note}); "
            f"`asteriskbill calls clear {session}` once it is handled"
        )
    note = f" ({row.note})" if row.note else ""
    return f"call {session} was {row.status} at {_when(row.closed_at)}{note}: it holds nothing"


def release(engine: Engine, operator: str, session: str, reason: str) -> Released:
    """Give back the credit of an open call that will never be settled, with ``reason``; the ledger is untouched."""
    reason = _reason(reason)
    with engine.begin() as conn:
        row = _call(conn, session)
        if row.status != OPEN:
            raise UserError(_holds_nothing(session, row))
        lifecycle.close(conn, session, RELEASED, f"released by {operator}: {reason}")
        done = Released(session, row.name, row.amount, row.currency, reason)
        audit.record(
            conn,
            operator,
            "call.release",
            session,
            {"account": row.name, "held": format_amount(row.amount), "currency": row.currency, "reason": reason},
        )
    return done


def clear(engine: Engine, operator: str, session: str, reason: str) -> None:
    """The operator has handled a flagged call: it leaves `calls flagged`, and no later record settles it."""
    reason = _reason(reason)
    with engine.begin() as conn:
        row = _call(conn, session)
        if row.status != FLAGGED:
            raise UserError(f"call {session} is not flagged (it is {row.status}): there is no flag to clear")
        lifecycle.close(conn, session, RELEASED, f"flag cleared by {operator}: {reason}", was=FLAGGED)
        audit.record(
            conn, operator, "call.clear-flag", session, {"account": row.name, "flag": row.note, "reason": reason}
        )


def flagged(engine: Engine, limit: int | None) -> Flagged:
    """The flagged calls, newest flag first, at most ``limit`` (None: all), and how many there are."""
    query = (
        select(
            Reservation.session,
            Account.name,
            Reservation.callerid,
            Reservation.number,
            Reservation.destination,
            Reservation.created_at,
            Reservation.closed_at,
            Reservation.amount,
            Account.currency,
            func.coalesce(Reservation.note, ""),
            Reservation.uniqueid,
        )
        .join(Account, Account.id == Reservation.account_id)
        .where(Reservation.status == FLAGGED)
        .order_by(Reservation.closed_at.desc(), Reservation.id.desc())
        .limit(limit)
    )
    with reading(engine) as conn:
        total = conn.execute(select(func.count()).where(Reservation.status == FLAGGED)).scalar_one()
        return Flagged([FlaggedCall(*row) for row in conn.execute(query)], total)
