"""Callshop use cases: start and stop a booth, its receipt, every booth's status, the preferences.

Start and stop lock the booth's account row, as authorization does before it reserves: a booth can
never start a call while it is being stopped, nor be stopped between a call's authorization and
its settlement (an open reservation refuses the stop). Money moves only through ``ledger.post``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, Engine, Row, func, insert, select, update

from asteriskbill.billing import callshop as rules
from asteriskbill.billing.callshop import Bill, BoothState, CallshopError
from asteriskbill.billing.ledger import BOOTH_CHANGE, BOOTH_PAYMENT
from asteriskbill.billing.reservation import OPEN
from asteriskbill.money import format_amount
from asteriskbill.services import accounts, audit, ledger, preferences
from asteriskbill.services.accounts import AccountView
from asteriskbill.store.models import Account, BoothSession, Cdr, Reservation
from asteriskbill.store.types import utcnow


@dataclass(frozen=True)
class Preferences:
    default_prepaid: int = 0  # 0: none
    default_credit_limit: int = 0  # 0: none, so a postpaid start needs --credit-limit


@dataclass(frozen=True)
class Started:
    booth: str
    currency: str
    mode: str
    prepaid: int
    credit_limit: int
    started_at: datetime


@dataclass(frozen=True)
class ReceiptCall:
    started_at: datetime
    number: str
    destination: str
    seconds: int  # billed
    cost: int
    outcome: str


@dataclass(frozen=True)
class Receipt:
    booth: str
    extension: str | None
    currency: str
    mode: str
    started_at: datetime
    stopped_at: datetime
    calls: list[ReceiptCall]
    bill: Bill


@dataclass(frozen=True)
class BoothStatus:
    booth: str
    extension: str | None
    currency: str
    state: str  # idle, started, in a call
    since: datetime | None  # started at; idle: stopped at (None: never used)
    mode: str | None
    total: int  # calls charged since the start
    remaining: int | None  # what it may still spend (None: idle)
    call_number: str | None  # the call in progress
    call_since: datetime | None


# --- preferences ----------------------------------------------------------------------------------


def _preferences(conn: Connection) -> Preferences:
    return Preferences(
        *(int(preferences.get(conn, name) or 0) for name in (rules.DEFAULT_PREPAID, rules.DEFAULT_CREDIT_LIMIT))
    )


def get_preferences(engine: Engine) -> Preferences:
    with engine.begin() as conn:
        return _preferences(conn)


def set_preferences(
    engine: Engine, operator: str, default_prepaid: int | None = None, default_credit_limit: int | None = None
) -> Preferences:
    """Change the defaults given (micro-units, 0 for none); the others stay as they are."""
    with engine.begin() as conn:
        for name, value in (
            (rules.DEFAULT_PREPAID, default_prepaid),
            (rules.DEFAULT_CREDIT_LIMIT, default_credit_limit),
        ):
            if value is not None:
                preferences.put(conn, name, str(value))
                audit.record(conn, operator, "callshop.preference", name, {"value": format_amount(value)})
        return _preferences(conn)


# --- start and stop -------------------------------------------------------------------------------


def _open_session(conn: Connection, account_id: int):
    return conn.execute(
        select(BoothSession.__table__).where(BoothSession.account_id == account_id, BoothSession.stopped_at.is_(None))
    ).one_or_none()


def _state(account: AccountView, session) -> BoothState:
    return BoothState(
        account.name,
        account.booth,
        account.effective_status,
        account.balance,
        account.currency,
        session and session.started_at,
    )


def _pay(
    conn: Connection, operator: str, account: AccountView, kind: str, amount: int, session_id: int, note: str
) -> None:
    """One of the customer's payments (or the change given back): a ledger entry and an audit line."""
    entry = ledger.post(
        conn, account.id, kind, amount, operator=operator, reference=f"booth session {session_id}", note=note
    )
    audit.record(
        conn,
        operator,
        f"callshop.{kind.removeprefix('booth_')}",
        account.name,
        {
            "amount": format_amount(amount),
            "currency": account.currency,
            "session": session_id,
            "balance_after": format_amount(entry.balance_after),
        },
    )


def start(
    engine: Engine,
    operator: str,
    name: str,
    prepaid: int | None = None,
    credit_limit: int | None = None,
    use_default_prepaid: bool = False,
) -> Started:
    """Open a session on booth ``name``: prepaid when money is taken now, postpaid on a credit limit."""
    with engine.begin() as conn:
        account = accounts.find(conn, name, lock=True)
        rules.check_start(_state(account, _open_session(conn, account.id)))
        defaults = _preferences(conn)
        terms = rules.terms(
            rules.prepaid_amount(prepaid, use_default_prepaid, defaults.default_prepaid),
            credit_limit,
            defaults.default_credit_limit,
        )
        now = utcnow()
        session_id = conn.execute(
            insert(BoothSession)
            .values(
                account_id=account.id,
                mode=terms.mode,
                prepaid=terms.prepaid,
                credit_limit=terms.credit_limit,
                started_at=now,
                operator=operator,
            )
            .returning(BoothSession.id)
        ).scalar_one()
        conn.execute(update(Account).where(Account.id == account.id).values(credit_limit=terms.credit_limit))
        audit.record(
            conn,
            operator,
            "callshop.start",
            name,
            {
                "session": session_id,
                "mode": terms.mode,
                "prepaid": format_amount(terms.prepaid),
                "credit_limit": format_amount(terms.credit_limit),
                "currency": account.currency,
            },
        )
        if terms.prepaid:
            _pay(conn, operator, account, BOOTH_PAYMENT, terms.prepaid, session_id, "prepaid at the start")
        return Started(name, account.currency, terms.mode, terms.prepaid, terms.credit_limit, now)


