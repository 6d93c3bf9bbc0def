"""Call use cases for the AGI: who is calling, may the call start, and releasing what it held.

``authorize`` reads and prices outside the lock, then in ONE transaction locks the account row,
reads its money and open reservations, decides (billing.authorize.grant) and writes the
reservation: concurrent calls on one balance can never hold more than balance + credit limit.
"""

from __future__ import annotations

from collections import namedtuple
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, Engine, Select, bindparam, func, or_, select, update
from sqlalchemy.orm import aliased

from asteriskbill.billing import accounts as account_rules
from asteriskbill.billing import cards as card_rules
from asteriskbill.billing.accounts import CARD, CLOSED, COMPANY_POOL, FROZEN, AccountState, Standing
from asteriskbill.billing.authorize import BillStatus, Funds, PinGuard, PinPolicy, SpendLimits
from asteriskbill.billing.periods import preset
from asteriskbill.billing.reservation import OPEN
from asteriskbill.services import audit
from asteriskbill.services.secret import installation_secret
from asteriskbill.settings import Settings
from asteriskbill.store.engine import reading
from asteriskbill.store.models import Account, BoothSession, Card, CardCallerId, Cdr, Plan, Reservation
from asteriskbill.store.rawsql import RawSelect, moment
from asteriskbill.store.types import utcnow

ENGINE_OPERATOR = "asteriskbill"  # the audit log's "who" for what the engine does by itself
_CARD_STATUS = {
    card_rules.DISABLED: BillStatus.DISABLED,
    card_rules.DELETED: BillStatus.DISABLED,
    card_rules.EXPIRED: BillStatus.EXPIRED,
    card_rules.NEW: BillStatus.NOT_ACTIVE,
}
_ACCOUNT_STATUS = {FROZEN: BillStatus.FROZEN, CLOSED: BillStatus.CLOSED}


@dataclass(frozen=True)
class Caller:
    """What Asterisk tells about the calling channel."""

    channel: str = ""
    uniqueid: str = ""
    callerid: str = ""


NO_CALLER = Caller()  # a call authorized without a channel (`calls simulate`, tests)


@dataclass(frozen=True)
class Login:
    """Who a caller is: an account, or why not."""

    status: BillStatus
    account_id: int | None = None
    reason: str = ""
    tariff_id: int | None = None  # the tariff its calls are rated by (its company's when it has none)


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
    held_seconds: int = 0  # talk time the held amount pays for: the first slice, or max_seconds
    dials: tuple[str, ...] = ()  # BILL_DIAL_1..N: the Dial() targets in the order to try (dial is the first)

    @property
    def max_ms(self) -> int:
        return self.max_seconds * 1000


@dataclass(frozen=True)
class Balance:
    available: int  # balance + credit limit - held by open reservations
    currency: str


def pin_policy(settings: Settings) -> PinPolicy:
    return PinPolicy(
        settings.pin_max_failures,
        timedelta(seconds=settings.pin_failure_window_seconds),
        timedelta(seconds=settings.pin_lock_seconds),
    )


# --- who is calling -------------------------------------------------------------------------------


_CARD_BY_NUMBER = select(
    Card.id, Card.account_id, Card.pin_hash, Card.pin_failures, Card.pin_failed_at, Card.pin_locked_until
).where(Card.number == bindparam("number"))
_CARD_LOCKED = _CARD_BY_NUMBER.with_for_update()


