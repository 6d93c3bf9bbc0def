"""Money as integer micro-units (1/1,000,000 of the main unit).

No float ever touches an amount: amounts are parsed from and printed as decimal
strings, and every rounding is an explicit integer operation.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from fractions import Fraction

from asteriskbill.errors import UserError

MICRO = 1_000_000
DECIMALS = 6
# The hard ceiling of any amount, whatever the settings: a trillion units, 10**18 micro-units, so that nine
# amounts or balances summed still fit in a signed 64-bit column (9.2 * 10**18).
MAX_AMOUNT = 10**12 * MICRO
_MAX_WHOLE_DIGITS = len(str(MAX_AMOUNT // MICRO))

# [0-9], not \d: \d (and int()) also take other scripts' digits, such as the Arabic-Indic "١٢٣".
_AMOUNT = re.compile(r"^([+-]?)([0-9]*)(?:\.([0-9]*))?$")
_CURRENCY = re.compile(r"^[A-Z]{3}$")


class MoneyError(UserError, ValueError):
    """An amount or currency a person typed cannot be used."""


def parse_amount(text: str, *, negative: bool = False, what: str = "amount") -> int:
    """Parse a decimal string ("10.5", "-0.000001") into micro-units.

    More than six decimals, exponents, thousands separators and negatives
    (unless ``negative``) are refused with a message that names the problem.
    """
    raw = text.strip()
    match = _AMOUNT.match(raw)
    if not raw or not match or (not match.group(2) and not match.group(3)):
        raise MoneyError(f"{what} {text!r} is not a decimal number (use digits 0-9 and an optional '.', e.g. 10.50)")
    sign, whole, frac = match.group(1), match.group(2) or "0", match.group(3) or ""
    if len(frac) > DECIMALS:
        raise MoneyError(f"{what} {text!r} has more than {DECIMALS} decimals")
    value = MAX_AMOUNT + 1  # a whole part with more digits than the ceiling's is over it: not even converted
    if len(whole.lstrip("0")) <= _MAX_WHOLE_DIGITS:
        value = int(whole) * MICRO + int(frac.ljust(DECIMALS, "0") or 0)
    if value > MAX_AMOUNT:
        raise MoneyError(f"{what} {text!r} is more than the largest amount, {format_amount(MAX_AMOUNT)}")
    if sign == "-":
        value = -value
    if value < 0 and not negative:
        raise MoneyError(f"{what} {text!r} must not be negative")
    return value


@dataclass(frozen=True)
class Limits:
    """How much one operator's posting (a recharge, an adjustment, a card's value) may move, and how far from
    zero it may leave the balance, in micro-units: the settings max_amount and max_balance, which stop a
    mistyped amount long before the hard ceiling."""

    amount: int = MAX_AMOUNT
    balance: int = MAX_AMOUNT

    def check(self, amount: int, balance: int, account: str) -> None:
        """Refuse ``amount``, or the ``balance`` it would leave ``account`` at, when beyond the limits."""
        if abs(amount) > self.amount:
            raise MoneyError(
                f"amount {format_amount(amount)} is more than the maximum amount, "
                f"{format_amount(self.amount)} (setting max_amount)"
            )
        if abs(balance) > self.balance:
            raise MoneyError(
                f"{account}'s balance would be {format_amount(balance)}, beyond the maximum balance, "
                f"{format_amount(self.balance)} (setting max_balance)"
            )


CEILING = Limits()  # the hard ceiling only: what a posting made without the settings is held to


def format_amount(micros: int, *, min_decimals: int = 2) -> str:
    """Print micro-units as a decimal string, trailing zeros trimmed to ``min_decimals``."""
    if not isinstance(micros, int):
        raise TypeError(f"money must be an int of micro-units, not {type(micros).__name__}")
    sign = "-" if micros < 0 else ""
    whole, frac = divmod(abs(micros), MICRO)
    digits = f"{frac:06d}".rstrip("0").ljust(min_decimals, "0")
    return f"{sign}{whole}.{digits}" if digits else f"{sign}{whole}"


def parse_currency(text: str) -> str:
    """A currency code: three letters, ISO 4217 or a unit of the operator's own such as CRD."""
    code = text.strip().upper()
    if not _CURRENCY.match(code):
        raise MoneyError(f"currency {text!r} must be three letters, e.g. USD, EUR or CRD (credits)")
    return code


def ceil_div(numerator: int, denominator: int) -> int:
    """Integer ceiling of numerator/denominator for a positive denominator."""
    return -((-numerator) // denominator)


def round_up(amount: Fraction | int, step: int = 1) -> int:
    """Round an exact amount of micro-units up to a multiple of ``step`` micro-units."""
    if step <= 0:
        raise ValueError("rounding step must be positive")
    value = Fraction(amount)
    return ceil_div(value.numerator, value.denominator * step) * step
