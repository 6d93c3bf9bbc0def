"""Card use cases: find, list, show, export, recharge, reset the PIN, unlock it, activate, enable, disable, delete.

Authorization reuses ``find`` (a card and its status decided now), ``pin_matches`` and ``record_use``.
Commands on several numbers are all-or-nothing: one refused card and none is changed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, Engine, Select, and_, func, insert, or_, select, update

from asteriskbill.billing import accounts as account_rules
from asteriskbill.billing import cards as rules
from asteriskbill.billing.authorize import PinGuard
from asteriskbill.billing.cards import ACTIVE, DELETED, EXPIRED, NEW, CardError, CardState
from asteriskbill.billing.ledger import ADJUSTMENT, FACE_VALUE
from asteriskbill.billing.numbers import is_digits
from asteriskbill.money import CEILING, Limits, format_amount
from asteriskbill.services import audit, ledger
from asteriskbill.services.card_batches import find_batch
from asteriskbill.store.models import Account, Card, CardBatch, CardCallerId, LedgerEntry, Tariff
from asteriskbill.store.types import utcnow

RECENT = 10


@dataclass(frozen=True)
class CardView:
    id: int
    account_id: int
    number: str
    status: str  # decided at the moment of reading: new, active, disabled, expired, deleted
    stored_status: str  # as stored: new, active, disabled, deleted
    reason: str  # why a call may not use it now ("" when it may)
    batch: str
    tariff: str
    balance: int
    currency: str
    max_calls: int | None
    activation: str
    valid_days: int | None
    created_at: datetime
    activated_at: datetime | None
    expires_at: datetime | None
    first_used_at: datetime | None
    last_used_at: datetime | None
    pin_failures: int  # wrong PINs: in the current window, or the ones that locked the card
    pin_failed_at: datetime | None  # the first of them (none once locked)
    pin_locked_until: datetime | None  # as stored: the lock may be over
    pin_locked: bool  # decided at the moment of reading

    @property
    def state(self) -> CardState:
        return _state(self)


def _query() -> Select:
    return (
        select(
            Card.id,
            Card.account_id,
            Card.number,
            Card.status.label("stored_status"),
            Card.activation,
            Card.valid_days,
            Card.expires_at,
            Card.activated_at,
            Card.first_used_at,
            Card.last_used_at,
            Card.pin_failures,
            Card.pin_failed_at,
            Card.pin_locked_until,
            CardBatch.name.label("batch"),
            Tariff.name.label("tariff"),
            Account.balance,
            Account.currency,
            Account.max_calls,
            Account.created_at,
        )
        .join(Account, Account.id == Card.account_id)
        .join(CardBatch, CardBatch.id == Card.batch_id)
        .join(Tariff, Tariff.id == Account.tariff_id)
    )


def _state(row) -> CardState:
    return CardState(row.number, row.stored_status, row.activation, row.valid_days, row.expires_at, row.activated_at)


def _view(row, now: datetime) -> CardView:
    decision = rules.decide(_state(row), now)
    locked = PinGuard(row.pin_failures, row.pin_failed_at, row.pin_locked_until).locked(now)
    return CardView(status=decision.status, reason=decision.reason, pin_locked=locked, **row._mapping)


def find(conn: Connection, number: str, *, lock: bool = False, now: datetime | None = None) -> CardView:
    """The card numbered ``number`` (check digit verified before the lookup), its status decided at ``now``."""
    number = rules.parse_number(number)
    query = _query().where(Card.number == number)
    row = conn.execute(query.with_for_update(of=Card) if lock else query).one_or_none()
    if row is None:
        raise CardError(f"no card numbered {number}")
    return _view(row, now or utcnow())


def pin_matches(conn: Connection, secret: bytes, number: str, pin: str) -> bool:
    """Whether ``pin`` is the card's PIN (constant-time); lockout after failures is the caller's."""
    stored = conn.execute(select(Card.pin_hash).where(Card.number == number)).scalar_one()
    return rules.verify_pin(secret, number, pin, stored)


def record_use(conn: Connection, number: str, now: datetime | None = None) -> CardView:
    """A call used the card: refuse it if unusable, activate it on first use, stamp first/last use."""
    now = now or utcnow()
    card = find(conn, number, lock=True, now=now)
    decision = rules.decide(card.state, now)
    if not decision.usable:
        raise CardError(decision.reason)
    values: dict = {"last_used_at": now}
    if card.first_used_at is None:
        values["first_used_at"] = now
    if decision.activates:
        values["status"] = ACTIVE
        values["activated_at"], values["expires_at"] = rules.activation(card.state, now)
    conn.execute(update(Card).where(Card.id == card.id).values(values))
    return find(conn, number, now=now)


def _status_filter(status: str, now: datetime):
    """The SQL twin of rules.decide for one status (tests check that they agree)."""
    if status == EXPIRED:
        return and_(Card.status.in_((NEW, ACTIVE)), Card.expires_at <= now)
    if status in (NEW, ACTIVE):
        return and_(Card.status == status, or_(Card.expires_at.is_(None), Card.expires_at > now))
    return Card.status == status


def list_cards(
    engine: Engine,
    batch: str | None = None,
    status: str | None = None,
    search: str | None = None,
    now: datetime | None = None,
) -> list[CardView]:
    """Cards by number; deleted ones only when ``status`` asks for them."""
    now = now or utcnow()
    query = _query().order_by(Card.number)
    query = query.where(_status_filter(status, now) if status else Card.status != DELETED)
    if search:
        if not is_digits(search):
            raise CardError(f"--search {search!r}: card numbers are digits")
        query = query.where(Card.number.like(f"%{search}%"))
    with engine.begin() as conn:
        if batch is not None:
            query = query.where(Card.batch_id == find_batch(conn, batch).id)
        return [_view(row, now) for row in conn.execute(query)]


def show(engine: Engine, number: str) -> tuple[CardView, list[ledger.Entry]]:
    """A card and its latest ledger entries (face value, recharges, call charges), newest first.

    Once CDRs exist, the calls behind the "call" entries (destination, duration) belong here too.
    """
    with engine.begin() as conn:
        card = find(conn, number)
        return card, ledger.entries(conn, card.account_id, RECENT)


def export(engine: Engine, operator: str, write: Callable[[list[CardView]], None], batch: str | None = None) -> int:
    """``write`` every card that is not deleted; who exported the numbers goes to the audit log
    (only when ``write`` succeeded)."""
    cards = list_cards(engine, batch=batch)
    with engine.begin() as conn:
        audit.record(conn, operator, "card.export", batch or "(all batches)", {"cards": len(cards)})
        write(cards)
    return len(cards)


def recharge(
    engine: Engine,
    operator: str,
    number: str,
    amount: int,
    order: str | None = None,
    note: str | None = None,
    *,
    limits: Limits = CEILING,
    allow_duplicate_order: bool = False,
) -> tuple[CardView, ledger.Entry]:
    """Add ``amount`` to the card's balance (``order``: once per card unless ``allow_duplicate_order``)."""
    with engine.begin() as conn:
        card = find(conn, number)
        if card.status == DELETED:
            raise CardError(f"card {card.number} is deleted")
        entry = ledger.recharge(
            conn,
            card.account_id,
            amount,
            operator=operator,
            limits=limits,
            order=order,
            note=note,
            allow_duplicate_order=allow_duplicate_order,
        )
        audit.record(
            conn,
            operator,
            "card.recharge",
            card.number,
            {
                "amount": format_amount(amount),
                "currency": card.currency,
                "reference": order,
                "note": note,
                "balance_after": format_amount(entry.balance_after),
            },
        )
        return find(conn, number), entry


