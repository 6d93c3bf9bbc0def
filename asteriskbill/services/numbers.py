"""Number plans: the global one from the settings, and a company's own values over it."""

from __future__ import annotations

from dataclasses import fields

from sqlalchemy import Connection, Engine, bindparam, func, insert, select, update

from asteriskbill.billing.accounts import COMPANY
from asteriskbill.billing.numbers import Normalized, NumberPlan, is_digits, normalize
from asteriskbill.errors import UserError
from asteriskbill.services import accounts, audit
from asteriskbill.settings import Settings
from asteriskbill.store.models import Account, NumberPlanRow

PLAN_FIELDS = tuple(f.name for f in fields(NumberPlan))
MAX_LENGTHS = range(3, 21)  # digits a normalised number may have at most


def global_plan(settings: Settings) -> NumberPlan:
    return NumberPlan(
        settings.country_code,
        settings.area_code,
        settings.outside_line,
        settings.international_prefix,
        settings.national_prefix,
        settings.number_max_length,
    )


# The plan of the account's company (or its own, for a company); built once for authorizations.
_PLAN = (
    select(NumberPlanRow.__table__)
    .join(Account, func.coalesce(Account.parent_id, Account.id) == NumberPlanRow.account_id)
    .where(Account.id == bindparam("account_id"))
)


def plan_for(conn: Connection, settings: Settings, account_id: int) -> NumberPlan:
    """The global plan with the values of the account's company (or its own, for a company)."""
    row = conn.execute(_PLAN, {"account_id": account_id}).one_or_none()
    return global_plan(settings) if row is None else global_plan(settings).overridden(**row._mapping)


def normalize_for(engine: Engine, settings: Settings, dialled: str, account: str | None = None) -> Normalized:
    """What ``dialled`` becomes for ``account`` (its company's plan), or under the global plan."""
    if account is None:
        return normalize(dialled, global_plan(settings))
    with engine.begin() as conn:
        return normalize(dialled, plan_for(conn, settings, accounts.find(conn, account).id))


def show_plan(engine: Engine, settings: Settings, company: str | None) -> NumberPlan:
    if company is None:
        return global_plan(settings)
    with engine.begin() as conn:
        return plan_for(conn, settings, _company(conn, company).id)


def set_plan(engine: Engine, settings: Settings, operator: str, company: str, values: dict) -> NumberPlan:
    """Give a company its own values (None keeps what it has; "" returns to the global setting)."""
    changes = {k: (None if v == "" else v) for k, v in values.items() if k in PLAN_FIELDS and v is not None}
    for key in ("country_code", "area_code", "outside_line", "international_prefix", "national_prefix"):
        if changes.get(key) is not None and not is_digits(str(changes[key])):
            raise UserError(f"{key.replace('_', '-')} {changes[key]!r} must be digits")
    if changes.get("max_length") is not None:  # typed in the console, as text
        changes["max_length"] = _max_length(str(changes["max_length"]))
    with engine.begin() as conn:
        owner = _company(conn, company)
        exists = conn.execute(select(NumberPlanRow.id).where(NumberPlanRow.account_id == owner.id)).scalar()
        if exists is None:
            conn.execute(insert(NumberPlanRow).values(account_id=owner.id, **changes))
        elif changes:
            conn.execute(update(NumberPlanRow).where(NumberPlanRow.id == exists).values(**changes))
        audit.record(conn, operator, "numbers.plan-set", company, dict(changes.items()))
        return plan_for(conn, settings, owner.id)


def _max_length(text: str) -> int:
    if not is_digits(text) or int(text) not in MAX_LENGTHS:
        raise UserError(f"max-length {text!r} must be a whole number from {MAX_LENGTHS[0]} to {MAX_LENGTHS[-1]}")
    return int(text)


def _company(conn: Connection, name: str):
    account = accounts.find(conn, name)
    if account.kind != COMPANY:
        raise UserError(f"{name} is a {account.kind}: number plans belong to companies")
    return account