def card_login(engine: Engine, settings: Settings, number: str, pin: str, now: datetime | None = None) -> Login:
    """A card number and PIN typed by the caller. Wrong PINs count towards the card's lock."""
    now = now or utcnow()
    if not card_rules.luhn_valid(number):
        return Login(BillStatus.UNKNOWN_CARD, reason="card number fails its check digit")
    typed = card_rules.pin_hash(installation_secret(settings.secret_file), number, pin)
    # The right PIN with nothing to reset writes nothing: one select, no write lock (nor any transaction) for it.
    found = _CARD_READ.alone(engine, number)  # the card's PIN state, then its subject
    pin_ok = card_rules.same_pin(typed, None if found is None else found[0])
    if found is not None and pin_ok and not found[1] and not PinGuard(0, None, moment(found[2])).locked(now):
        return verdict(subject_of(found[3:]), now)
    with engine.begin() as conn:
        row = conn.execute(_CARD_LOCKED, {"number": number}).one_or_none()
        # The same work for every number: the PIN hashed, the attempt written (a commit to disk, the slow part),
        # so how soon the answer comes tells a guesser neither which cards exist nor which are locked.
        pin_ok = card_rules.same_pin(typed, None if row is None else row.pin_hash)
        if row is None:
            audit.record(conn, ENGINE_OPERATOR, "card.unknown-number", number)
            return Login(BillStatus.UNKNOWN_CARD, reason=f"no card numbered {number}")
        guard = PinGuard(row.pin_failures, row.pin_failed_at, row.pin_locked_until)
        if guard.locked(now):
            audit.record(conn, ENGINE_OPERATOR, "card.pin-refused-locked", number)
            return Login(BillStatus.LOCKED, reason=f"card {number} is locked after wrong PINs")
        if pin_ok:
            if guard.failures:
                conn.execute(update(Card).where(Card.id == row.id).values(pin_failures=0, pin_failed_at=None))
            return _usable(conn, row.account_id, now)
        after = guard.after_failure(now, pin_policy(settings))
        conn.execute(
            update(Card)
            .where(Card.id == row.id)
            .values(
                pin_failures=after.failures, pin_failed_at=after.first_failed_at, pin_locked_until=after.locked_until
            )
        )
        audit.record(conn, ENGINE_OPERATOR, "card.pin-failure", number, {"failures": after.failures})
        until = after.locked_until
        if until is not None and after.locked(now):
            audit.record(conn, ENGINE_OPERATOR, "card.pin-lock", number, {"until": until.isoformat()})
            return Login(BillStatus.LOCKED, reason=f"card {number} locked until {until:%H:%M} UTC")
        return Login(BillStatus.WRONG_PIN, reason="wrong PIN")


def callerid_login(engine: Engine, callerid: str, now: datetime | None = None) -> Login | None:
    """The card registered to the caller's number, if any: such callers skip number and PIN."""
    if not callerid:
        return None
    with reading(engine) as conn:
        account_id = conn.execute(
            select(Card.account_id)
            .join(CardCallerId, CardCallerId.card_id == Card.id)
            .where(CardCallerId.callerid == callerid)
        ).scalar_one_or_none()
        return None if account_id is None else _usable(conn, account_id, now or utcnow())


def _by_extension(extension: bool, accountcode: bool, account=Account) -> Select:
    conditions = ([account.extension == bindparam("extension")] if extension else []) + (
        [account.accountcode == bindparam("accountcode")] if accountcode else []
    )
    # the accountcode names the account more precisely than a shared extension number
    order = (account.accountcode == bindparam("accountcode")).desc() if accountcode else account.id
    return select(account.id).where(or_(*conditions)).order_by(order, account.id).limit(1)


# Built once per shape: (extension given, accountcode given), with the names of its values in their order.
_SHAPES = {
    (e, a): [*(["extension"] if e else []), *(["accountcode"] if a else [])]
    for e in (True, False)
    for a in (True, False)
    if e or a
}
_BY_EXTENSION = {(e, a): RawSelect(_by_extension(e, a), *names) for (e, a), names in _SHAPES.items()}


def extension_account(conn: Connection, extension: str, accountcode: str) -> Login:
    """Which account an extension number or accountcode names (its id; whether it may call is ``verdict``'s)."""
    if not extension and not accountcode:
        return _NO_EXTENSION
    account_id = _BY_EXTENSION[bool(extension), bool(accountcode)].scalar(conn, *filter(None, (extension, accountcode)))
    return _unknown_extension(extension, accountcode) if account_id is None else Login(BillStatus.OK, account_id)


def locked_extension_subject(conn: Connection, extension: str, accountcode: str):
    """``locked_subject`` of the account ``extension_account`` names, found and locked in one select; or the Login
    saying why there is none."""
    if not extension and not accountcode:
        return _NO_EXTENSION
    values = filter(None, (extension, accountcode))
    row = _SUBJECT_LOCKED_BY_EXTENSION[bool(extension), bool(accountcode)].first(conn, *values)
    return _unknown_extension(extension, accountcode) if row is None else subject_of(row)


_NO_EXTENSION = Login(BillStatus.UNKNOWN_ACCOUNT, reason="no extension or accountcode given")


def _unknown_extension(extension: str, accountcode: str) -> Login:
    return Login(
        BillStatus.UNKNOWN_ACCOUNT, reason=f"no account for extension {extension!r} or accountcode {accountcode!r}"
    )


