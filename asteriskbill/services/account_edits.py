"""Change an account's settings: its tariff, credit limit, simultaneous calls, extension, accountcode, booth flag,
routing group, service plan, incoming tariff, and whose balance it spends (its own or its company's pool, with its
spending limits).

An edited account meets the rules a new one does (services/accounts.py: check_new, check_free, check_placement),
checked in one transaction with its row locked. The audit entry says old → new for each field changed. The
balance is not among the fields: it changes only through the ledger. Its kind, name, company and currency stay.
A change applies from the account's next call: a call up now keeps the prices and routes it was authorized with.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from sqlalchemy import Connection, Engine, exists, select, update
from sqlalchemy.exc import IntegrityError

from asteriskbill.billing import accounts as rules
from asteriskbill.billing.accounts import AccountError
from asteriskbill.money import format_amount
from asteriskbill.services import accounts, audit, routing_groups
from asteriskbill.services.accounts import AccountView, NewAccount
from asteriskbill.services.tariffs import incoming_tariff_id, sold_tariff
from asteriskbill.store.models import Account, BoothSession
from asteriskbill.store.types import utcnow

EDITABLE = (
    "tariff", "credit_limit", "max_calls", "extension", "accountcode", "booth", "routing_group", "plan",
    "incoming_tariff", "pool", "daily_limit", "monthly_limit",
)  # fmt: skip
# blank: none (a tariff: its plan's, else its company's; a routing group: its company's, else its tariff's; an
# incoming tariff: calls to it are not billed)
TEXT = ("tariff", "extension", "accountcode", "routing_group", "plan", "incoming_tariff")


def edit(engine: Engine, operator: str, name: str, changes: Mapping[str, object]) -> AccountView:
    """Account ``name`` with ``changes`` (field -> new value, None or blank text clearing it); fields given
    with their present value are left alone, and an edit that changes nothing records nothing."""
    unknown = sorted(set(changes) - set(EDITABLE))
    if unknown:
        raise AccountError(f"cannot change {', '.join(unknown)} of an account: only {', '.join(EDITABLE)}")
    try:
        with engine.begin() as conn:
            account = accounts.find(conn, name, lock=True)
            _check_editable(account)
            before = {field: getattr(account, field) for field in EDITABLE}
            after = {**before, **{field: _value(field, value) for field, value in changes.items()}}
            changed = [field for field in EDITABLE if after[field] != before[field]]
            if not changed:
                return account
            values = _checked(conn, account, after, changed)
            conn.execute(update(Account).where(Account.id == account.id).values(**values))
            detail = {field: f"{_shown(field, before[field])} → {_shown(field, after[field])}" for field in changed}
            audit.record(conn, operator, "account.edit", name, detail)
            return accounts.find(conn, name)
    except IntegrityError:  # a concurrent create or edit took the extension or accountcode
        raise AccountError(f"account {name}: its new extension or accountcode was taken meanwhile") from None


def differences(before: AccountView, after: AccountView) -> dict[str, str]:
    """What an edit changed, old → new, as its audit entry says it."""
    changed = [field for field in EDITABLE if getattr(after, field) != getattr(before, field)]
    return {
        field: f"{_shown(field, getattr(before, field))} → {_shown(field, getattr(after, field))}" for field in changed
    }


def _check_editable(account: AccountView) -> None:
    if account.kind == rules.CARD:
        raise AccountError(f"{account.name} is a card: cards are changed with `asteriskbill cards`")
    if account.status == rules.CLOSED:
        raise AccountError(f"{account.kind} {account.name} is closed for good: it has nothing to change")


def _value(field: str, value: Any) -> Any:
    if field in TEXT and value is not None:
        return str(value).strip() or None
    return value


def _checked(conn: Connection, account: AccountView, after: dict[str, Any], changed: list[str]) -> dict[str, Any]:
    """The columns to write, once the edited account passes the rules of a new one."""
    new = NewAccount(
        kind=account.kind,
        name=account.name,
        parent=account.parent,
        tariff=after["tariff"],
        currency=account.currency,
        credit_limit=after["credit_limit"],
        max_calls=after["max_calls"],
        extension=after["extension"],
        accountcode=after["accountcode"],
        booth=after["booth"],
        plan=after["plan"],
        incoming_tariff=after["incoming_tariff"],
        pool=after["pool"],
        daily_limit=after["daily_limit"],
        monthly_limit=after["monthly_limit"],
    )
    _check_booth(conn, account, new, changed)
    if account.kind == rules.COMPANY and "tariff" in changed and new.tariff is None:
        _check_no_account_uses_its_tariff(conn, account)
    accounts.check_new(replace(new, credit_limit=0) if new.booth else new)  # a booth's limit: checked above
    accounts.check_free(conn, new, account.id)
    parent = accounts.find(conn, account.parent) if account.parent else None
    tariff_id, tariff = sold_tariff(conn, new.tariff) if new.tariff else (None, None)
    _, plan_id = accounts.check_plan_placement(conn, new, parent, tariff)
    values = {field: after[field] for field in changed if field not in REFERENCES}
    if "tariff" in changed:
        values["tariff_id"] = tariff_id
    if "routing_group" in changed:
        group = after["routing_group"]
        values["routing_group_id"] = None if group is None else routing_groups.group_id(conn, group)
    if "plan" in changed:  # a new plan counts from now: a postpaid one charges no cycle that ended before
        values |= {"plan_id": plan_id, "plan_since": None if plan_id is None else utcnow()}
    if "incoming_tariff" in changed:
        values["incoming_tariff_id"] = incoming_tariff_id(conn, account.name, new.incoming_tariff, account.currency)
    return values


AMOUNTS = ("credit_limit", "daily_limit", "monthly_limit")
REFERENCES = (
    "tariff",
    "routing_group",
    "plan",
    "incoming_tariff",
)  # named by the operator, written as the id of what they name


def _check_booth(conn: Connection, account: AccountView, new: NewAccount, changed: list[str]) -> None:
    """A booth's credit limit is the callshop's (`callshop start` sets it, `stop` returns it to 0), and a booth
    stays one while a customer uses it."""
    if account.booth and new.booth and "credit_limit" in changed:
        raise AccountError(
            f"booth {account.name}'s credit limit is set by `asteriskbill callshop start` and returned to 0 by `stop`"
        )
    if not account.booth and new.booth and new.credit_limit:
        raise AccountError(
            f"a booth's credit limit is set by `asteriskbill callshop start`: set {account.name}'s to 0 first"
        )
    if "booth" in changed and _in_session(conn, account.id):
        raise AccountError(
            f"booth {account.name} has a session open: stop it first (`asteriskbill callshop stop {account.name}`)"
        )


def _check_no_account_uses_its_tariff(conn: Connection, company: AccountView) -> None:
    """A company's tariff stays while an open account of it has none of its own (nor a plan's): it would call on
    no tariff."""
    query = (
        select(Account.name)
        .where(Account.parent_id == company.id, Account.tariff_id.is_(None), Account.plan_id.is_(None))
        .where(Account.status != rules.CLOSED)
        .order_by(Account.name)
        .limit(3)
    )
    leaning = conn.execute(query).scalars().all()
    if leaning:
        raise AccountError(
            f"company {company.name}'s accounts {', '.join(leaning)} use its tariff: give them their own first"
        )


def _in_session(conn: Connection, account_id: int) -> bool:
    session = select(BoothSession.id).where(BoothSession.account_id == account_id, BoothSession.stopped_at.is_(None))
    return bool(conn.execute(select(exists(session))).scalar())


def _shown(field: str, value: Any) -> str:
    """A value as the audit entry shows it."""
    if value is None:
        return "none"
    if field in AMOUNTS:
        return format_amount(value)
    if field == "booth":
        return "yes" if value else "no"
    return str(value)
