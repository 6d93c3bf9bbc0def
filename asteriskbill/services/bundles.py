"""An account's bundles: what is left of them this cycle, what open calls hold, refills and use.

Each bundle of the plan (plans.bundles, billing/bundles.py) is one account_bundles row per account: what is left of
it in its cycle, in its unit (seconds of minutes, micro-units of money). Open reservations hold some of it as they
hold money (reservations.bundle_seconds or bundle_amount), so what a new call may draw is what is left less what is
held, read under the lock of the account paying: parallel calls never spend the same seconds twice. Settlement takes
what a call used; renewal refills every bundle at the start of each cycle (the last one's rest does not carry over).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, tzinfo
from functools import lru_cache
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, Engine, bindparam, func, or_, select, update

from asteriskbill.billing.accounts import CLOSED
from asteriskbill.billing.bundles import Bundle, Left, covering, parse
from asteriskbill.billing.plans import CYCLES, POSTPAID, SUSPENDED, cycle_at, first_day
from asteriskbill.billing.reservation import OPEN
from asteriskbill.rating.bundle import bundled
from asteriskbill.rating.engine import Prices, Pricing
from asteriskbill.store.models import Account, AccountBundle, Plan, PlanRenewal, Reservation
from asteriskbill.store.rawsql import RawSelect

# What open calls hold of a bundle (index reservations(bundle_id, status)), and what is left free of it.
_HELD = (
    select(func.coalesce(func.sum(Reservation.bundle_seconds + Reservation.bundle_amount), 0))
    .where(Reservation.bundle_id == AccountBundle.id, Reservation.status == OPEN.value)
    .scalar_subquery()
)
_FREE = AccountBundle.left - _HELD  # in the bundle's unit: a reservation holds one of the two
# An account's bundles of one plan refilled for one cycle.
_LEFT = RawSelect(
    select(AccountBundle.id, AccountBundle.position, _FREE).where(
        AccountBundle.plan_id == bindparam("plan_id"),
        AccountBundle.account_id == bindparam("account_id"),
        AccountBundle.cycle_start == bindparam("cycle"),
    ),
    "plan_id",
    "account_id",
    "cycle",
)


@lru_cache(maxsize=256)
def bundles_of(text: str) -> tuple[Bundle, ...]:
    """A plan's bundles, parsed once per text (plans.bundles is checked when the plan is made)."""
    return parse(text)


def free(conn: Connection, account_id: int, plan_id: int, text: str, cycle: date, number: str, call_class: str):
    """The bundle a call of ``account_id`` to ``number`` draws on, with the seconds it may use; None when none covers
    it or none has seconds left. Read under the account's lock (the caller's)."""
    bundles = bundles_of(text)
    rows = _LEFT.rows(conn, plan_id, account_id, cycle)
    left = [Left(row[0], bundles[row[1]], int(row[2])) for row in rows if row[1] < len(bundles)]
    return covering(left, number, call_class)


def refill(conn: Connection, account_id: int, plan_id: int, text: str, cycle: date) -> int:
    """Give the account every bundle of its plan in full for the cycle beginning on ``cycle``, once: a bundle
    refilled for that cycle already is left as it is. The number of bundles refilled."""
    refilled = 0
    for position, bundle in enumerate(bundles_of(text)):
        key = {"account_id": account_id, "plan_id": plan_id, "position": position}
        row = conn.execute(select(AccountBundle.id, AccountBundle.cycle_start).filter_by(**key)).one_or_none()
        if row is None:
            conn.execute(AccountBundle.__table__.insert().values(**key, cycle_start=cycle, left=bundle.size))
        elif row.cycle_start < cycle:
            conn.execute(
                update(AccountBundle)
                .where(AccountBundle.id == row.id, AccountBundle.cycle_start < cycle)
                .values(cycle_start=cycle, left=bundle.size)
            )
        else:
            continue
        refilled += 1
    return refilled


def use(conn: Connection, used: list[tuple[int, int]]) -> None:
    """Take what settled calls used from their bundles: (bundle id, seconds or micro-units) pairs."""
    spent: dict[int, int] = {}
    for bundle_id, units in used:
        spent[bundle_id] = spent.get(bundle_id, 0) + units
    for bundle_id, units in sorted(spent.items()):
        conn.execute(update(AccountBundle).where(AccountBundle.id == bundle_id).values(left=AccountBundle.left - units))


_PLAN_OF = RawSelect(
    select(Plan.id, Plan.bundles, Plan.cycle)
    .join(Account, Account.plan_id == Plan.id)
    .where(Account.id == bindparam("account_id")),
    "account_id",
)