_parent = aliased(Account)
_booth_open = (
    select(BoothSession.id).where(BoothSession.account_id == Account.id, BoothSession.stopped_at.is_(None)).exists()
)
# Everything authorization decides on, in one query: the account, its company, its card, its booth.
_SUBJECT = (
    select(
        Account.id,
        Account.kind,
        Account.name,
        Account.status,
        Account.tariff_id,
        Account.currency,
        Account.balance,
        Account.credit_limit,
        Account.max_calls,
        Account.parent_id,
        Account.booth,
        Account.pool,
        Account.daily_limit,
        Account.monthly_limit,
        Account.extension,
        Account.incoming_tariff_id,  # what calls to it cost it (lifecycle.authorize_incoming_in)
        Account.routing_group_id,  # services/routing.py group_of
        _booth_open.label("booth_open"),
        _parent.name.label("parent_name"),
        _parent.kind.label("parent_kind"),
        _parent.status.label("parent_status"),
        _parent.tariff_id.label("parent_tariff_id"),
        _parent.routing_group_id.label("parent_routing_group_id"),
        Card.id.label("card_id"),
        Card.number.label("card_number"),
        Card.status.label("card_status"),
        Card.activation,
        Card.valid_days,
        Card.expires_at,
        Card.activated_at,
        Card.first_used_at,
        Plan.tariff_id.label("plan_tariff_id"),  # its service plan's, when it has no tariff of its own
        Plan.id.label("plan_id"),  # its plan's bundles of minutes (services/bundles.py), "" for none
        Plan.bundles.label("plan_bundles"),
        Plan.cycle.label("plan_cycle"),
    )
    .join(_parent, _parent.id == Account.parent_id, isouter=True)
    .join(Card, Card.account_id == Account.id, isouter=True)
    .join(Plan, Plan.id == Account.plan_id, isouter=True)
)


_SUBJECT_BY_ID = _SUBJECT.where(Account.id == bindparam("account_id"))
# The hot path's statements run on the driver's cursor (store/rawsql.py): SQLAlchemy's execute costs more than SQLite.
_SUBJECT_READ = RawSelect(_SUBJECT_BY_ID, "account_id")
_SUBJECT_LOCKED = RawSelect(_SUBJECT_BY_ID.with_for_update(of=Account), "account_id")
_named = aliased(Account)  # the account the extension or accountcode names, found by _BY_EXTENSION's query
_SUBJECT_LOCKED_BY_EXTENSION = {
    (e, a): RawSelect(
        _SUBJECT.where(Account.id == _by_extension(e, a, _named).scalar_subquery()).with_for_update(of=Account),
        *names,
    )
    for (e, a), names in _SHAPES.items()
}
# The read-first path of a card login (a right PIN, nothing to reset): its PIN state and its subject, one statement.
_CARD_READ = RawSelect(
    _SUBJECT.with_only_columns(
        Card.pin_hash, Card.pin_failures, Card.pin_locked_until, *_SUBJECT.selected_columns
    ).where(Card.number == bindparam("number")),
    "number",
)
_FIELDS: list[str] = list(_SUBJECT.selected_columns.keys())
Subject = namedtuple("Subject", _FIELDS)  # type: ignore[misc]  # the row, by name
_MOMENTS = [at for at, name in enumerate(_FIELDS) if name in ("expires_at", "activated_at", "first_used_at")]


def _held(column) -> RawSelect:
    return RawSelect(
        select(func.coalesce(func.sum(Reservation.amount), 0), func.count()).where(
            column == bindparam("account_id"), Reservation.status == bindparam("open")
        ),
        "account_id",
        "open",
    )


_HELD = _held(Reservation.payer_id)  # on a balance: the account's own calls, and its pool's for a company
_HELD_BY = _held(Reservation.account_id)  # by the calls of one account, whoever pays
_PAYER_LOCKED = RawSelect(
    select(Account.balance, Account.credit_limit).where(Account.id == bindparam("account_id")).with_for_update(),
    "account_id",
)
_SPENT = select(func.coalesce(func.sum(Cdr.cost), 0)).where(
    Cdr.account_id == bindparam("account_id"), Cdr.started_at >= bindparam("since")
)


def subject(conn: Connection, account_id: int):
    """Everything authorization decides on for the account (its company, card and booth included)."""
    return _subject(_SUBJECT_READ, conn, account_id)


def locked_subject(conn: Connection, account_id: int):
    """The same, with the account row locked: its money is decided on until the transaction ends."""
    return _subject(_SUBJECT_LOCKED, conn, account_id)


