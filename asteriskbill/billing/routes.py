"""Routes: which trunk a normalised number leaves through (pure). Longest prefix wins."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from asteriskbill.billing.numbers import is_digits
from asteriskbill.errors import UserError

_DIAL = re.compile(r"^[^\s,;|]+$")


def check_dial(dial: str) -> str:
    """A Dial() target as the AGI hands it over: with ${NUMBER}, and nothing that would split Dial()'s arguments."""
    if not _DIAL.match(dial) or "${NUMBER}" not in dial:
        raise UserError(f"dial string {dial!r} must contain ${{NUMBER}} and no spaces, commas, ';' or '|'")
    return dial


@dataclass(frozen=True)
class Route:
    prefix: str  # digits; "" matches every number
    dial: str  # a Dial() target with ${NUMBER} for the normalised number, e.g. PJSIP/${NUMBER}@carrier1
    name: str = ""

    def __post_init__(self) -> None:
        if self.prefix and not is_digits(self.prefix):
            raise UserError(f"route prefix {self.prefix!r} must be digits (or empty for every number)")
        check_dial(self.dial)

    def dial_string(self, number: str) -> str:
        return self.dial.replace("${NUMBER}", number)


def choose_route(routes: Iterable[Route], number: str) -> Route | None:
    """The route with the longest prefix that begins ``number``."""
    matching = [route for route in routes if number.startswith(route.prefix)]
    return max(matching, key=lambda route: len(route.prefix), default=None)
