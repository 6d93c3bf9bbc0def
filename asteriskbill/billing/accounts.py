"""Accounts (pure): kinds, statuses and what a company passes down to its children.

A child account (extension or gateway) of a company uses the company's tariff unless it has its own,
and is stopped whenever the company is: its effective status is the worse of the two. Authorization
asks ``standing`` before every call; the operator commands ask ``next_status`` before a change.
"""

from __future__ import annotations

from dataclasses import dataclass

from asteriskbill.errors import UserError

CARD, EXTENSION, COMPANY, GATEWAY = "card", "extension", "company", "gateway"
KINDS = (CARD, EXTENSION, COMPANY, GATEWAY)
CHILD_KINDS = (EXTENSION, GATEWAY)  # the kinds a company may own
SHEET_KINDS = (COMPANY, EXTENSION, GATEWAY)  # the kinds account sheets import and export: cards have their own

OWN, COMPANY_POOL = "own", "company"
POOLS = (OWN, COMPANY_POOL)  # whose balance an account's calls spend: its own, or its company's

ACTIVE, FROZEN, CLOSED = "active", "frozen", "closed"
STATUSES = (ACTIVE, FROZEN, CLOSED)  # in order of severity

# action -> (statuses it applies to, status after)
ACTIONS = {
    "freeze": ((ACTIVE,), FROZEN),
    "unfreeze": ((FROZEN,), ACTIVE),
    "close": ((ACTIVE, FROZEN), CLOSED),
}


class AccountError(UserError):
    """An account that cannot be created or changed as asked."""


@dataclass(frozen=True)
class AccountState:
    """What decides whether an account may be used: its own settings, before its company's."""

    name: str
    kind: str
    status: str
    tariff_id: int | None
    currency: str
    plan_tariff_id: int | None = None  # its service plan's tariff (billing/plans.py), used when it has none of its own


@dataclass(frozen=True)
class Standing:
    """An account's effective status and tariff, its company taken into account."""

    status: str
    tariff_id: int | None
    reason: str  # why the status is not active ("" when it is)

    @property
    def usable(self) -> bool:
        return self.status == ACTIVE


def _reason(account: AccountState, status: str) -> str:
    return "" if status == ACTIVE else f"{account.kind} {account.name} is {status}"


def standing(account: AccountState, parent: AccountState | None = None) -> Standing:
    """The effective status (the worse of the account's and its company's) and tariff: its own, else its plan's,
    else its company's own (a company's plan rates the company's calls, not its accounts')."""
    if parent is None or STATUSES.index(account.status) >= STATUSES.index(parent.status):
        status, reason = account.status, _reason(account, account.status)
    else:
        status, reason = parent.status, _reason(parent, parent.status)
    inherited = parent.tariff_id if parent else None
    tariff_id = next((t for t in (account.tariff_id, account.plan_tariff_id, inherited) if t is not None), None)
    return Standing(status, tariff_id, reason)


def next_status(account: AccountState, action: str) -> str:
    """The status after an operator's freeze, unfreeze or close; refused when it does not apply."""
    allowed, after = ACTIONS[action]
    if account.status not in allowed:
        raise AccountError(f"cannot {action} {account.kind} {account.name}: it is {account.status}")
    return after


def check_kind(kind: str) -> str:
    if kind not in KINDS:
        raise AccountError(f"unknown account kind {kind!r}: use one of {', '.join(KINDS)}")
    return kind


def check_parent(kind: str, parent: AccountState | None) -> None:
    """Only extensions and gateways belong to a company, and only to an open one."""
    if parent is None:
        return
    if kind not in CHILD_KINDS:
        raise AccountError(f"a {kind} account cannot belong to a company (only {' and '.join(CHILD_KINDS)} can)")
    if parent.kind != COMPANY:
        raise AccountError(f"{parent.name} is not a company ({parent.kind} account): --parent names a company")
    if parent.status == CLOSED:
        raise AccountError(f"company {parent.name} is closed")


def check_currencies(name: str, currency: str, parent: AccountState | None, tariff: tuple[str, str] | None) -> None:
    """An account bills in one currency: its company's and its tariff's (``tariff``: name, currency)."""
    if parent is not None and parent.currency != currency:
        raise AccountError(f"{name} is in {currency} but company {parent.name} is in {parent.currency}")
    if tariff is not None and tariff[1] != currency:
        raise AccountError(
            f"tariff {tariff[0]} is in {tariff[1]}, account {name} is in {currency}: "
            "an account uses a tariff in its own currency"
        )


def check_pool(name: str, pool: str, parent: AccountState | None, limits: tuple[int | None, int | None]) -> None:
    """Only a company's extension or gateway spends its company's balance; spending limits are for those too
    (an account on its own balance is limited by that balance)."""
    if pool not in POOLS:
        raise AccountError(f"unknown pool {pool!r}: use one of {', '.join(POOLS)}")
    if pool == COMPANY_POOL and parent is None:
        raise AccountError(f"{name} belongs to no company: only a company's extension or gateway can use its pool")
    if pool == OWN and any(limit is not None for limit in limits):
        raise AccountError(f"{name} spends its own balance: daily and monthly limits are for --pool company")
    if any(limit is not None and limit < 0 for limit in limits):
        raise AccountError(f"{name}: a spending limit cannot be below 0")
