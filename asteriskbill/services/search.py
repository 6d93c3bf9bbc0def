"""The console's search box: an account or a card by whatever the operator has at hand — a part of an account's
name, a card number or its start, a caller ID (a card's, or an extension's number), an accountcode.

With a million cards every lookup reads an index: equality, or a range for a start of digits. Only the name is
searched as a substring, and only among the accounts that are not cards (few; found by ix_accounts_kind)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, Connection, Engine, Select, and_, func, select

from asteriskbill.billing.accounts import CARD, KINDS
from asteriskbill.billing.numbers import is_digits
from asteriskbill.services import accounts, cards
from asteriskbill.store.engine import reading
from asteriskbill.store.models import Account, Card, CardCallerId
from asteriskbill.store.types import utcnow

ACCOUNT = "account"  # a hit is an account, or a card (CARD): its page is /account/<name> or /card/<number>
NOT_CARDS = tuple(kind for kind in KINDS if kind != CARD)
_SEPARATORS = re.compile(r"[\s\-]")  # as typed in a number: 4000 1234-5676


@dataclass(frozen=True)
class Found:
    kind: str  # ACCOUNT or CARD
    key: str  # the account's name or the card's number
    label: str  # what it is: "extension of acme", "card of batch batch-3"
    status: str  # as calls see it now: an account's effective status, a card's decided status
    balance: int
    currency: str
    why: str  # what matched: name, number, callerid, extension or accountcode


def find(engine: Engine, text: str, limit: int = 20) -> list[Found]:
    """Up to ``limit`` accounts and cards matching ``text``: by extension, accountcode, caller ID, card number, then
    name; each once, by the first of these ways that finds it."""
    text = text.strip()
    hits: dict[tuple[str, str], str] = {}  # (kind, key) -> why
    with reading(engine) as conn:
        for kind, why, query in _lookups(text):
            for key in conn.execute(query.limit(limit)).scalars():
                hits.setdefault((kind, key), why)
            if len(hits) >= limit:
                break
        now = utcnow()
        return [_found(conn, kind, key, why, now) for (kind, key), why in list(hits.items())[:limit]]


def _lookups(text: str) -> Iterator[tuple[str, str, Select]]:
    """(what it finds, why, the query of its keys) for each way ``text`` may name an account or a card."""
    if not text:
        return
    yield ACCOUNT, "extension", select(Account.name).where(Account.extension == text)
    yield ACCOUNT, "accountcode", select(Account.name).where(Account.accountcode == text)
    digits = _SEPARATORS.sub("", text).removeprefix("+")
    if is_digits(digits):
        callerids = select(Card.number).join(CardCallerId, CardCallerId.card_id == Card.id)
        callerids = callerids.where(_starts(CardCallerId.callerid, digits)).order_by(CardCallerId.callerid)
        yield CARD, "callerid", callerids
        yield CARD, "number", select(Card.number).where(_starts(Card.number, digits)).order_by(Card.number)
    # ordered by lower(name): no index has it, so the planner never walks the names of every card instead
    named = select(Account.name).where(Account.kind.in_(NOT_CARDS), Account.name.icontains(text, autoescape=True))
    yield ACCOUNT, "name", named.order_by(func.lower(Account.name), Account.name)


def _starts(column, digits: str) -> ColumnElement[bool]:
    """``column`` (digits only) starts with ``digits``, as a range of its index: LIKE '4000%' reads no index on
    PostgreSQL outside the C collation, nor on SQLite (whose LIKE ignores case)."""
    stem = digits.rstrip("9")  # 4199 -> up to 42; 99 -> no upper bound
    if not stem:
        return column >= digits
    return and_(column >= digits, column < stem[:-1] + str(int(stem[-1]) + 1))


def _found(conn: Connection, kind: str, key: str, why: str, now: datetime) -> Found:
    if kind == CARD:
        card = cards.find(conn, key, now=now)
        return Found(kind, key, f"card of batch {card.batch}", card.status, card.balance, card.currency, why)
    account = accounts.find(conn, key)
    label = account.kind if account.parent is None else f"{account.kind} of {account.parent}"
    return Found(kind, key, label, account.effective_status, account.balance, account.currency, why)
