"""Credit held in slices, the lifecycle's middle: the callee's answer moves a call's deadline, and shortly before
its deadline an open call holds one more slice (billing/reservation.py).

The same owner rules as lifecycle.py: the ARI listener reports the answer, `serve`'s credit control asks to
extend, and only these functions change what an open reservation holds and when it must end. ``extend`` locks the
account (and its pool's, its bundle's seconds) as authorization does and applies the same rule to each new slice:
concurrent calls on one balance never hold more than balance + credit limit, and no call is billed beyond what it
holds.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine, bindparam, select, update

from asteriskbill.billing.accounts import COMPANY_POOL
from asteriskbill.billing.authorize import BillStatus
from asteriskbill.billing.reservation import OPEN, Hold, deadline, extension
from asteriskbill.rating.engine import Prices, Pricing
from asteriskbill.services import bundles
from asteriskbill.services.calls import funds, locked_subject, verdict
from asteriskbill.store import tariffs as tariff_store
from asteriskbill.store.engine import reading
from asteriskbill.store.models import Reservation
from asteriskbill.store.types import utcnow

_LOCKED = select(Reservation.__table__).where(Reservation.session == bindparam("session")).with_for_update()


@dataclass(frozen=True)
class Due:
    """An open call whose deadline comes soon: `serve` extends it, then moves its channel's hard limit."""

    session: str
    uniqueid: str  # the caller channel's, as the AGI saw it: AMI names the channel by it
    deadline_at: datetime
    answered: bool
    held_seconds: int
    max_seconds: int


def up(engine: Engine, session: str, answered_at: datetime) -> datetime | None:
    """The callee answered at ``answered_at``: the deadline now counts from there. The new deadline, or None when
    the call is not open or its answer was known already."""
    with engine.begin() as conn:
        row = conn.execute(_LOCKED, {"session": session}).one_or_none()
        if row is None or row.status != OPEN or row.answered_at is not None:
            return None
        moment = deadline(row.created_at, answered_at, row.held_seconds)
        conn.execute(
            update(Reservation).where(Reservation.id == row.id).values(answered_at=answered_at, deadline_at=moment)
        )
    return moment


def due(engine: Engine, before: datetime) -> list[Due]:
    """Open calls that still may grow and whose deadline falls before ``before``, soonest first."""
    query = (
        select(
            Reservation.session,
            Reservation.uniqueid,
            Reservation.deadline_at,
            Reservation.answered_at.is_not(None),
            Reservation.held_seconds,
            Reservation.max_seconds,
        )
        .where(
            Reservation.status == OPEN,
            Reservation.deadline_at < before,
            Reservation.held_seconds < Reservation.max_seconds,
        )
        .order_by(Reservation.deadline_at)
    )
    with reading(engine) as conn:
        return [Due(*row) for row in conn.execute(query)]


def extend(engine: Engine, session: str, slice_seconds: int, timezone: str = "UTC") -> datetime | None:
    """Hold one more slice for an open call, under its account's lock (and its pool's); the new deadline, or None
    when nothing more can be held (the money is spent, the call reached its maximum, or the account may no longer
    call): it then ends at its deadline. ``timezone``: the setting whose days and months spending limits count."""
    with engine.begin() as conn:
        row = conn.execute(_LOCKED, {"session": session}).one_or_none()
        if row is None or row.status != OPEN:
            return None
        account = locked_subject(conn, row.account_id)
        now = utcnow()
        if verdict(account, now).status is not BillStatus.OK:
            return None  # frozen, closed, expired or its booth stopped since: the call ends with its slice
        if row.payer_id != (account.parent_id if account.pool == COMPANY_POOL else account.id):
            return None  # moved to or from its company's pool since: the call ends with what it holds
        free = funds(conn, account, now, timezone)[0].available
        tariff, rates = tariff_store.from_snapshot(row.pricing)
        pricing = Pricing(tariff, rates, row.number, row.priced_at, row.max_seconds)
        priced: Prices = pricing
        if row.bundle_id is not None:  # what it holds of its bundle, and what of the bundle is still free
            bundle = bundles.left_of(conn, row.bundle_id)
            mine = row.bundle_amount if bundle.bundle.amount else row.bundle_seconds
            priced = bundles.pricing_with(pricing, bundle.bundle, mine + bundle.left)
        now_held = Hold(row.held_seconds, row.amount, row.bundle_seconds, row.bundle_amount)
        more = extension(priced, now_held, free + row.amount, row.max_seconds, slice_seconds)
        if more is None:
            return None
        moment = deadline(row.created_at, row.answered_at, more.seconds)
        conn.execute(
            update(Reservation)
            .where(Reservation.id == row.id)
            .values(
                amount=more.amount,
                held_seconds=more.seconds,
                bundle_seconds=more.bundle_seconds,
                bundle_amount=more.bundle_amount,
                deadline_at=moment,
            )
        )
    return moment
