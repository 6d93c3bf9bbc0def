"""Money as integer micro-units (1/1,000,000 of the main unit).

No float ever touches an amount: amounts are parsed from and printed as decimal
strings, and every rounding is an explicit integer operation.
"""

from __future__ import annotations

import re
from fractions import Fraction

from asteriskbill.errors import UserError

MICRO = 1_000_000
DECIMALS = 6

_AMOUNT = re.compile(r"^([+-]?)(\d*)(?:\.(\d*))?$")
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
        raise MoneyError(f"{what} {text!r} is not a decimal number (use digits and an optional '.', e.g. 10.50)")
    sign, whole, frac = match.group(1), match.group(2) or "0", match.group(3) or ""
    if len(frac) > DECIMALS:
        raise MoneyError(f"{what} {text!r} has more than {DECIMALS} decimals")
    value = int(whole) * MICRO + int(frac.ljust(DECIMALS, "0") or 0)
    if sign == "-":
        value = -value
    if value < 0 and not negative:
        raise MoneyError(f"{what} {text!r} must not be negative")
    return value


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