def _subject(query: RawSelect, conn: Connection, account_id: int):
    row = query.first(conn, account_id)
    if row is None:
        raise LookupError(f"no account has id {account_id}")
    return subject_of(row)


def locked_subject_select(where, *names: str) -> RawSelect:
    """The select of the subject ``where`` chooses (its bind parameters ``names``), its account row locked: for
    another way of finding who pays (services/incoming.py: the account a call is made to)."""
    return RawSelect(_SUBJECT.where(where).with_for_update(of=Account), *names)


def subject_of(row):
    """A subject from a row of its select as the driver gives it."""
    values = list(row)
    for at in _MOMENTS:
        values[at] = moment(values[at])
    return Subject(*values)


def _standing(row) -> Standing:
    own = AccountState(row.name, row.kind, row.status, row.tariff_id, row.currency, row.plan_tariff_id)
    parent = (
        None
        if row.parent_id is None
        else AccountState(row.parent_name, row.parent_kind, row.parent_status, row.parent_tariff_id, row.currency)
    )
    return account_rules.standing(own, parent)


def card_state(row) -> card_rules.CardState:
    return card_rules.CardState(
        row.card_number, row.card_status, row.activation, row.valid_days, row.expires_at, row.activated_at
    )


def verdict(row, now: datetime) -> Login:
    """The account if it may call now, else the status saying why not (company, card and booth included)."""
    standing = _standing(row)
    if not standing.usable:
        return Login(_ACCOUNT_STATUS[standing.status], row.id, standing.reason)
    if row.booth and not row.booth_open:  # a booth calls only between start and stop
        return Login(
            BillStatus.BOOTH_CLOSED, row.id, f"booth {row.name} is not started (`asteriskbill callshop start`)"
        )
    if row.kind == CARD:
        decision = card_rules.decide(card_state(row), now)
        if not decision.usable:
            return Login(_CARD_STATUS[decision.status], row.id, decision.reason)
    return Login(BillStatus.OK, row.id, tariff_id=standing.tariff_id)


def _usable(conn: Connection, account_id: int, now: datetime) -> Login:
    return verdict(subject(conn, account_id), now)


def balance(engine: Engine, account_id: int, timezone: str = "UTC") -> Balance:
    """What the account's next call may spend (its pool's, within its limits), as the caller hears it."""
    with reading(engine) as conn:
        account = subject(conn, account_id)
        return Balance(funds(conn, account, utcnow(), timezone)[0].available, account.currency)


# --- may the call start ---------------------------------------------------------------------------


def held(conn: Connection, account_id: int) -> tuple[int, int]:
    """(credit held, calls) of the open reservations on the account's balance: its own calls, and for a company
    those of the accounts drawing on its pool (its --max-calls counts them all)."""
    amount, calls = _HELD.first(conn, account_id, OPEN.value)
    return int(amount), calls


def funds(conn: Connection, account, now: datetime, timezone: str) -> tuple[Funds, int]:
    """The money a call of ``account`` (a ``subject`` row) may spend, and the account paying it: its own balance, or
    its company's pool (that row locked here, after the account's: every path locks a pool's member first) within
    its own daily and monthly limits, counting what it spent and what its open calls hold (days and months of the
    ``timezone`` setting)."""
    if account.pool != COMPANY_POOL or account.parent_id is None:
        reserved, calls = held(conn, account.id)
        return Funds(account.balance, account.credit_limit, reserved, calls, account.max_calls), account.id
    pool = pool_funds(conn, account.parent_id)
    own_held, calls = _HELD_BY.first(conn, account.id, OPEN.value)
    limits = SpendLimits(account.daily_limit, account.monthly_limit)
    cap = None
    if limits != SpendLimits():
        zone = ZoneInfo(timezone)
        today, month = (preset(name, zone, now)[0] for name in ("today", "month"))
        spent = [
            int(conn.execute(_SPENT, {"account_id": account.id, "since": since}).scalar_one())
            for since in (today, month)
        ]
        cap = limits.cap(spent[0] + int(own_held), spent[1] + int(own_held))
    return Funds(pool.balance, pool.credit_limit, pool.reserved, calls, account.max_calls, cap), account.parent_id


def pool_funds(conn: Connection, company_id: int) -> Funds:
    """A company's pool: its balance and credit limit (its row locked, after its member's) and what the calls on it
    hold."""
    balance, credit_limit = _PAYER_LOCKED.first(conn, company_id)
    reserved, calls = held(conn, company_id)
    return Funds(balance, credit_limit, reserved, calls, None)
