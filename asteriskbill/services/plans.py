"""Service plan use cases: add, list, show, edit, and the plan an account is put on (`accounts create|edit --plan`).

A plan's tariff gives the fee its currency: an account goes on a plan in its own currency only, and a plan's tariff
is changed only for another in the same currency, so the accounts on it stay in theirs. The fee of each cycle is
charged by services/plan_renewals.py.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

from sqlalchemy import Connection, Engine, insert, select, update
from sqlalchemy.exc import IntegrityError

from asteriskbill.billing import plans as rules
from asteriskbill.billing.accounts import CLOSED
from asteriskbill.billing.bundles import parse as parse_bundles
from asteriskbill.billing.plans import PlanError
from asteriskbill.money import format_amount
from asteriskbill.services import accounts, audit, bundles
from asteriskbill.services.tariffs import sold_tariff
from asteriskbill.store.models import Account, Plan, PlanRenewal, Tariff

MAX_NAME = 100  # plans.name is String(100)
RENEWALS_SHOWN = 20


@dataclass(frozen=True)
class PlanView:
    id: int
    name: str
    tariff: str
    currency: str  # its tariff's: the fee's
    cycle: str
    fee: int
    billing: str
    on_failure: str
    accounts: list[str] = field(default_factory=list)  # on it, closed ones left out
    created_at: datetime | None = None
    bundles: str = ""  # the minutes included each cycle (billing/bundles.py), "" for none

    @property
    def terms(self) -> str:
        """The plan's terms as people read them: 10.00 USD monthly, prepaid, suspend, with 60min:44."""
        terms = f"{format_amount(self.fee)} {self.currency} {self.cycle}, {self.billing}, {self.on_failure}"
        return f"{terms}, with {self.bundles}" if self.bundles else terms


@dataclass(frozen=True)
class RenewalView:
    """One account's renewal of one cycle."""

    account: str
    plan: str
    cycle_start: date
    fee: int
    outcome: str
    created_at: datetime
    updated_at: datetime | None


def _check_name(name: str) -> str:
    if not name.strip() or name != name.strip() or len(name) > MAX_NAME:
        raise PlanError(f"plan name {name!r} must be 1 to {MAX_NAME} characters, without spaces around")
    return name


_VIEW = select(Plan.__table__, Tariff.name.label("tariff"), Tariff.currency).join(Tariff, Tariff.id == Plan.tariff_id)


def _row(conn: Connection, name: str, *, lock: bool = False):
    query = _VIEW.where(Plan.name == name)
    row = conn.execute(query.with_for_update(of=Plan) if lock else query).one_or_none()
    if row is None:
        raise PlanError(f"no plan named {name!r} (see `asteriskbill plans list`)")
    return row


def _views(conn: Connection, rows) -> list[PlanView]:
    members: dict[int, list[str]] = {}
    query = select(Account.plan_id, Account.name).where(
        Account.plan_id.in_([row.id for row in rows]), Account.status != CLOSED
    )
    for plan_id, name in conn.execute(query.order_by(Account.name)):
        members.setdefault(plan_id, []).append(name)
    return [
        PlanView(
            row.id,
            row.name,
            row.tariff,
            row.currency,
            row.cycle,
            row.fee,
            row.billing,
            row.on_failure,
            members.get(row.id, []),
            row.created_at,
            row.bundles,
        )
        for row in rows
    ]


def find(conn: Connection, name: str) -> PlanView:
    """The plan named ``name`` (an account is put on it), or one clear error."""
    return _views(conn, [_row(conn, name)])[0]


def check_account_currency(account: str, currency: str, plan: PlanView) -> None:
    """An account goes on a plan whose fee and tariff are in its own currency."""
    if plan.currency != currency:
        raise PlanError(
            f"plan {plan.name} is in {plan.currency} (tariff {plan.tariff}), account {account} is in {currency}: "
            "an account goes on a plan in its own currency"
        )


def add_plan(
    engine: Engine,
    operator: str,
    name: str,
    tariff: str,
    cycle: str,
    fee: int,
    billing: str = rules.PREPAID,
    on_failure: str = rules.SUSPEND,
    bundles: str = "",
) -> PlanView:
    """A new plan; its ``bundles`` of minutes (``60min:44,49;100min:local``) are fixed once it is made: the accounts
    on it count what is left of each by its place among them."""
    values = {
        "bundles": ";".join(bundle.text() for bundle in parse_bundles(bundles)),
        "name": _check_name(name),
        "cycle": rules.check_choice("cycle", cycle, rules.CYCLES),
        "fee": rules.check_fee(fee),
        "billing": rules.check_choice("billing", billing, rules.BILLINGS),
        "on_failure": rules.check_choice("on-failure", on_failure, rules.ON_FAILURE),
    }
    try:
        with engine.begin() as conn:
            tariff_id, _ = sold_tariff(conn, tariff)
            conn.execute(insert(Plan).values(tariff_id=tariff_id, **values))
            audit.record(conn, operator, "plan.add", name, {**values, "tariff": tariff, "fee": format_amount(fee)})
            return find(conn, name)
    except IntegrityError:  # added by someone else meanwhile
        raise PlanError(f"plan {name!r} exists already") from None


