"""Ledger entries (pure): which kinds exist, the sign of their amount, and when a posting is refused.

The kind is kept as text and checked here, so a later feature adds a kind by adding a line below.
"""

from __future__ import annotations

from asteriskbill.billing.accounts import CLOSED
from asteriskbill.errors import UserError
from asteriskbill.money import format_amount

CREDIT, DEBIT, EITHER = 1, -1, 0
FACE_VALUE, RECHARGE, REFUND, ADJUSTMENT, CALL = "face_value", "recharge", "refund", "adjustment", "call"
BOOTH_PAYMENT, BOOTH_CHANGE = "booth_payment", "booth_change"
PLAN_FEE = "plan_fee"

# kind -> sign its amount must have
KINDS = {
    FACE_VALUE: CREDIT,  # a card's value when its batch is generated
    RECHARGE: CREDIT,  # money paid in, with the order number as reference
    REFUND: CREDIT,  # money given back, e.g. for a call charged wrongly
    ADJUSTMENT: EITHER,  # an operator's correction, with a note saying why
    CALL: DEBIT,  # a call charge, with the call's id as reference
    BOOTH_PAYMENT: CREDIT,  # a callshop customer's money: prepaid at the start, or the amount due at the stop
    BOOTH_CHANGE: DEBIT,  # the change a prepaid callshop customer gets back at the stop
    PLAN_FEE: DEBIT,  # a service plan's fee for one cycle, with the cycle as reference (billing/plans.py)
}
# A call that happened is charged even after its account was closed: the ledger records what was used.
ALLOWED_WHEN_CLOSED = frozenset({CALL})


class LedgerError(UserError):
    """A posting that must not be written."""


def check_posting(kind: str, amount: int, account: str, status: str) -> None:
    """Refuse a posting of the wrong sign, of nothing, or to a closed account."""
    if kind not in KINDS:
        raise ValueError(f"unknown ledger entry kind {kind!r}")
    if not isinstance(amount, int):
        raise TypeError(f"ledger amounts are int micro-units, not {type(amount).__name__}")
    sign = KINDS[kind]
    if amount == 0 or amount * sign < 0:
        wanted = {CREDIT: "more than 0", DEBIT: "less than 0", EITHER: "other than 0"}[sign]
        raise LedgerError(f"a {kind} of {format_amount(amount)} is refused: the amount must be {wanted}")
    if status == CLOSED and kind not in ALLOWED_WHEN_CLOSED:
        raise LedgerError(f"account {account} is closed: no {kind} is accepted")
