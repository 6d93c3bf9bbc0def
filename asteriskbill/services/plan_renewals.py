"""Renewing the service plans: each account on a plan pays the fee of its due cycle once (billing/plans.py).

`serve` runs ``renew`` every minute and `asteriskbill plans renew` from cron. Each account is renewed in its own
transaction: its row locked first (as an authorization and a recharge lock it), its renewal of the cycle looked up,
then the ledger entry of the fee, the plan_renewals row, the freeze or unfreeze and the audit entry, committed
together. Of two renewals at once the second waits on that lock and then finds the first's row; the row's
UNIQUE (account, cycle) is the backstop: a second insert fails its whole transaction, ledger entry included.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, tzinfo

from sqlalchemy import Connection, Engine, bindparam, insert, or_, select, update
from sqlalchemy.exc import IntegrityError

from asteriskbill.billing import plans as rules
from asteriskbill.billing.accounts import CLOSED, COMPANY_POOL
from asteriskbill.billing.authorize import Funds
from asteriskbill.billing.ledger import PLAN_FEE
from asteriskbill.billing.plans import DEBT, SUSPENDED, Cycle
from asteriskbill.money import format_amount
from asteriskbill.services import accounts, audit, bundles, ledger
from asteriskbill.services.calls import ENGINE_OPERATOR, held, pool_funds
from asteriskbill.store.models import Account, Plan, PlanRenewal
from asteriskbill.store.types import utcnow


@dataclass(frozen=True)
class Renewed:
    """What one account's renewal did."""

    account: str
    plan: str
    cycle: str  # its label: 2026-12, week of 2026-12-07, 2026-12-07
    outcome: str  # billing.plans.OUTCOMES
    fee: int  # the plan's fee; charged unless suspended
    currency: str
    balance: int  # after it
    unfrozen: bool = False

    @property
    def line(self) -> str:
        """One line for the operator and serve's log."""
        fee, balance = (f"{format_amount(amount)} {self.currency}" for amount in (self.fee, self.balance))
        what = f"{self.account}: plan {self.plan}, {self.cycle}:"
        if self.outcome == SUSPENDED:
            return f"{what} fee {fee} not paid (balance {balance}): frozen"
        debt = " into debt" if self.outcome == DEBT else ""
        return f"{what} charged {fee}{debt}, balance {balance}" + (", unfrozen" if self.unfrozen else "")


_LOCKED = (
    select(
        Account.id,
        Account.name,
        Account.status,
        Account.balance,
        Account.credit_limit,
        Account.currency,
        Account.plan_since,
        Account.pool,
        Account.parent_id,
        Plan.id.label("plan_id"),
        Plan.name.label("plan"),
        Plan.cycle,
        Plan.fee,
        Plan.billing,
        Plan.on_failure,
    )
    .join(Plan, Plan.id == Account.plan_id)
    .where(Account.id == bindparam("account_id"))
    .with_for_update(of=Account)
)
_OF_CYCLE = select(PlanRenewal.id, PlanRenewal.outcome).where(
    PlanRenewal.account_id == bindparam("account_id"), PlanRenewal.cycle_start == bindparam("cycle_start")
)
_LATEST = (
    select(PlanRenewal.outcome)
    .where(PlanRenewal.account_id == bindparam("account_id"))
    .order_by(PlanRenewal.cycle_start.desc())
    .limit(1)
)


def renew(engine: Engine, zone: tzinfo, now: datetime | None = None, operator: str = ENGINE_OPERATOR) -> list[Renewed]:
    """Renew every account whose plan's due cycle (days of ``zone``) is not paid yet, each in its own transaction,
    then refill the bundles of the cycles in progress (services/bundles.py); what was done, by account name."""
    now = now or utcnow()
    done = []
    for account_id in _candidates(engine, zone, now):
        try:
            with engine.begin() as conn:
                renewed = _renew(conn, account_id, zone, now, operator)
        except IntegrityError:  # another renewal wrote this cycle's row first: it charged the fee
            continue
        if renewed is not None:
            done.append(renewed)
    bundles.refill_all(engine, zone, now)  # once a cycle's fee is taken, its minutes are there to call with
    return sorted(done, key=lambda renewed: renewed.account)


