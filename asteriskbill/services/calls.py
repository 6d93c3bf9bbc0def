"""Call use cases for the AGI: who is calling, may the call start, and releasing what it held.

``authorize`` reads and prices outside the lock, then in ONE transaction locks the account row,
reads its money and open reservations, decides (billing.authorize.grant) and writes the
reservation: concurrent calls on one balance can never hold more than balance + credit limit.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Connection, Engine, func, insert, or_, select, update

from asteriskbill.billing import cards as card_rules
from asteriskbill.billing.accounts import CARD, CLOSED, FROZEN
from asteriskbill.billing.authorize import BillStatus, Funds, Grant, PinGuard, PinPolicy, grant
from asteriskbill.billing.numbers import NumberError, normalize
from asteriskbill.rating.engine import NoRateError, Pricing
from asteriskbill.settings import Settings
from asteriskbill.services import accounts, audit, cards
from asteriskbill.services.numbers import plan_for
from asteriskbill.services.routes import route_for
from asteriskbill.services.secret import installation_secret
from asteriskbill.store import tariffs as tariff_store
from asteriskbill.store.models import Account, Card, CardCallerId, Reservation
from asteriskbill.store.types import utcnow

OPEN, SETTLED, RELEASED, FLAGGED = "open", "settled", "released", "flagged"
ENGINE_OPERATOR = "asteriskbill"  # the audit log's "who" for what the engine does by itself
_CARD_STATUS = {card_rules.DISABLED: BillStatus.DISABLED, card_rules.DELETED: BillStatus.DISABLED,
                card_rules.EXPIRED: BillStatus.EXPIRED, card_rules.NEW: BillStatus.NOT_ACTIVE}
_ACCOUNT_STATUS = {FROZEN: BillStatus.FROZEN, CLOSED: BillStatus.CLOSED}


@dataclass(frozen=True)
class Caller:
    """What Asterisk tells about the calling channel."""

    channel: str = ""
    uniqueid: str = ""
    callerid: str = ""


@dataclass(frozen=True)
class Login:
    """Who a caller is: an account, or why not."""

    status: BillStatus
    account_id: int | None = None
    reason: str = ""


@dataclass(frozen=True)
class Authorization:
    status: BillStatus
    reason: str = ""
    session: str = ""
    max_seconds: int = 0
    amount: int = 0
    number: str = ""
    dial: str = ""
    destination: str = ""
    currency: str = ""

    @property
    def max_ms(self) -> int:
        return self.max_seconds * 1000


@dataclass(frozen=True)
class Balance:
    available: int  # balance + credit limit - held by open reservations
    currency: str


def pin_policy(settings: Settings) -> PinPolicy:
    return PinPolicy(settings.pin_max_failures, timedelta(seconds=settings.pin_failure_window_seconds),
                     timedelta(seconds=settings.pin_lock_seconds))


# --- who is calling -------------------------------------------------------------------------------

def card_login(engine: Engine, settings: Settings, number: str, pin: str, now: datetime | None = None) -> Login:
    """A card number and PIN typed by the caller. Wrong PINs count towards the card's lock."""
    now = now or utcnow()
    if not card_rules.luhn_valid(number):
        return Login(BillStatus.UNKNOWN_CARD, reason="card number fails its check digit")
    with engine.begin() as conn:
        row = conn.execute(select(Card.id, Card.account_id, Card.pin_hash, Card.pin_failures, Card.pin_failed_at,
                                  Card.pin_locked_until).where(Card.number == number).with_for_update()).one_or_none()
        if row is None:
            return Login(BillStatus.UNKNOWN_CARD, reason=f"no card numbered {number}")
        guard = PinGuard(row.pin_failures, row.pin_failed_at, row.pin_locked_until)
        if guard.locked(now):
            audit.record(conn, ENGINE_OPERATOR, "card.pin-refused-locked", number)
            return Login(BillStatus.LOCKED, reason=f"card {number} is locked after wrong PINs")
        secret = installation_secret(settings.secret_file)
        if card_rules.verify_pin(secret, number, pin, row.pin_hash):
            if guard.failures:
                conn.execute(update(Card).where(Card.id == row.id).values(pin_failures=0, pin_failed_at=None))
            return _usable(conn, row.account_id, now)
        after = guard.after_failure(now, pin_policy(settings))
        conn.execute(update(Card).where(Card.id == row.id).values(
            pin_failures=after.failures, pin_failed_at=after.first_failed_at, pin_locked_until=after.locked_until))
        audit.record(conn, ENGINE_OPERATOR, "card.pin-failure", number, {"failures": after.failures})
        if after.locked(now):
            audit.record(conn, ENGINE_OPERATOR, "card.pin-lock", number,
                         {"until": after.locked_until.isoformat()})
            return Login(BillStatus.LOCKED, reason=f"card {number} locked until {after.locked_until:%H:%M} UTC")
        return Login(BillStatus.WRONG_PIN, reason="wrong PIN")


def callerid_login(engine: Engine, callerid: str, now: datetime | None = None) -> Login | None:
    """The card registered to the caller's number, if any: such callers skip number and PIN."""
    if not callerid:
        return None
    with engine.begin() as conn:
        account_id = conn.execute(select(Card.account_id).join(CardCallerId, CardCallerId.card_id == Card.id)
                                  .where(CardCallerId.callerid == callerid)).scalar_one_or_none()
        return None if account_id is None else _usable(conn, account_id, now or utcnow())


