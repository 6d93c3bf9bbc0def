"""Service plans (pure): cycles, which cycle's fee is due, and what one renewal does.

A plan charges its accounts a fee each cycle: a day, a week (Monday to Sunday) or a calendar month, cut at
midnight in the timezone setting as report periods are (billing/periods.py). A prepaid plan charges the fee of
the cycle in progress, from its start; a postpaid plan charges the fee of a cycle once it has ended (in arrears),
for every cycle the account was on the plan at some moment of. A cycle is known by its first day: its fee is
charged once per account, however often or concurrently renewal runs (plan_renewals is unique on that day).

When the balance (with the credit limit, less what open calls hold) does not cover the fee, the plan says what
happens: ``suspend`` charges nothing and freezes the account (its fee is taken, and the account unfrozen, by the
first renewal that finds the money, in the same cycle); ``allow-debt`` charges it anyway, below the credit limit.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date, datetime, timedelta, tzinfo

from asteriskbill.billing.accounts import ACTIVE, FROZEN
from asteriskbill.billing.periods import bound
from asteriskbill.errors import UserError

DAILY, WEEKLY, MONTHLY = "daily", "weekly", "monthly"
CYCLES = (DAILY, WEEKLY, MONTHLY)
PREPAID, POSTPAID = "prepaid", "postpaid"
BILLINGS = (PREPAID, POSTPAID)
SUSPEND, ALLOW_DEBT = "suspend", "allow-debt"
ON_FAILURE = (SUSPEND, ALLOW_DEBT)
CHARGED, SUSPENDED, DEBT = "charged", "suspended", "debt"  # what a renewal did (plan_renewals.outcome)
OUTCOMES = (CHARGED, SUSPENDED, DEBT)


class PlanError(UserError):
    """A plan that cannot be made or used as asked."""


def check_choice(what: str, value: str, choices: tuple[str, ...]) -> str:
    if value not in choices:
        raise PlanError(f"unknown {what} {value!r}: use one of {', '.join(choices)}")
    return value


def check_fee(fee: int) -> int:
    if fee < 0:
        raise PlanError("a plan's fee must not be negative")
    return fee


@dataclass(frozen=True)
class Cycle:
    """One cycle of a plan: its first day and the day after its last, on the installation's clock, and the
    UTC moments they begin."""

    kind: str  # one of CYCLES
    first_day: date
    next_day: date  # the first day of the next cycle
    start: datetime  # UTC, included
    end: datetime  # UTC, excluded

    @property
    def label(self) -> str:
        return label(self.kind, self.first_day)


def label(kind: str, first: date) -> str:
    """How people name the cycle of ``kind`` beginning on ``first``: 2026-12, week of 2026-12-07, 2026-12-07."""
    if kind == MONTHLY:
        return f"{first:%Y-%m}"
    if kind == WEEKLY:
        return f"week of {first.isoformat()}"
    return first.isoformat()


def first_day(kind: str, day: date) -> date:
    """The first day of the cycle of ``kind`` that ``day`` is in."""
    if kind == MONTHLY:
        return day.replace(day=1)
    if kind == WEEKLY:
        return day - timedelta(days=day.weekday())
    return day


def next_first_day(kind: str, first: date) -> date:
    """The first day of the cycle after the one beginning on ``first``."""
    if kind == MONTHLY:
        return first + timedelta(days=calendar.monthrange(first.year, first.month)[1])
    return first + timedelta(days=7 if kind == WEEKLY else 1)


def _cycle(kind: str, first: date, zone: tzinfo) -> Cycle:
    after = next_first_day(kind, first)
    return Cycle(kind, first, after, bound(first, zone), bound(after, zone))


def cycle_at(kind: str, moment: datetime, zone: tzinfo) -> Cycle:
    """The cycle of ``kind`` that ``moment`` (aware) falls in, its days those of ``zone``."""
    check_choice("cycle", kind, CYCLES)
    return _cycle(kind, first_day(kind, moment.astimezone(zone).date()), zone)


def previous(cycle: Cycle, zone: tzinfo) -> Cycle:
    """The cycle before ``cycle``."""
    return _cycle(cycle.kind, first_day(cycle.kind, cycle.first_day - timedelta(days=1)), zone)


def due_cycle(kind: str, billing: str, now: datetime, zone: tzinfo) -> Cycle:
    """The cycle whose fee a renewal at ``now`` charges: the one in progress (prepaid), or the one that ended
    last (postpaid)."""
    current = cycle_at(kind, now, zone)
    return current if check_choice("billing", billing, BILLINGS) == PREPAID else previous(current, zone)


def owed(cycle: Cycle, billing: str, since: datetime | None) -> bool:
    """Whether an account on its plan since ``since`` owes the fee of ``cycle`` (its due cycle): a prepaid
    account owes the cycle in progress; a postpaid one a cycle that ended after it was put on the plan, so an
    account put on a postpaid plan today is not charged for the cycles before."""
    return billing == PREPAID or since is None or since < cycle.end


@dataclass(frozen=True)
class Renewal:
    """What one renewal of an account does."""

    outcome: str | None  # one of OUTCOMES; None: nothing to record (tried again at the next renewal)
    charge: int = 0  # micro-units to take from the balance
    freeze: bool = False
    unfreeze: bool = False


def renewal(
    fee: int, available: int, on_failure: str, status: str, last_outcome: str | None, *, again: bool = False
) -> Renewal:
    """The renewal of an account whose ``available`` money (balance + credit limit - held) is weighed against
    ``fee``. ``status``: the account's own; ``last_outcome``: that of its latest renewal; ``again``: the cycle was
    suspended already and is tried again.

    A fee it can pay is charged; one it cannot is charged anyway (``allow-debt``), or not at all and the account is
    frozen (``suspend``). A suspension is recorded only when it freezes the account: an account frozen already (by
    an operator, or by the plan in an earlier cycle) is simply tried again, and so is a suspended cycle, so the
    fee is taken as soon as the money is there. A charge unfreezes the account the plan froze; an account frozen by
    an operator stays frozen."""
    check_choice("on-failure", on_failure, ON_FAILURE)
    pays = fee <= available or fee == 0  # a free plan is never a debt, whatever the balance
    if pays or on_failure == ALLOW_DEBT:
        outcome = CHARGED if pays else DEBT
        return Renewal(outcome, fee, unfreeze=status == FROZEN and last_outcome == SUSPENDED)
    if status == ACTIVE and not again:
        return Renewal(SUSPENDED, freeze=True)
    return Renewal(None)
