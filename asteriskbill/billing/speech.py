"""What the IVR says for an amount of money: numbers and prompts, chosen here and played by the AGI card app.

"1.84 USD" is said as Asterisk's own SayMoney() says it: SAY NUMBER 1, letters/dollar, and, SAY NUMBER 84,
cents (main/say.c; stock core sounds). Other currencies get their words from the ``currency_words`` setting
("unit,units,subunit,subunits", or "unit,units" for a currency said in whole units); a currency without
words is said as a number, "point", its cents as digits, then its code letter by letter: never a bare number.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from asteriskbill.money import MICRO

NUMBER, DIGITS, PROMPT = "number", "digits", "prompt"
CENT = MICRO // 100
# SayMoney()'s prompts (Asterisk main/say.c), all in the stock English core sounds.
DEFAULT_WORDS = {"USD": "letters/dollar,dollars,cent,cents"}
JOINER = "and"
POINT = "letters/dot"  # what SayAlpha() plays for "."
_CODE = re.compile(r"[A-Z]{3}")
_PROMPT = re.compile(r"[\w./-]+")


@dataclass(frozen=True)
class Say:
    """One step: a number (SAY NUMBER), digits (SAY DIGITS) or a sound file (STREAM FILE)."""

    kind: str
    value: str


@dataclass(frozen=True)
class Words:
    unit: str
    units: str
    subunit: str = ""  # none: the currency is said in whole units
    subunits: str = ""


def _words(text: str) -> Words | None:
    names = text.split(",")
    if len(names) not in (2, 4) or not all(_PROMPT.fullmatch(name) for name in names):
        return None
    return Words(*names)


def check_currency_words(table: Mapping[str, str]) -> str | None:
    """What is wrong with a ``currency_words`` table, or None."""
    for code, text in table.items():
        if not _CODE.fullmatch(code):
            return f"{code!r} is not a currency code: use three capital letters, e.g. EUR"
        if _words(text) is None:
            return f'{code} = {text!r}: give 2 or 4 prompt names, e.g. "euro,euros,cent,cents" or "yen,yen"'
    return None


def say_amount(
    amount: int, currency: str, words: Mapping[str, str], joiner: str = JOINER, point: str = POINT
) -> list[Say]:
    """The steps that say ``amount`` (micro-units) of ``currency``, with the words the operator configured
    (``words``, over DEFAULT_WORDS). Only what can be spent is said: the fraction of a cent is dropped
    and a debt (a balance under a credit limit) is said as zero."""
    units, cents = divmod(max(amount, 0) // CENT, 100)
    text = words.get(currency) or DEFAULT_WORDS.get(currency)
    chosen = _words(text) if text else None
    if chosen is None:
        return _said_plainly(units, cents, currency, point)
    whole = [Say(NUMBER, str(units)), Say(PROMPT, chosen.unit if units == 1 else chosen.units)]
    if not chosen.subunit or not cents:
        return whole
    subunit = [Say(NUMBER, str(cents)), Say(PROMPT, chosen.subunit if cents == 1 else chosen.subunits)]
    return subunit if not units else [*whole, Say(PROMPT, joiner), *subunit]


def _said_plainly(units: int, cents: int, currency: str, point: str) -> list[Say]:
    """A currency without words: "1 point 8 4 B G N" (SayAlpha()'s letter prompts)."""
    steps = [Say(NUMBER, str(units))]
    if cents:
        steps += [Say(PROMPT, point), Say(DIGITS, f"{cents:02d}")]
    return steps + [Say(PROMPT, f"letters/{letter}") for letter in currency.lower()]