def extension_login(engine: Engine, extension: str = "", accountcode: str = "") -> Login:
    """The extension account of a calling extension number or Asterisk accountcode."""
    conditions = ([Account.extension == extension] if extension else []) + \
                 ([Account.accountcode == accountcode] if accountcode else [])
    if not conditions:
        return Login(BillStatus.UNKNOWN_ACCOUNT, reason="no extension or accountcode given")
    with engine.begin() as conn:
        # the accountcode names the account more precisely than a shared extension number
        account_id = conn.execute(select(Account.id).where(or_(*conditions))
                                  .order_by((Account.accountcode == accountcode).desc())).scalars().first()
        if account_id is None:
            return Login(BillStatus.UNKNOWN_ACCOUNT, reason=f"no account for extension {extension!r} "
                                                            f"or accountcode {accountcode!r}")
        return _usable(conn, account_id, utcnow())


def _usable(conn: Connection, account_id: int, now: datetime) -> Login:
    """The account if it may call now, else the status saying why not (company and card included)."""
    standing = accounts.standing(conn, account_id)
    if not standing.usable:
        return Login(_ACCOUNT_STATUS[standing.status], account_id, standing.reason)
    kind, name = conn.execute(select(Account.kind, Account.name).where(Account.id == account_id)).one()
    if kind == CARD:
        decision = card_rules.decide(cards.find(conn, name, now=now).state, now)
        if not decision.usable:
            return Login(_CARD_STATUS[decision.status], account_id, decision.reason)
    return Login(BillStatus.OK, account_id)


def balance(engine: Engine, account_id: int) -> Balance:
    with engine.begin() as conn:
        row = conn.execute(select(Account.balance, Account.credit_limit, Account.currency)
                           .where(Account.id == account_id)).one()
        return Balance(row.balance + row.credit_limit - _held(conn, account_id)[0], row.currency)


# --- may the call start ---------------------------------------------------------------------------

def _held(conn: Connection, account_id: int) -> tuple[int, int]:
    """(credit held, calls) of the account's open reservations."""
    amount, calls = conn.execute(select(func.coalesce(func.sum(Reservation.amount), 0), func.count())
                                 .where(Reservation.account_id == account_id, Reservation.status == OPEN)).one()
    return int(amount), calls


def authorize(engine: Engine, settings: Settings, account_id: int, dialled: str, caller: Caller = Caller(),
              now: datetime | None = None) -> Authorization:
    """Normalise, route and rate the call, then reserve the credit of its maximum duration."""
    now = now or utcnow()
    with engine.begin() as conn:
        login = _usable(conn, account_id, now)
        if login.status is not BillStatus.OK:
            return Authorization(login.status, login.reason)
        try:
            number = normalize(dialled, plan_for(conn, settings, account_id))
        except NumberError as exc:
            return Authorization(BillStatus.INVALID_NUMBER, str(exc))
        route = route_for(conn, number.number)
        if route is None:
            return Authorization(BillStatus.NO_ROUTE, f"no route for {number.number} (see `asteriskbill routes`)")
        tariff_id = accounts.standing(conn, account_id).tariff_id
        if tariff_id is None:
            return Authorization(BillStatus.NO_RATE, "the account has no tariff")
        tariff = tariff_store.load_tariff(conn, tariff_store.tariff_by_id(conn, tariff_id))
        rates = tariff_store.rates_for_number(conn, tariff_id, number.number)
    try:
        pricing = Pricing(tariff, rates, number.number, now, settings.max_call_seconds)
    except NoRateError as exc:
        return Authorization(BillStatus.NO_RATE, str(exc))
    return _reserve(engine, account_id, pricing, number, route.dial_string(number.number), caller, now)


def _reserve(engine: Engine, account_id: int, pricing: Pricing, number, dial: str, caller: Caller,
             now: datetime) -> Authorization:
    with engine.begin() as conn:
        account = conn.execute(select(Account.name, Account.kind, Account.balance, Account.credit_limit,
                                      Account.max_calls, Account.currency)
                               .where(Account.id == account_id).with_for_update()).one()
        login = _usable(conn, account_id, now)  # again, under the lock: an operator may just have frozen it
        if login.status is not BillStatus.OK:
            return Authorization(login.status, login.reason)
        reserved, calls = _held(conn, account_id)
        decision = grant(Funds(account.balance, account.credit_limit, reserved, calls, account.max_calls), pricing)
        if not isinstance(decision, Grant):
            return Authorization(decision, _refusal_reason(decision, account.name))
        if account.kind == CARD:
            cards.record_use(conn, account.name, now)  # activates a first-use card
        session = str(uuid.uuid4())
        conn.execute(insert(Reservation).values(
            session=session, account_id=account_id, status=OPEN, amount=decision.amount,
            max_seconds=decision.max_seconds, dialled=number.dialled, number=number.number,
            call_class=number.call_class, destination=pricing.rate.destination, prefix=pricing.rate.prefix,
            dial=dial, priced_at=pricing.start, pricing=tariff_store.snapshot(pricing.tariff, pricing.rates),
            channel=caller.channel, uniqueid=caller.uniqueid, callerid=caller.callerid, created_at=now))
    return Authorization(BillStatus.OK, "", session, decision.max_seconds, decision.amount, number.number, dial,
                         pricing.rate.destination, account.currency)


def _refusal_reason(status: BillStatus, name: str) -> str:
    if status is BillStatus.TOO_MANY_CALLS:
        return f"{name} is on as many calls as it may have at once"
    return f"{name} has no credit for this destination"


def release(engine: Engine, session: str, note: str) -> bool:
    """Give back the credit of a call that never reached the dialplan's Dial (caller hung up, error)."""
    with engine.begin() as conn:
        done = conn.execute(update(Reservation).where(Reservation.session == session, Reservation.status == OPEN)
                            .values(status=RELEASED, closed_at=utcnow(), note=note[:200])).rowcount
    return bool(done)

