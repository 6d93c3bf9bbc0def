"""Authorization decisions (pure): may a call start, for how long, and how much credit it holds.

available = balance + credit limit - credit held by the open reservations on that balance (an account's own, or
for a pooled account its company's: every call of the pool counts), then no more than the account's own spending
limits leave for today and this month. The call may last the longest duration that ``available`` pays for
(capped per call), and holds exactly the cost of that duration, computed by the rating engine's one cost function.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum

from asteriskbill.rating.engine import Charge, Prices


class BillStatus(StrEnum):
    """The BILL_STATUS channel variable the dialplan reads."""

    OK = "OK"
    UNKNOWN_CARD = "UNKNOWN_CARD"
    WRONG_PIN = "WRONG_PIN"
    LOCKED = "LOCKED"
    DISABLED = "DISABLED"
    EXPIRED = "EXPIRED"
    NOT_ACTIVE = "NOT_ACTIVE"
    NO_CREDIT = "NO_CREDIT"
    TOO_MANY_CALLS = "TOO_MANY_CALLS"
    FROZEN = "FROZEN"
    CLOSED = "CLOSED"
    NO_RATE = "NO_RATE"
    INVALID_NUMBER = "INVALID_NUMBER"
    NO_ROUTE = "NO_ROUTE"
    UNKNOWN_ACCOUNT = "UNKNOWN_ACCOUNT"
    BOOTH_CLOSED = "BOOTH_CLOSED"
    HANGUP = "HANGUP"
    ERROR = "ERROR"


@dataclass(frozen=True)
class Funds:
    """The money a call may spend and the caller's calls at the moment of the decision, read under their locks:
    the balance paying (the account's own or its pool's), with what its open calls hold, and ``cap``, what the
    account's own spending limits still allow (None: no limit)."""

    balance: int
    credit_limit: int
    reserved: int
    open_calls: int
    max_calls: int | None
    cap: int | None = None

    @classmethod
    def alone(cls, balance: int) -> Funds:
        """An account holding just ``balance``: no credit limit, nothing held, no limit on calls (a quote)."""
        return cls(balance, 0, 0, 0, None)

    @property
    def available(self) -> int:
        pooled = self.balance + self.credit_limit - self.reserved
        return pooled if self.cap is None else min(pooled, self.cap)


@dataclass(frozen=True)
class SpendLimits:
    """An account's own spending limits (micro-units; None: none), e.g. an extension drawing on its company."""

    daily: int | None = None
    monthly: int | None = None

    def cap(self, spent_today: int, spent_this_month: int) -> int | None:
        """What may still be spent, given what was spent (calls settled and held) today and this month."""
        left = [
            limit - spent
            for limit, spent in ((self.daily, spent_today), (self.monthly, spent_this_month))
            if limit is not None
        ]
        return max(min(left), 0) if left else None


@dataclass(frozen=True)
class Grant:
    max_seconds: int
    amount: int  # the cost of max_seconds: what the reservation holds
    charge: Charge | None = field(default=None, compare=False, repr=False)  # of max_seconds, as priced


def grant(funds: Funds, pricing: Prices) -> Grant | BillStatus:
    """The call's limit and the credit it holds, or why it may not start.

    A balance that pays only for the free grace seconds (or nothing) is no credit: a call that
    would be cut before its first billed second is refused rather than connected.
    """
    if funds.max_calls is not None and funds.open_calls >= funds.max_calls:
        return BillStatus.TOO_MANY_CALLS
    charge = pricing.max_duration(funds.available)
    if charge.seconds == 0 or charge.seconds <= pricing.rate.grace:
        return BillStatus.NO_CREDIT
    return Grant(charge.seconds, charge.cost, charge)


@dataclass(frozen=True)
class PinPolicy:
    max_failures: int = 5
    window: timedelta = timedelta(hours=1)
    lock: timedelta = timedelta(hours=1)


@dataclass(frozen=True)
class PinGuard:
    """A card's PIN failures: counted from the first failure in a window; a lock ends at a moment."""

    failures: int = 0
    first_failed_at: datetime | None = None
    locked_until: datetime | None = None

    def locked(self, now: datetime) -> bool:
        return self.locked_until is not None and now < self.locked_until

    def after_failure(self, now: datetime, policy: PinPolicy) -> PinGuard:
        """The guard after one more wrong PIN: the N-th in the window locks the card."""
        if self.first_failed_at is None or now - self.first_failed_at > policy.window:
            failures, first = 1, now
        else:
            failures, first = self.failures + 1, self.first_failed_at
        if failures >= policy.max_failures:  # the count stays for `cards show`; a failure after the lock starts anew
            return PinGuard(failures, None, now + policy.lock)
        return PinGuard(failures, first, self.locked_until)
