"""The ledger: the ONE place where balances change.

``post`` locks the account row, refuses what the ledger rules refuse, moves the balance and writes the
entry with the balance after it, all in the caller's transaction, so the entry and the cause of the
change (a recharge, a call, a card sale) commit together or not at all.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import NamedTuple

from sqlalchemy import (
    BigInteger,
    Connection,
    Engine,
    Row,
    Select,
    and_,
    bindparam,
    cast,
    exists,
    func,
    insert,
    literal,
    select,
    update,
)

from asteriskbill.billing.accounts import ACTIVE
from asteriskbill.billing.ledger import RECHARGE, LedgerError, check_posting
from asteriskbill.money import MICRO, Limits
from asteriskbill.money import format_amount as fmt
from asteriskbill.settings import Settings
from asteriskbill.store.models import Account, LedgerEntry
from asteriskbill.store.rawsql import RawSelectIn, RawWrite
from asteriskbill.store.types import utcnow


@dataclass(frozen=True)
class Entry:
    id: int
    account_id: int
    kind: str
    amount: int
    balance_after: int
    reference: str | None
    note: str | None
    operator: str
    created_at: datetime


@dataclass(frozen=True)
class Posting:
    """One change of ``post_many``'s batch."""

    account_id: int
    kind: str
    amount: int
    reference: str | None = None
    note: str | None = None


class Locked(NamedTuple):
    """An account row ``lock_many`` locked."""

    id: int
    name: str
    balance: int
    status: str
    currency: str


# Built once: every call charge posts here, and a statement object memoizes its cache key.
_LOCK = (
    select(Account.name, Account.balance, Account.status).where(Account.id == bindparam("account_id")).with_for_update()
)
# In id order: PostgreSQL locks the rows as it returns them, so two transactions locking overlapping sets of
# accounts take them in the same order and never wait on each other in a cycle.
_LOCK_MANY = RawSelectIn(
    lambda ids: (
        select(*(Account.__table__.c[name] for name in Locked._fields))
        .where(Account.id.in_(ids))
        .order_by(Account.id)
        .with_for_update()
    )
)
_SET_BALANCE = update(Account).where(Account.id == bindparam("account_id")).values(balance=bindparam("after"))
_SET_BALANCES = RawWrite(_SET_BALANCE, "account_id", "after")
_NEW_ENTRY = insert(LedgerEntry).returning(LedgerEntry.id)
_ENTRY = ("account_id", "kind", "amount", "balance_after", "reference", "note", "operator", "created_at")
_NEW_ENTRIES = RawWrite(insert(LedgerEntry).values({key: bindparam(key) for key in _ENTRY}), *_ENTRY)
# The first recharge of an order (index ix_ledger_entries_account_id_reference).
_FIRST_OF_ORDER = (
    select(LedgerEntry.id, LedgerEntry.created_at)
    .where(
        LedgerEntry.account_id == bindparam("account_id"),
        LedgerEntry.reference == bindparam("order"),
        LedgerEntry.kind == RECHARGE,
    )
    .order_by(LedgerEntry.id)
    .limit(1)
)


def limits(settings: Settings) -> Limits:
    """The bounds of an operator's posting, from the settings (whole units) in micro-units."""
    return Limits(amount=settings.max_amount * MICRO, balance=settings.max_balance * MICRO)


def _lock(conn: Connection, account_id: int) -> Row:
    account = conn.execute(_LOCK, {"account_id": account_id}).one_or_none()
    if account is None:
        raise LedgerError(f"no account with id {account_id}")
    return account


def post(
    conn: Connection,
    account_id: int,
    kind: str,
    amount: int,
    *,
    operator: str,
    reference: str | None = None,
    note: str | None = None,
    limits: Limits | None = None,
) -> Entry:
    """Change one balance by ``amount`` micro-units and write its ledger entry, in ``conn``'s transaction;
    ``limits`` (an operator's posting) refuses an amount or a resulting balance beyond them."""
    return _write(conn, account_id, _lock(conn, account_id), kind, amount, operator, reference, note, limits)