def _candidates(engine: Engine, zone: tzinfo, now: datetime) -> list[int]:
    """The accounts whose due cycle may need renewing: no row yet, or a suspended one (tried again); each is
    decided on again under its lock."""
    found: set[int] = set()
    with engine.begin() as conn:
        for cycle in rules.CYCLES:
            for billing in rules.BILLINGS:
                found.update(conn.execute(_unpaid(rules.due_cycle(cycle, billing, now, zone), billing)).scalars())
    return sorted(found)


def _unpaid(due: Cycle, billing: str):
    paid = (
        select(PlanRenewal.id)
        .where(PlanRenewal.account_id == Account.id, PlanRenewal.cycle_start == due.first_day)
        .where(PlanRenewal.outcome != SUSPENDED)
        .exists()
    )
    query = (
        select(Account.id)
        .join(Plan, Plan.id == Account.plan_id)
        .where(Plan.cycle == due.kind, Plan.billing == billing, Account.status != CLOSED, ~paid)
    )
    if billing == rules.POSTPAID:  # only the cycles it was on the plan in (billing.plans.owed)
        query = query.where(or_(Account.plan_since.is_(None), Account.plan_since < due.end))
    return query


def _renew(conn: Connection, account_id: int, zone: tzinfo, now: datetime, operator: str) -> Renewed | None:
    """One account's renewal, its row locked; None when there is nothing to do (any more)."""
    row = conn.execute(_LOCKED, {"account_id": account_id}).one_or_none()
    if row is None or row.status == CLOSED:
        return None
    due = rules.due_cycle(row.cycle, row.billing, now, zone)
    if not rules.owed(due, row.billing, row.plan_since):
        return None
    existing = conn.execute(_OF_CYCLE, {"account_id": account_id, "cycle_start": due.first_day}).one_or_none()
    if existing is not None and existing.outcome != SUSPENDED:
        return None
    last = existing.outcome if existing else conn.execute(_LATEST, {"account_id": account_id}).scalar()
    payer, balance, available = _payer(conn, row)
    decision = rules.renewal(row.fee, available, row.on_failure, row.status, last, again=existing is not None)
    if decision.outcome is None:
        return None
    entry_id = None
    if decision.charge:
        by = "" if payer == account_id else f" for {row.name}"
        note = f"plan {row.plan}: fee of {due.label} ({row.billing}){by}"
        entry = ledger.post(conn, payer, PLAN_FEE, -decision.charge, operator=operator, reference=due.label, note=note)
        balance, entry_id = entry.balance_after, entry.id
    values = {"plan_id": row.plan_id, "fee": decision.charge, "outcome": decision.outcome, "ledger_entry_id": entry_id}
    if existing is None:
        conn.execute(insert(PlanRenewal).values(account_id=account_id, cycle_start=due.first_day, **values))
    else:
        conn.execute(update(PlanRenewal).where(PlanRenewal.id == existing.id).values(updated_at=utcnow(), **values))
    _freeze_or_unfreeze(conn, operator, row, due, decision)
    detail = {"plan": row.plan, "cycle": due.label, "outcome": decision.outcome, "fee": format_amount(row.fee)}
    audit.record(conn, operator, "plan.renew", row.name, detail)
    return Renewed(row.name, row.plan, due.label, decision.outcome, row.fee, row.currency, balance, decision.unfreeze)


def _payer(conn: Connection, row) -> tuple[int, int, int]:
    """(The account paying the fee, its balance, what it has available): the account itself, or the company whose
    pool it spends (calls.pool_funds: its row locked after the member's, as a call locks them)."""
    if row.pool != COMPANY_POOL or row.parent_id is None:
        return row.id, row.balance, Funds(row.balance, row.credit_limit, held(conn, row.id)[0], 0, None).available
    pool = pool_funds(conn, row.parent_id)
    return row.parent_id, pool.balance, pool.available


def _freeze_or_unfreeze(conn: Connection, operator: str, row, due: Cycle, decision: rules.Renewal) -> None:
    """Through the operators' freeze and unfreeze (services/accounts.py), audited with the reason."""
    if decision.freeze:
        why = f"plan {row.plan}: the fee of {due.label} was not paid"
        accounts.set_status(conn, operator, accounts.find(conn, row.name), "freeze", why)
    elif decision.unfreeze:
        why = f"plan {row.plan}: the fee of {due.label} was paid"
        accounts.set_status(conn, operator, accounts.find(conn, row.name), "unfreeze", why)
