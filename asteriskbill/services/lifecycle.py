"""The call's lifecycle, and its one owner: authorize -> up -> extend -> settle, or release / flag.

Every change of a reservation (its status, the credit and time it holds, its deadline) is made here, as
CGRateS' SessionS owns a session while its agents only translate: the AGI asks to authorize and to
release, the ARI listener reports the answer and the end, `serve` asks to extend and to recover, the
CLI releases and clears by hand. The states are billing.reservation.ReservationStatus (the database
checks them); open is the only state that holds credit, and every other is final.

``authorize`` reads and prices outside the lock, then in ONE transaction locks the account row, reads its
money and open reservations, decides (billing.authorize.grant) and writes the reservation; ``extend``
takes the same lock and the same rule for each new slice: concurrent calls on one balance can never hold
more than balance + credit limit, and no call is billed beyond what it holds.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, Engine, bindparam, insert, select, update

from asteriskbill.billing import cards as card_rules
from asteriskbill.billing.accounts import CARD
from asteriskbill.billing.authorize import BillStatus, Funds, Grant, grant
from asteriskbill.billing.numbers import NumberError, normalize
from asteriskbill.billing.reservation import FLAGGED, OPEN, RELEASED, SETTLED, Hold, deadline, extension, first_hold
from asteriskbill.billing.settle import CallResult
from asteriskbill.rating.engine import NoRateError, Pricing
from asteriskbill.services import settlement
from asteriskbill.services.calls import (
    NO_CALLER,
    Authorization,
    Caller,
    card_state,
    held,
    locked_subject,
    subject,
    verdict,
)
from asteriskbill.services.numbers import plan_for
from asteriskbill.services.routes import route_for
from asteriskbill.settings import Settings
from asteriskbill.store import tariffs as tariff_store
from asteriskbill.store.engine import reading
from asteriskbill.store.models import Card, Reservation
from asteriskbill.store.types import utcnow

_NEW_RESERVATION = insert(Reservation)
_LOCKED = select(Reservation.__table__).where(Reservation.session == bindparam("session")).with_for_update()


# --- authorize ------------------------------------------------------------------------------------


def authorize(
    engine: Engine,
    settings: Settings,
    account_id: int,
    dialled: str,
    caller: Caller = NO_CALLER,
    now: datetime | None = None,
    *,
    slice_seconds: int = 0,
) -> Authorization:
    """Normalise, route and rate the call, then hold the credit of its first slice (0: of its whole maximum)."""
    now = now or utcnow()
    with reading(engine) as conn:
        account = subject(conn, account_id)
        login = verdict(account, now)
        if login.status is not BillStatus.OK:
            return Authorization(login.status, login.reason)
        try:
            number = normalize(dialled, plan_for(conn, settings, account_id))
        except NumberError as exc:
            return Authorization(BillStatus.INVALID_NUMBER, str(exc))
        route = route_for(conn, number.number)
        if route is None:
            return Authorization(BillStatus.NO_ROUTE, f"no route for {number.number} (see `asteriskbill routes`)")
        tariff_id = login.tariff_id
        if tariff_id is None:
            return Authorization(BillStatus.NO_RATE, "the account has no tariff")
        tariff = tariff_store.load_tariff(conn, tariff_store.tariff_by_id(conn, tariff_id))
        rates = tariff_store.rates_for_number(conn, tariff_id, number.number)
    try:
        pricing = Pricing(tariff, rates, number.number, now, settings.max_call_seconds)
    except NoRateError as exc:
        return Authorization(BillStatus.NO_RATE, str(exc))
    return _reserve(engine, account_id, pricing, number, route.dial_string(number.number), caller, now, slice_seconds)


def _reserve(
    engine: Engine,
    account_id: int,
    pricing: Pricing,
    number,
    dial: str,
    caller: Caller,
    now: datetime,
    slice_seconds: int,
) -> Authorization:
    with engine.begin() as conn:
        account = locked_subject(conn, account_id)
        login = verdict(account, now)  # again, under the lock: an operator may just have frozen it
        if login.status is not BillStatus.OK:
            return Authorization(login.status, login.reason)
        reserved, calls = held(conn, account_id)
        decision = grant(Funds(account.balance, account.credit_limit, reserved, calls, account.max_calls), pricing)
        if not isinstance(decision, Grant):
            return Authorization(decision, _refusal_reason(decision, account.name))
        hold = first_hold(pricing, decision.max_seconds, slice_seconds)
        if account.kind == CARD:
            _use_card(conn, account, now)
        session = str(uuid.uuid4())
        conn.execute(
            _NEW_RESERVATION,
            {
                "session": session,
                "account_id": account_id,
                "status": OPEN,
                "amount": hold.amount,
                "held_seconds": hold.seconds,
                "max_seconds": decision.max_seconds,
                "deadline_at": deadline(now, None, hold.seconds),
                "dialled": number.dialled,
                "number": number.number,
                "call_class": number.call_class,
                "destination": pricing.rate.destination,
                "prefix": pricing.rate.prefix,
                "dial": dial,
                "priced_at": pricing.start,
                "pricing": tariff_store.snapshot(pricing.tariff, pricing.rates),
                "channel": caller.channel,
                "uniqueid": caller.uniqueid,
                "callerid": caller.callerid,
                "created_at": now,
            },
        )
    return Authorization(
        BillStatus.OK,
        "",
        session,
        decision.max_seconds,
        hold.amount,
        number.number,
        dial,
        pricing.rate.destination,
        account.currency,
        hold.seconds,
    )


def _use_card(conn: Connection, card, now: datetime) -> None:
    """A call uses the card: stamp its use, and activate it on its first use (first-use cards)."""
    state = card_state(card)
    values: dict = {"last_used_at": now}
    if card.first_used_at is None:
        values["first_used_at"] = now
    if card_rules.decide(state, now).activates:
        values["status"] = card_rules.ACTIVE
        values["activated_at"], values["expires_at"] = card_rules.activation(state, now)
    conn.execute(update(Card).where(Card.id == card.card_id).values(values))


def _refusal_reason(status: BillStatus, name: str) -> str:
    if status is BillStatus.TOO_MANY_CALLS:
        return f"{name} is on as many calls as it may have at once"
    return f"{name} has no credit for this destination"


# --- up and extend: the hold follows the call -----------------------------------------------------


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


def extend(engine: Engine, session: str, slice_seconds: int) -> datetime | None:
    """Hold one more slice for an open call, under its account's lock; the new deadline, or None when nothing
    more can be held (the money is spent, the call reached its maximum, or the account may no longer call):
    it then ends at its deadline."""
    with engine.begin() as conn:
        row = conn.execute(_LOCKED, {"session": session}).one_or_none()
        if row is None or row.status != OPEN:
            return None
        account = locked_subject(conn, row.account_id)
        if verdict(account, utcnow()).status is not BillStatus.OK:
            return None  # frozen, closed, expired or its booth stopped since: the call ends with its slice
        reserved, _ = held(conn, row.account_id)
        free = Funds(account.balance, account.credit_limit, reserved, 0, None).available
        tariff, rates = tariff_store.from_snapshot(row.pricing)
        pricing = Pricing(tariff, rates, row.number, row.priced_at, row.max_seconds)
        now_held = Hold(row.held_seconds, row.amount)
        more = extension(pricing, now_held, free + row.amount, row.max_seconds, slice_seconds)
        if more is None:
            return None
        moment = deadline(row.created_at, row.answered_at, more.seconds)
        conn.execute(
            update(Reservation)
            .where(Reservation.id == row.id)
            .values(amount=more.amount, held_seconds=more.seconds, deadline_at=moment)
        )
    return moment


# --- the end: settle, release, flag ---------------------------------------------------------------


def settle(engine: Engine, result: CallResult) -> settlement.Settled | None:
    """Write the call's CDR and charge it, once; None when no reservation has that session. Idempotent: a
    reservation no longer open (nor flagged) means the call was settled or released already."""
    with engine.begin() as conn:
        reservation = conn.execute(_LOCKED, {"session": result.session}).one_or_none()
        if reservation is None:
            return None
        if reservation.status not in (OPEN, FLAGGED):
            return settlement.recorded(conn, reservation)
        done = settlement.write(conn, reservation, result)
        conn.execute(
            update(Reservation).where(Reservation.id == reservation.id).values(status=SETTLED, closed_at=utcnow())
        )
        return done


def release(engine: Engine, session: str, note: str) -> bool:
    """Give back the credit of a call that never reached the dialplan's Dial (caller hung up, error)."""
    return _close(engine, session, RELEASED, note)


def flag(engine: Engine, session: str, why: str) -> bool:
    """Give the credit back and flag the call for the operator (`calls flagged`), with why; closed_at says when."""
    return _close(engine, session, FLAGGED, why)


def _close(engine: Engine, session: str, status: str, note: str) -> bool:
    with engine.begin() as conn:
        return bool(close(conn, session, status, note))


def close(conn: Connection, session: str, status: str, note: str, *, was: str = OPEN) -> int:
    """Move a reservation from ``was`` to a final ``status`` with a note, in the caller's transaction (the
    operator's release and flag clearing audit it alongside): the one statement that ends a hold."""
    closing = {"closed_at": utcnow()} if was == OPEN else {}
    return conn.execute(
        update(Reservation)
        .where(Reservation.session == session, Reservation.status == was)
        .values(status=status, note=note[:200], **closing)
    ).rowcount