def list_plans(engine: Engine) -> list[PlanView]:
    with engine.begin() as conn:
        return _views(conn, conn.execute(_VIEW.order_by(Plan.name)).all())


def show_plan(engine: Engine, name: str, limit: int = RENEWALS_SHOWN) -> tuple[PlanView, list[RenewalView]]:
    """The plan and its latest renewals, newest first."""
    with engine.begin() as conn:
        plan = find(conn, name)
        return plan, renewals(conn, PlanRenewal.plan_id == plan.id, limit)


def renewals(conn: Connection, where, limit: int | None = None) -> list[RenewalView]:
    """The renewals ``where`` picks, newest cycle first."""
    query = (
        select(
            Account.name,
            Plan.name,
            PlanRenewal.cycle_start,
            PlanRenewal.fee,
            PlanRenewal.outcome,
            PlanRenewal.created_at,
            PlanRenewal.updated_at,
        )
        .join(Account, Account.id == PlanRenewal.account_id)
        .join(Plan, Plan.id == PlanRenewal.plan_id)
        .where(where)
        .order_by(PlanRenewal.cycle_start.desc(), PlanRenewal.id.desc())
        .limit(limit)
    )
    return [RenewalView(*row) for row in conn.execute(query)]


def account_plan(engine: Engine, account_id: int, name: str) -> tuple[PlanView, RenewalView | None]:
    """Plan ``name`` of an account, and the account's latest renewal (`accounts show`)."""
    with engine.begin() as conn:
        found = renewals(conn, PlanRenewal.account_id == account_id, 1)
        return find(conn, name), found[0] if found else None


def edit_plan(
    engine: Engine,
    operator: str,
    name: str,
    *,
    tariff: str | None = None,
    cycle: str | None = None,
    fee: int | None = None,
    billing: str | None = None,
    on_failure: str | None = None,
) -> PlanView:
    """Change a plan's terms, from its next renewal on (a cycle charged already stays charged)."""
    for what, value, choices in (
        ("cycle", cycle, rules.CYCLES),
        ("billing", billing, rules.BILLINGS),
        ("on-failure", on_failure, rules.ON_FAILURE),
    ):
        if value is not None:
            rules.check_choice(what, value, choices)
    if fee is not None:
        rules.check_fee(fee)
    given: dict[str, object] = {"cycle": cycle, "fee": fee, "billing": billing, "on_failure": on_failure}
    with engine.begin() as conn:
        row = _row(conn, name, lock=True)
        was = row._mapping
        values = {key: value for key, value in given.items() if value is not None and value != was[key]}
        detail = {key: f"{_shown(key, was[key])} → {_shown(key, value)}" for key, value in values.items()}
        if tariff is not None and tariff != row.tariff:
            values["tariff_id"] = _same_currency_tariff(conn, row, tariff)
            detail["tariff"] = f"{row.tariff} → {tariff}"
        if not values:
            raise PlanError(
                f"nothing to change for plan {name}: give --tariff, --cycle, --fee, --billing or --on-failure "
                "with a new value"
            )
        conn.execute(update(Plan).where(Plan.id == row.id).values(**values))
        audit.record(conn, operator, "plan.edit", name, detail)
        return find(conn, name)


def _same_currency_tariff(conn: Connection, row, tariff: str) -> int:
    tariff_id, found = sold_tariff(conn, tariff)
    if found.currency != row.currency:
        raise PlanError(
            f"tariff {tariff} is in {found.currency}, plan {row.name} in {row.currency}: its accounts are in "
            f"{row.currency}, so its tariff stays in {row.currency}"
        )
    return tariff_id


def _shown(key: str, value) -> str:
    return format_amount(value) if key == "fee" else str(value)


def bundles_left(engine: Engine, account: str) -> list[bundles.BundleLeft]:
    """What the account named ``account`` has left of its plan's bundles this cycle."""
    with engine.begin() as conn:
        account_id = accounts.find(conn, account).id
    return bundles.account_bundles(engine, account_id)
