"""Callshop booths (pure): when a booth may start, on which terms, and what its customer owes at the stop.

A booth is an extension account that calls only between the operator's start and stop. It starts
at a zero balance, so at the stop its balance is exactly what was paid during the session minus
what the calls cost: the stop settles that difference (change given back, or the amount due paid
in) and the booth is at zero again for the next customer.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from asteriskbill.billing.accounts import ACTIVE
from asteriskbill.errors import UserError
from asteriskbill.money import format_amount

PREPAID, POSTPAID = "prepaid", "postpaid"
IDLE, STARTED, IN_A_CALL = "idle", "started", "in a call"
DEFAULT_PREPAID = "callshop.default_prepaid"  # Preference names; values are micro-units
DEFAULT_CREDIT_LIMIT = "callshop.default_credit_limit"


class CallshopError(UserError):
    """A booth that cannot be started or stopped as asked."""


@dataclass(frozen=True)
class BoothState:
    """What decides whether a booth may start, read under its account's lock."""

    name: str
    booth: bool
    status: str  # the effective status (its company's included)
    balance: int
    currency: str
    started_at: datetime | None  # of its open session


@dataclass(frozen=True)
class Terms:
    mode: str  # PREPAID or POSTPAID
    prepaid: int  # money taken at the start
    credit_limit: int  # how far below zero the booth may go during the session


def check_booth(state: BoothState) -> None:
    if not state.booth:
        raise CallshopError(
            f"{state.name} is not a booth (create one with `asteriskbill accounts create extension NAME --booth`)"
        )


def check_start(state: BoothState) -> None:
    """Only an idle, usable booth at a zero balance starts: the stop's arithmetic relies on that zero."""
    check_booth(state)
    if state.started_at is not None:
        raise CallshopError(
            f"booth {state.name} was started at {state.started_at:%Y-%m-%d %H:%M} UTC and is not stopped yet"
        )
    if state.status != ACTIVE:
        raise CallshopError(f"booth {state.name} is {state.status}")
    if state.balance != 0:
        raise CallshopError(
            f"booth {state.name} has a balance of {format_amount(state.balance)} {state.currency}: "
            "a booth starts at 0 (correct it with `asteriskbill accounts adjust` first)"
        )


def check_stop(state: BoothState, open_calls: int) -> None:
    """A booth stops between calls: a call in progress would be charged after its customer has paid."""
    check_booth(state)
    if state.started_at is None:
        raise CallshopError(f"booth {state.name} is not started")
    if open_calls:
        raise CallshopError(
            f"booth {state.name} is in a call: stop it when the call has ended (see `asteriskbill callshop status`)"
        )


def prepaid_amount(given: int | None, use_default: bool, default: int) -> int | None:
    """The money taken at the start: as given, the preference's (``default``, 0 when unset), or none."""
    if not use_default:
        return given
    if given is not None:
        raise CallshopError("give --prepaid AMOUNT or --use-default-prepaid, not both")
    if not default:
        raise CallshopError(
            "no default prepaid amount is set (`asteriskbill callshop preferences set --default-prepaid AMOUNT`)"
        )
    return default


def terms(prepaid: int | None, credit_limit: int | None, default_credit_limit: int) -> Terms:
    """Prepaid when money is taken (credit limit as given, else 0); postpaid otherwise, on a credit
    limit as given or the preference's, which must be more than 0 or the booth could not call."""
    if prepaid is not None:
        if prepaid <= 0:
            raise CallshopError("a prepaid amount must be more than 0")
        return Terms(PREPAID, prepaid, credit_limit or 0)
    limit = default_credit_limit if credit_limit is None else credit_limit
    if limit <= 0:
        raise CallshopError(
            "a postpaid booth needs a credit limit above 0: give --prepaid AMOUNT, or "
            "--credit-limit AMOUNT, or set `asteriskbill callshop preferences set "
            "--default-credit-limit AMOUNT`"
        )
    return Terms(POSTPAID, 0, limit)


@dataclass(frozen=True)
class Bill:
    """The session's money: ``total`` the calls cost, ``paid`` what was taken before the stop."""

    total: int
    paid: int

    @property
    def change(self) -> int:
        return max(self.paid - self.total, 0)

    @property
    def due(self) -> int:
        return max(self.total - self.paid, 0)

    @property
    def settlement(self) -> int:
        """The signed ledger amount that brings the booth back to zero: +due paid in, -change given back."""
        return self.total - self.paid


def bill_at_stop(balance: int, total: int) -> Bill:
    """A booth started at zero: whatever its balance is now, besides the calls, was paid during the session."""
    return Bill(total, balance + total)


def remaining(balance: int, credit_limit: int) -> int:
    """What a started booth may still spend: prepaid - calls, or the credit limit left."""
    return balance + credit_limit