def reset_pin(engine: Engine, secret: bytes, operator: str, number: str, pin_digits: int = 6) -> tuple[str, CardView]:
    """A new random PIN for the card (returned once, stored only as its hash), and the card. A PIN lock
    stays: a new PIN must not undo what wrong PINs did unseen; `unlock` lifts it."""
    rules.check_pin_digits(pin_digits)
    with engine.begin() as conn:
        card = find(conn, number, lock=True)
        if card.status == DELETED:
            raise CardError(f"card {card.number} is deleted")
        pin = rules.new_pin(pin_digits)
        conn.execute(update(Card).where(Card.id == card.id).values(pin_hash=rules.pin_hash(secret, card.number, pin)))
        audit.record(conn, operator, "card.reset-pin", card.number, {"pin_locked": card.pin_locked})
        return pin, card


def unlock(engine: Engine, operator: str, number: str) -> CardView:
    """Lift the card's PIN lock and forget its wrong PINs; returns the card as it was (locked)."""
    with engine.begin() as conn:
        card = find(conn, number, lock=True)
        if not card.pin_locked:
            raise CardError(f"card {card.number} is not locked")
        conn.execute(
            update(Card).where(Card.id == card.id).values(pin_failures=0, pin_failed_at=None, pin_locked_until=None)
        )
        audit.record(
            conn, operator, "card.unlock", card.number, {"failures": card.pin_failures, "until": card.pin_locked_until}
        )
        return card


