"""Who an incoming call is for: the account a called number reaches, found and locked in one select.

A number reaches an account when it is one of its DIDs (`asteriskbill dids`) or its extension; a DID comes first,
so a DID that happens to equal another account's extension still rings the account it was given to.
"""

from __future__ import annotations

from sqlalchemy import Connection, bindparam, func, select
from sqlalchemy.orm import aliased

from asteriskbill.billing.authorize import BillStatus
from asteriskbill.services.calls import Login, locked_subject_select, subject_of
from asteriskbill.store.models import Account, Did

_called = bindparam("called", type_=Did.number.type)
_BY_DID = select(Did.account_id).where(Did.number == _called).scalar_subquery()
_named = aliased(Account)  # the account an extension number names: its own FROM, not the locked row's
_BY_EXTENSION = select(_named.id).where(_named.extension == _called).scalar_subquery()
_CALLED_LOCKED = locked_subject_select(Account.id == func.coalesce(_BY_DID, _BY_EXTENSION), "called")


def locked_called_subject(conn: Connection, called: str):
    """``calls.locked_subject`` of the account ``called`` reaches, locked; or the Login saying why there is none
    (or none to ring: the call rings the account's extension)."""
    row = _CALLED_LOCKED.first(conn, called) if called else None
    if row is None:
        reason = f"no DID or extension {called!r} (see `asteriskbill dids list`)" if called else "no number called"
        return Login(BillStatus.UNKNOWN_ACCOUNT, reason=reason)
    found = subject_of(row)
    if not found.extension:  # its extension was taken away since its DID was given: nothing to ring
        return Login(BillStatus.UNKNOWN_ACCOUNT, found.id, f"{found.name} has no extension to ring")
    return found