def _write(
    conn: Connection,
    account_id: int,
    account: Row,
    kind: str,
    amount: int,
    operator: str,
    reference: str | None,
    note: str | None,
    limits: Limits | None,
) -> Entry:
    """The posting on account ``account_id``, whose row ``_lock`` locked and read as ``account``."""
    check_posting(kind, amount, account.name, account.status)
    after = account.balance + amount
    if limits is not None:
        limits.check(amount, after, account.name)
    conn.execute(_SET_BALANCE, {"account_id": account_id, "after": after})
    posting = Posting(account_id, kind, amount, reference, note)
    values = dict(zip(_ENTRY, _entry(posting, after, operator, utcnow()), strict=True))
    entry_id = conn.execute(_NEW_ENTRY, values).scalar_one()
    return Entry(id=entry_id, **values)


def lock_many(conn: Connection, account_ids: Iterable[int]) -> dict[int, Locked]:
    """Lock these accounts' rows (in id order) for ``post_many``."""
    ids = sorted(set(account_ids))
    if not ids:
        return {}
    found = {row[0]: Locked._make(row) for row in _LOCK_MANY.rows(conn, ids)}
    for account_id in ids:
        if account_id not in found:
            raise LedgerError(f"no account with id {account_id}")
    return found


def post_many(conn: Connection, accounts: Mapping[int, Locked], postings: Sequence[Posting], *, operator: str) -> None:
    """``post`` each of ``postings`` in order, on ``accounts`` that ``lock_many`` locked: the entries of one account
    chain their balance_after as ``check`` verifies, in two statements for the whole batch."""
    balances: dict[int, int] = {}
    entries = []
    now = utcnow()
    for posting in postings:
        account = accounts[posting.account_id]
        check_posting(posting.kind, posting.amount, account.name, account.status)
        after = balances.get(posting.account_id, account.balance) + posting.amount
        balances[posting.account_id] = after
        entries.append(_entry(posting, after, operator, now))
    if entries:  # executemany keeps their order: entry ids grow along each account's chain
        _NEW_ENTRIES.many(conn, entries)
        _SET_BALANCES.many(conn, list(balances.items()))


def _entry(posting: Posting, after: int, operator: str, now: datetime) -> tuple:
    """An entry's values, in ``_ENTRY`` order."""
    return (posting.account_id, posting.kind, posting.amount, after, posting.reference, posting.note, operator, now)


def recharge(
    conn: Connection,
    account_id: int,
    amount: int,
    *,
    operator: str,
    limits: Limits,
    order: str | None = None,
    note: str | None = None,
    allow_duplicate_order: bool = False,
) -> Entry:
    """A payment in, with its order number: refused when the account was recharged with that order already
    (unless ``allow_duplicate_order``). The order is looked up under the account's row lock, so of two
    recharges at once with the same order the second sees the first."""
    account = _lock(conn, account_id)
    first = (
        None
        if order is None or allow_duplicate_order
        else conn.execute(_FIRST_OF_ORDER, {"account_id": account_id, "order": order}).one_or_none()
    )
    if first is not None:
        raise LedgerError(
            f"order {order} was already recharged on {first.created_at:%Y-%m-%d %H:%M} UTC (ledger entry "
            f"{first.id}); --allow-duplicate-order to recharge again"
        )
    return _write(conn, account_id, account, RECHARGE, amount, operator, order, note, limits)


def recharged(what: str, amount: int, currency: str, order: str | None, balance: int) -> str:
    """What a recharge answers, on the command line and in the console."""
    ordered = f" (order {order})" if order else ""
    return f"recharged {what} with {fmt(amount)} {currency}{ordered}: balance {fmt(balance)} {currency}"