Change = Callable[[Connection, CardView, datetime, str], dict]  # (conn, card, now, operator) -> new values


def _each(engine: Engine, operator: str, numbers: Iterable[str], action: str, change: Change) -> list[CardView]:
    """Apply ``change`` to every card in one transaction; an error on any card changes none."""
    parsed = list(dict.fromkeys(rules.parse_number(n) for n in numbers))  # all check digits first
    with engine.begin() as conn:
        now = utcnow()
        for number in parsed:
            card = find(conn, number, lock=True, now=now)
            values = change(conn, card, now, operator)
            conn.execute(update(Card).where(Card.id == card.id).values(values))
            audit.record(conn, operator, f"card.{action}", number, values)
        return [find(conn, number, now=now) for number in parsed]


def _activate(conn: Connection, card: CardView, now: datetime, operator: str) -> dict:
    activated_at, expires_at = rules.activation(card.state, now)
    return {"status": ACTIVE, "activated_at": activated_at, "expires_at": expires_at}


def _disable(conn: Connection, card: CardView, now: datetime, operator: str) -> dict:
    return {"status": rules.disabling(card.state)}


def _enable(conn: Connection, card: CardView, now: datetime, operator: str) -> dict:
    return {"status": rules.enabling(card.state)}


def _delete(conn: Connection, card: CardView, now: datetime, operator: str) -> dict:
    """Void the unused face value in the ledger, close the card's account, mark the card deleted."""
    payments = conn.execute(
        select(func.count())
        .select_from(LedgerEntry)
        .where(LedgerEntry.account_id == card.account_id, LedgerEntry.kind != FACE_VALUE)
    ).scalar_one()
    rules.check_deletable(card.state, card.first_used_at, payments)
    if card.balance:
        ledger.post(
            conn,
            card.account_id,
            ADJUSTMENT,
            -card.balance,
            operator=operator,
            note="card deleted: its unused face value is voided",
        )
    conn.execute(update(Account).where(Account.id == card.account_id).values(status=account_rules.CLOSED))
    return {"status": DELETED}


def activate(engine: Engine, operator: str, numbers: Iterable[str]) -> list[CardView]:
    return _each(engine, operator, numbers, "activate", _activate)


def disable(engine: Engine, operator: str, numbers: Iterable[str]) -> list[CardView]:
    return _each(engine, operator, numbers, "disable", _disable)


def enable(engine: Engine, operator: str, numbers: Iterable[str]) -> list[CardView]:
    return _each(engine, operator, numbers, "enable", _enable)


def delete(engine: Engine, operator: str, numbers: Iterable[str]) -> list[CardView]:
    return _each(engine, operator, numbers, "delete", _delete)


def add_callerid(engine: Engine, operator: str, number: str, callerid: str) -> None:
    """Register a caller's number to a card: calls from it skip the card number and PIN."""
    if not is_digits(callerid):
        raise CardError(f"caller ID {callerid!r} must be digits")
    with engine.begin() as conn:
        card = find(conn, number)
        taken = conn.execute(
            select(Card.number)
            .join(CardCallerId, CardCallerId.card_id == Card.id)
            .where(CardCallerId.callerid == callerid)
        ).scalar_one_or_none()
        if taken is not None:
            raise CardError(f"caller ID {callerid} is registered to card {taken} already")
        conn.execute(insert(CardCallerId).values(card_id=card.id, callerid=callerid))
        audit.record(conn, operator, "card.callerid-add", card.number, {"callerid": callerid})


def remove_callerid(engine: Engine, operator: str, callerid: str) -> None:
    with engine.begin() as conn:
        number = conn.execute(
            select(Card.number)
            .join(CardCallerId, CardCallerId.card_id == Card.id)
            .where(CardCallerId.callerid == callerid)
        ).scalar_one_or_none()
        if number is None:
            raise CardError(f"caller ID {callerid} is not registered to any card")
        conn.execute(CardCallerId.__table__.delete().where(CardCallerId.callerid == callerid))
        audit.record(conn, operator, "card.callerid-remove", number, {"callerid": callerid})


def callerids(engine: Engine, number: str | None = None) -> list[tuple[str, str]]:
    """(card number, caller ID) pairs, of one card or all."""
    query = select(Card.number, CardCallerId.callerid).join(CardCallerId, CardCallerId.card_id == Card.id)
    with engine.begin() as conn:
        if number is not None:
            query = query.where(Card.id == find(conn, number).id)
        return [tuple(row) for row in conn.execute(query.order_by(Card.number, CardCallerId.callerid))]
