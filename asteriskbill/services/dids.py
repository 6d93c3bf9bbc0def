"""DID use cases: give an account a number of ours (a toll-free or direct number), take it back, list them.

A call to a DID is an incoming call of its account (services/incoming.py finds it; lifecycle.authorize_incoming_in
bills it by the account's incoming tariff) and rings the account's extension, so a DID goes to an extension account
that has one. Each change is audited with the account it concerns.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, Engine, delete, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import aliased

from asteriskbill.billing import accounts as rules
from asteriskbill.billing.incoming import check_did
from asteriskbill.errors import UserError
from asteriskbill.services import accounts, audit
from asteriskbill.store.models import Account, Did, Tariff
from asteriskbill.store.types import utcnow


@dataclass(frozen=True)
class DidView:
    number: str
    account: str
    extension: str | None  # what a call to the number rings
    incoming_tariff: str | None  # what such a call costs the account; None: not billed
    created_at: datetime


def add(engine: Engine, operator: str, number: str, account_name: str) -> DidView:
    """Calls to ``number`` become incoming calls of ``account_name``, ringing its extension."""
    number = check_did(number)
    try:
        with engine.begin() as conn:
            account = accounts.find(conn, account_name, lock=True)
            _check_callable(account)
            holder = conn.execute(select(Account.name).where(Account.extension == number)).scalar()
            if holder is not None:  # a call to that number reaches the extension's account already
                raise UserError(f"{number} is the extension of account {holder}: calls to it reach {holder}")
            conn.execute(insert(Did).values(number=number, account_id=account.id, created_at=utcnow()))
            audit.record(conn, operator, "did.add", number, {"account": account.name})
            return _listed(conn, number)[0]
    except IntegrityError:  # the number was given to an account already (now, or by a concurrent add)
        raise UserError(
            f"DID {number} belongs to an account already: `asteriskbill dids remove {number}` first"
        ) from None


def _check_callable(account: accounts.AccountView) -> None:
    if account.kind != rules.EXTENSION or not account.extension:
        raise UserError(f"{account.kind} {account.name} has no extension to ring: a DID goes to an extension account")
    if account.status == rules.CLOSED:
        raise UserError(f"{account.kind} {account.name} is closed")


def remove(engine: Engine, operator: str, number: str) -> DidView:
    """Calls to ``number`` no longer reach anyone through asteriskbill (the inbound context refuses them)."""
    with engine.begin() as conn:
        found = _listed(conn, number.strip())
        if not found:
            raise UserError(f"no DID {number!r} (see `asteriskbill dids list`)")
        conn.execute(delete(Did).where(Did.number == found[0].number))
        audit.record(conn, operator, "did.remove", found[0].number, {"account": found[0].account})
        return found[0]


def list_dids(engine: Engine, account: str | None = None) -> list[DidView]:
    """The DIDs by number, or those of one account."""
    with engine.begin() as conn:
        account_id = None if account is None else accounts.find(conn, account).id
        return _listed(conn, None, account_id)


_incoming = aliased(Tariff)


def _listed(conn: Connection, number: str | None, account_id: int | None = None) -> list[DidView]:
    query = (
        select(Did.number, Account.name, Account.extension, _incoming.name, Did.created_at)
        .join(Account, Account.id == Did.account_id)
        .outerjoin(_incoming, _incoming.id == Account.incoming_tariff_id)
        .order_by(Did.number)
    )
    if number is not None:
        query = query.where(Did.number == number)
    if account_id is not None:
        query = query.where(Did.account_id == account_id)
    return [DidView(*row) for row in conn.execute(query)]