def _open_calls(conn: Connection, account_id: int) -> int:
    return conn.execute(
        select(func.count()).where(Reservation.account_id == account_id, Reservation.status == OPEN)
    ).scalar_one()


def _calls(conn: Connection, account_id: int, since: datetime, until: datetime) -> list[ReceiptCall]:
    """The booth's calls settled during a session, in the order they were made."""
    rows = conn.execute(
        select(Cdr.started_at, Cdr.number, Cdr.destination, Cdr.billed_seconds, Cdr.cost, Cdr.outcome)
        .where(Cdr.account_id == account_id, Cdr.created_at >= since, Cdr.created_at <= until)
        .order_by(Cdr.started_at, Cdr.id)
    ).all()
    return [ReceiptCall(*row) for row in rows]


def stop(engine: Engine, operator: str, name: str) -> Receipt:
    """Close booth ``name``'s session: charge nothing more, settle the money to 0, and give its receipt."""
    with engine.begin() as conn:
        account = accounts.find(conn, name, lock=True)
        session = _open_session(conn, account.id)
        rules.check_stop(_state(account, session), _open_calls(conn, account.id))
        now = utcnow()
        calls = _calls(conn, account.id, session.started_at, now)
        bill = rules.bill_at_stop(account.balance, sum(call.cost for call in calls))
        if bill.change:
            _pay(conn, operator, account, BOOTH_CHANGE, -bill.change, session.id, "change at the stop")
        if bill.due:
            _pay(conn, operator, account, BOOTH_PAYMENT, bill.due, session.id, "paid at the stop")
        conn.execute(update(Account).where(Account.id == account.id).values(credit_limit=0))
        conn.execute(
            update(BoothSession)
            .where(BoothSession.id == session.id)
            .values(stopped_at=now, total=bill.total, paid=bill.settlement)
        )
        audit.record(
            conn,
            operator,
            "callshop.stop",
            name,
            {
                "session": session.id,
                "calls": len(calls),
                "total": format_amount(bill.total),
                "paid": format_amount(bill.paid),
                "change": format_amount(bill.change),
                "due": format_amount(bill.due),
                "currency": account.currency,
            },
        )
        return Receipt(name, account.extension, account.currency, session.mode, session.started_at, now, calls, bill)


def last_receipt(engine: Engine, name: str) -> Receipt:
    """The receipt of the booth's last stopped session, again (a jammed printer, a second copy)."""
    with engine.begin() as conn:
        account = accounts.find(conn, name)
        rules.check_booth(_state(account, None))
        session = conn.execute(
            select(BoothSession.__table__)
            .where(BoothSession.account_id == account.id, BoothSession.stopped_at.is_not(None))
            .order_by(BoothSession.stopped_at.desc())
            .limit(1)
        ).one_or_none()
        if session is None:
            raise CallshopError(f"booth {name} has not been stopped yet: there is no receipt")
        calls = _calls(conn, account.id, session.started_at, session.stopped_at)
        return Receipt(
            name,
            account.extension,
            account.currency,
            session.mode,
            session.started_at,
            session.stopped_at,
            calls,
            Bill(session.total, session.total - session.paid),
        )


# --- status ---------------------------------------------------------------------------------------


def status(engine: Engine) -> list[BoothStatus]:
    """Every booth by name: idle, started or in a call, with what its session has cost so far."""
    with engine.begin() as conn:
        booths = conn.execute(
            select(Account.id, Account.name, Account.extension, Account.currency, Account.balance, Account.credit_limit)
            .where(Account.booth)
            .order_by(Account.name)
        ).all()
        sessions = {
            s.account_id: s
            for s in conn.execute(
                select(BoothSession.__table__)
                .join(Account, Account.id == BoothSession.account_id)
                .where(Account.booth, BoothSession.stopped_at.is_(None))
            )
        }
        last_stops = dict(
            conn.execute(
                select(BoothSession.account_id, func.max(BoothSession.stopped_at)).group_by(BoothSession.account_id)
            )
            .tuples()
            .all()
        )
        calls: dict[int, Row[tuple[int, str, datetime]]] = {}
        for row in conn.execute(
            select(Reservation.account_id, Reservation.number, Reservation.created_at)
            .join(Account, Account.id == Reservation.account_id)
            .where(Account.booth, Reservation.status == OPEN)
            .order_by(Reservation.created_at)
        ):
            calls.setdefault(row.account_id, row)
        totals = dict(
            conn.execute(
                select(Cdr.account_id, func.sum(Cdr.cost))
                .join(BoothSession, BoothSession.account_id == Cdr.account_id)
                .where(BoothSession.stopped_at.is_(None), Cdr.created_at >= BoothSession.started_at)
                .group_by(Cdr.account_id)
            )
            .tuples()
            .all()
        )
    return [
        _booth_status(b, sessions.get(b.id), last_stops.get(b.id), calls.get(b.id), int(totals.get(b.id) or 0))
        for b in booths
    ]


def _booth_status(booth, session, last_stop: datetime | None, call, total: int) -> BoothStatus:
    if session is None:
        return BoothStatus(
            booth.name, booth.extension, booth.currency, rules.IDLE, last_stop, None, 0, None, None, None
        )
    return BoothStatus(
        booth.name,
        booth.extension,
        booth.currency,
        rules.IN_A_CALL if call else rules.STARTED,
        session.started_at,
        session.mode,
        total,
        rules.remaining(booth.balance, booth.credit_limit),
        call and call.number,
        call and call.created_at,
    )
