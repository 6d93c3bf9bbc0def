"""Dialled-number normalisation and call classes (pure).

A number plan says how people dial at one site; its rules run in a fixed order and turn what was
dialled into the international form without '+' (e.g. 35929301234), which is what rates and
routes match:

1. ``invalid``         anything but digits (after removing spaces, dashes, dots, brackets and a leading +)
2. ``outside line``    strip the outside-line digit(s) PBX users dial first (e.g. 9)
3. ``international``   a leading international prefix (00) is dropped: the rest is international already
4. ``national``        a leading national prefix (0) becomes the country code
5. ``local``           a number without prefix gets the country code and area code (when the plan has one)
6. ``too long``        more than ``max_length`` digits (E.164 allows 15)

A leading '+' counts as the international prefix.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from asteriskbill.errors import UserError

_SEPARATORS = re.compile(r"[\s\-.()/]")
_DIGITS = re.compile(r"[0-9]+")
CALL_CLASSES = ("local", "national", "international")


def is_digits(text: str) -> bool:
    """Whether ``text`` is the digits 0-9 only: str.isdigit() also takes "²" and other scripts' digits."""
    return _DIGITS.fullmatch(text) is not None


class NumberError(UserError):
    """A dialled number that cannot be called."""


@dataclass(frozen=True)
class NumberPlan:
    country_code: str = "1"
    area_code: str = ""
    outside_line: str = ""
    international_prefix: str = "00"
    national_prefix: str = "0"
    max_length: int = 15

    def overridden(
        self,
        *,
        country_code: str | None = None,
        area_code: str | None = None,
        outside_line: str | None = None,
        international_prefix: str | None = None,
        national_prefix: str | None = None,
        max_length: int | None = None,
        **_others: object,
    ) -> NumberPlan:
        """This plan with a company's own values where it has them: None and "" keep this plan's value, other
        names (a row's ``id``, ``account_id``) are ignored."""
        return NumberPlan(
            country_code or self.country_code,
            area_code or self.area_code,
            outside_line or self.outside_line,
            international_prefix or self.international_prefix,
            national_prefix or self.national_prefix,
            self.max_length if max_length is None else max_length,
        )


@dataclass(frozen=True)
class Normalized:
    dialled: str
    number: str
    call_class: str
    rules: tuple[str, ...]  # the rules that fired, in order


def normalize(dialled: str, plan: NumberPlan) -> Normalized:
    """The international form of ``dialled`` and its call class; NumberError if it cannot be called."""
    digits = _SEPARATORS.sub("", dialled)
    rules: list[str] = []
    international = digits.startswith("+")
    digits = digits.removeprefix("+")
    if not is_digits(digits):
        raise NumberError(f"{dialled!r} is not a phone number (digits only)")
    if (
        plan.outside_line
        and not international
        and digits.startswith(plan.outside_line)
        and len(digits) > len(plan.outside_line)
    ):
        digits = digits[len(plan.outside_line) :]
        rules.append("outside line")
    if len(digits) < 3:
        raise NumberError(f"{dialled!r} is too short to call")
    if international:
        rules.append("international")
    elif plan.international_prefix and digits.startswith(plan.international_prefix):
        digits = digits[len(plan.international_prefix) :]
        rules.append("international")
    elif plan.national_prefix and digits.startswith(plan.national_prefix):
        digits = plan.country_code + digits[len(plan.national_prefix) :]
        rules.append("national")
    else:
        digits = plan.country_code + plan.area_code + digits
        rules.append("local")
    if len(digits) > plan.max_length:
        raise NumberError(f"{dialled!r} is too long: {len(digits)} digits, at most {plan.max_length}")
    return Normalized(dialled, digits, classify(digits, plan, dialled_local="local" in rules), tuple(rules))


def classify(number: str, plan: NumberPlan, dialled_local: bool = False) -> str:
    """local: dialled without prefix, or in the plan's own area; national: its country; else international."""
    if not number.startswith(plan.country_code):
        return "international"
    if dialled_local or (plan.area_code and number.startswith(plan.country_code + plan.area_code)):
        return "local"
    return "national"