def drawn(conn: Connection, account, payer_id: int, number, now: datetime, timezone: str) -> Left | None:
    """The bundle a call of ``account`` (a services/calls subject row, locked) to ``number`` (normalised) draws on,
    for the cycle in progress: of its own plan; else, for an account spending its company's pool, of the company's
    plan (locked with the pool); None when none does."""
    holder, plan = account.id, (account.plan_id, account.plan_bundles, account.plan_cycle)
    if not account.plan_bundles and payer_id != account.id:
        holder, plan = payer_id, _PLAN_OF.first(conn, payer_id) or (None, "", None)
    plan_id, text, kind = plan
    if not text:
        return None
    cycle = first_day(kind, now.astimezone(ZoneInfo(timezone)).date())
    return free(conn, holder, plan_id, text, cycle, number.number, number.call_class)


_LEFT_OF = RawSelect(
    select(AccountBundle.id, AccountBundle.position, _FREE, Plan.bundles)
    .join(Plan, Plan.id == AccountBundle.plan_id)
    .where(AccountBundle.id == bindparam("bundle_id")),
    "bundle_id",
)


def left_of(conn: Connection, bundle_id: int) -> Left:
    """A bundle, with what is neither used nor held by open calls (under the lock of its account)."""
    found, position, left, text = _LEFT_OF.first(conn, bundle_id)
    return Left(found, bundles_of(text)[position], int(left))


def pricing_with(pricing: Pricing, bundle: Bundle, units: int) -> Prices:
    """``pricing`` of a call that may use ``units`` of ``bundle`` (seconds, or micro-units of a money bundle) first."""
    return bundled(pricing, amount=units) if bundle.amount else bundled(pricing, seconds=units)


def refill_all(engine: Engine, zone: tzinfo, now: datetime) -> int:
    """Refill the bundles of every account whose plan's cycle in progress has not given them yet: once its fee is
    taken (a prepaid plan: charged, or into debt as the plan allows; not while suspended), or at once (postpaid: the
    fee comes after the cycle). Each account in its own transaction, its row locked as a call's would be. The number
    of accounts refilled."""
    refilled = 0
    for kind in CYCLES:
        first = cycle_at(kind, now, zone).first_day
        with engine.begin() as conn:
            due = conn.execute(_unfilled(kind, first)).all()
        for account_id, plan_id, text in due:
            with engine.begin() as conn:
                conn.execute(select(Account.id).where(Account.id == account_id).with_for_update())
                refilled += refill(conn, account_id, plan_id, text, first) > 0
    return refilled


def _unfilled(kind: str, first: date):
    """Accounts on a plan of ``kind`` with bundles not yet refilled for the cycle beginning ``first``."""
    filled = (
        select(AccountBundle.id)
        .where(AccountBundle.account_id == Account.id, AccountBundle.plan_id == Plan.id)
        .where(AccountBundle.cycle_start == first)
        .exists()
    )
    paid = (
        select(PlanRenewal.id)
        .where(PlanRenewal.account_id == Account.id, PlanRenewal.cycle_start == first)
        .where(PlanRenewal.outcome != SUSPENDED)
        .exists()
    )
    return (
        select(Account.id, Plan.id, Plan.bundles)
        .join(Plan, Plan.id == Account.plan_id)
        .where(Plan.cycle == kind, Plan.bundles != "", Account.status != CLOSED, ~filled)
        .where(or_(Plan.billing == POSTPAID, paid))
        .order_by(Account.id)
    )


@dataclass(frozen=True)
class BundleLeft:
    """One bundle of an account's plan as the operator reads it."""

    bundle: str  # as written: 60min:44,49
    cycle_start: date | None  # the cycle it was last refilled for; None: not yet
    money: bool  # a money bundle: size and left are micro-units; else seconds
    size: int  # what each cycle gives
    left: int  # not used, nor held by calls up now


def account_bundles(engine: Engine, account_id: int) -> list[BundleLeft]:
    """What is left of each bundle of the account's plan (those of its last refill)."""
    with engine.begin() as conn:
        plan = _PLAN_OF.first(conn, account_id)
        if plan is None or not plan[1]:
            return []
        rows = {
            row.position: row
            for row in conn.execute(
                select(AccountBundle.position, AccountBundle.cycle_start, _FREE.label("free")).where(
                    AccountBundle.account_id == account_id, AccountBundle.plan_id == plan[0]
                )
            )
        }
    found = []
    for position, bundle in enumerate(bundles_of(plan[1])):
        row = rows.get(position)
        cycle, left = (None, 0) if row is None else (row.cycle_start, int(row.free))
        found.append(BundleLeft(bundle.text(), cycle, bool(bundle.amount), bundle.size, left))
    return found
