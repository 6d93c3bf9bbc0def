"""Bundles (pure): the minutes or the money a plan includes each cycle, and which bundle a call draws on.

A plan's bundles are written as an operator types them: ``60min:44,49;100min:local`` is 60 minutes for numbers
beginning 44 or 49 and 100 minutes for local calls; ``5.00`` is 5.00 of call credit (a money bundle), ``2.50:44``
2.50 for numbers beginning 44; a bundle without ``:`` covers every call. Prefixes are digits of the normalised
number; words are call classes (billing/numbers.py: local, national, international).
A call draws on ONE bundle: the one that covers its number most precisely (the longest prefix, then a call class,
then an all-calls bundle) among those with seconds left; what the bundle does not pay, the money does
(rating/bundle.py), in the same formula that gives the call its maximum duration.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from asteriskbill.billing.numbers import CALL_CLASSES
from asteriskbill.errors import UserError
from asteriskbill.money import format_amount, parse_amount

_ITEM = re.compile(r"(?:(?P<minutes>\d{1,6})\s*min|(?P<amount>\d{1,9}(?:\.\d{1,6})?))(?::(?P<covers>.*))?", re.I)
MAX_BUNDLES = 20  # per plan


class BundleError(UserError):
    """A bundle written so that it cannot be understood."""


@dataclass(frozen=True)
class Bundle:
    """Seconds, or money (micro-units), included each cycle, for the numbers it covers (none named: every call)."""

    seconds: int
    prefixes: tuple[str, ...] = ()
    call_classes: tuple[str, ...] = ()
    amount: int = 0  # a money bundle's (seconds is then 0)

    @property
    def size(self) -> int:
        """What each cycle gives, in its own unit: seconds, or micro-units of a money bundle."""
        return self.amount or self.seconds

    @property
    def covers_all(self) -> bool:
        return not self.prefixes and not self.call_classes

    def text(self) -> str:
        """As ``parse`` reads it back."""
        covers = ",".join((*self.prefixes, *self.call_classes))
        size = format_amount(self.amount) if self.amount else f"{self.seconds // 60}min"
        return size + (f":{covers}" if covers else "")

    def precision(self, number: str, call_class: str) -> int | None:
        """How precisely it covers the call (higher: more), or None when it does not."""
        matching = [len(prefix) for prefix in self.prefixes if number.startswith(prefix)]
        if matching:
            return 100 + max(matching)
        if call_class in self.call_classes:
            return 1
        return 0 if self.covers_all else None


def parse(text: str) -> tuple[Bundle, ...]:
    """``60min:44,49;100min:local`` as bundles; BundleError naming the part that is wrong."""
    items = [item.strip() for item in text.split(";") if item.strip()]
    if len(items) > MAX_BUNDLES:
        raise BundleError(f"at most {MAX_BUNDLES} bundles in a plan, not {len(items)}")
    return tuple(_bundle(item) for item in items)


def _bundle(item: str) -> Bundle:
    found = _ITEM.fullmatch(item)
    amount = parse_amount(found["amount"]) if found is not None and found["amount"] else 0
    if (
        found is None
        or (found["minutes"] is not None and int(found["minutes"]) == 0)
        or (found["amount"] and not amount)
    ):
        raise BundleError(
            f"bundle {item!r}: write minutes or money and what they cover, e.g. 60min:44,49, 100min:local or 5.00"
        )
    covers = [part.strip() for part in (found["covers"] or "").split(",") if part.strip()]
    if found["covers"] is not None and not covers:
        raise BundleError(f"bundle {item!r}: name prefixes or call classes after ':' (or leave ':' out for all calls)")
    wrong = [part for part in covers if not part.isdigit() and part.lower() not in CALL_CLASSES]
    if wrong:
        raise BundleError(
            f"bundle {item!r}: {wrong[0]!r} is neither a number prefix (digits) nor a call class "
            f"({', '.join(CALL_CLASSES)})"
        )
    prefixes = tuple(part for part in covers if part.isdigit())
    classes = tuple(part.lower() for part in covers if not part.isdigit())
    return Bundle(int(found["minutes"] or 0) * 60, prefixes, classes, amount)


@dataclass(frozen=True)
class Left:
    """One of an account's bundles this cycle: its id (the store's), what it covers, and what of it is not yet used
    nor held, in its unit (seconds, or micro-units of a money bundle)."""

    id: int
    bundle: Bundle
    left: int


def covering(bundles: Sequence[Left], number: str, call_class: str) -> Left | None:
    """The bundle a call to ``number`` draws on: the most precise that covers it with seconds left."""
    ranked = [
        (precision, -left.id, left)
        for left in bundles
        if left.left > 0 and (precision := left.bundle.precision(number, call_class)) is not None
    ]
    return max(ranked, key=lambda item: item[:2])[2] if ranked else None