def credit_new_accounts(
    conn: Connection,
    account_ids: Select,
    kind: str,
    amount: int,
    *,
    operator: str,
    reference: str | None = None,
    note: str | None = None,
) -> int:
    """``post`` for many accounts created in this transaction (balance 0, no entries yet), set-based.

    ``account_ids`` is a SELECT of one column of account ids. Card generation credits every card of a
    batch its face value this way: two statements for the whole batch instead of three per card.
    Returns how many accounts were credited.
    """
    check_posting(kind, amount, "(new)", ACTIVE)
    ids = account_ids.scalar_subquery()
    fresh = and_(Account.id.in_(ids), Account.balance == 0, ~exists().where(LedgerEntry.account_id == Account.id))
    expected = conn.execute(select(func.count()).select_from(account_ids.subquery())).scalar_one()
    if conn.execute(update(Account).where(fresh).values(balance=amount)).rowcount != expected:
        raise ValueError("credit_new_accounts is for new accounts with a zero balance and no ledger entries")
    values = {
        "kind": kind,
        "amount": amount,
        "balance_after": amount,
        "reference": reference,
        "note": note,
        "operator": operator,
        "created_at": utcnow(),
    }
    conn.execute(
        insert(LedgerEntry).from_select(
            ["account_id", *values],
            select(
                Account.id, *(literal(v, LedgerEntry.__table__.c[k].type).label(k) for k, v in values.items())
            ).where(Account.id.in_(ids)),
        )
    )
    return expected


def entries(conn: Connection, account_id: int, limit: int | None = None, after: int | None = None) -> list[Entry]:
    """An account's ledger entries, newest first; ``after``: those older than entry ``after`` (the next page)."""
    query = (
        select(*LedgerEntry.__table__.columns)
        .where(LedgerEntry.account_id == account_id)
        .order_by(LedgerEntry.id.desc())
        .limit(limit)
    )
    if after is not None:
        query = query.where(LedgerEntry.id < after)
    return [Entry(**row._mapping) for row in conn.execute(query)]


@dataclass(frozen=True)
class Difference:
    """An account whose balance disagrees with its ledger."""

    account: str
    currency: str
    problem: str


def _sum_differences(conn: Connection) -> Sequence[Row[tuple[str, str, int, int]]]:
    """(name, currency, balance, total) of the accounts whose balance is not the sum of their entries."""
    total = cast(func.coalesce(func.sum(LedgerEntry.amount), 0), BigInteger)  # PostgreSQL sums to NUMERIC
    return conn.execute(
        select(Account.name, Account.currency, Account.balance, total.label("total"))
        .join(LedgerEntry, LedgerEntry.account_id == Account.id, isouter=True)
        .group_by(Account.id, Account.name, Account.currency, Account.balance)
        .having(total != Account.balance)
        .order_by(Account.name)
    ).all()


def _chain_breaks(conn: Connection) -> Sequence[Row[tuple[str, str, int, int, int, int]]]:
    """(name, currency, id, previous, amount, balance_after) of the entries whose balance_after is not the
    previous entry's plus their own amount."""
    previous = func.coalesce(
        func.lag(LedgerEntry.balance_after).over(partition_by=LedgerEntry.account_id, order_by=LedgerEntry.id), 0
    )
    chained = select(
        LedgerEntry.id,
        LedgerEntry.account_id,
        LedgerEntry.amount,
        LedgerEntry.balance_after,
        previous.label("previous"),
    ).subquery()
    return conn.execute(
        select(
            Account.name, Account.currency, chained.c.id, chained.c.previous, chained.c.amount, chained.c.balance_after
        )
        .join(chained, chained.c.account_id == Account.id)
        .where(chained.c.previous + chained.c.amount != chained.c.balance_after)
        .order_by(Account.name, chained.c.id)
    ).all()


def check(engine: Engine) -> tuple[int, list[Difference]]:
    """(accounts checked, differences): every balance must equal the sum of its ledger entries,
    and every entry's balance_after the one before plus its amount."""
    with engine.begin() as conn:
        accounts = conn.execute(select(func.count()).select_from(Account)).scalar_one()
        sums = _sum_differences(conn)
        breaks = _chain_breaks(conn)
    found = [
        Difference(
            r.name,
            r.currency,
            f"balance {fmt(r.balance)} {r.currency} but ledger entries sum to {fmt(r.total)} "
            f"{r.currency} (difference {fmt(r.balance - r.total)})",
        )
        for r in sums
    ]
    found += [
        Difference(
            r.name,
            r.currency,
            f"ledger entry {r.id}: balance after {fmt(r.balance_after)} {r.currency} is not "
            f"{fmt(r.previous)} + {fmt(r.amount)}",
        )
        for r in breaks
    ]
    return accounts, found
