"""Calling cards (pure): numbers with a Luhn check digit, PINs and their keyed hash, and card status.

Numbers and PINs come from ``secrets`` (a CSPRNG), never from a seeded generator, and are independent,
so knowing some cards of a batch tells nothing about the others. The PIN is stored only as an
HMAC-SHA256 keyed with the installation secret (kept outside the database) and bound to the card
number, so a stolen database neither reveals PINs nor shows which cards share one.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from asteriskbill.billing.numbers import is_digits
from asteriskbill.errors import UserError

NEW, ACTIVE, DISABLED, EXPIRED, DELETED = "new", "active", "disabled", "expired", "deleted"
STORED_STATUSES = (NEW, ACTIVE, DISABLED, DELETED)  # EXPIRED is decided from the dates, never stored
STATUSES = (NEW, ACTIVE, DISABLED, EXPIRED, DELETED)
NOW, FIRST_USE, MANUAL = "now", "first-use", "manual"
ACTIVATIONS = (NOW, FIRST_USE, MANUAL)

NUMBER_DIGITS = range(8, 20)  # with the check digit
PIN_DIGITS = range(4, 13)
# Cards may fill at most this share of the number space: a guessed valid number stays a 1 in 1000 chance.
MAX_FILL = 1000

_SEPARATORS = re.compile(r"[\s\-]")


class CardError(UserError):
    """A card number, PIN or card operation that cannot be used."""


def luhn_check_digit(payload: str) -> str:
    """The digit that makes ``payload`` + digit pass the Luhn check."""
    total = 0
    for position, char in enumerate(reversed(payload)):
        digit = int(char)
        if position % 2 == 0:  # doubled: these sit at odd positions once the check digit is appended
            digit = digit * 2 - 9 if digit > 4 else digit * 2
        total += digit
    return str(-total % 10)


def luhn_valid(number: str) -> bool:
    return len(number) > 1 and is_digits(number) and luhn_check_digit(number[:-1]) == number[-1]


def parse_number(text: str) -> str:
    """A card number as typed (spaces and dashes allowed), refused before any lookup if mistyped."""
    number = _SEPARATORS.sub("", text)
    if not is_digits(number):
        raise CardError(f"card number {text!r} must be digits")
    if not luhn_valid(number):
        raise CardError(f"card number {text!r} fails its check digit: mistyped?")
    return number


def check_sizes(number_digits: int, pin_digits: int, cards: int) -> None:
    """Refuse numbers or PINs short enough to guess, and batches that crowd the number space."""
    if number_digits not in NUMBER_DIGITS:
        raise CardError(f"card numbers have {NUMBER_DIGITS.start} to {NUMBER_DIGITS.stop - 1} digits")
    check_pin_digits(pin_digits)
    if cards * MAX_FILL > number_space(number_digits):
        raise CardError(
            f"{cards} cards of {number_digits} digits would make numbers easy to guess: use more --number-digits"
        )


def check_pin_digits(pin_digits: int) -> None:
    if pin_digits not in PIN_DIGITS:
        raise CardError(f"PINs have {PIN_DIGITS.start} to {PIN_DIGITS.stop - 1} digits")


def number_space(digits: int) -> int:
    """How many numbers of ``digits`` digits exist (no leading zero, last digit fixed by Luhn)."""
    space: int = 9 * 10 ** (digits - 2)  # digits >= 2: an int (typeshed types int ** int as Any)
    return space


def new_number(digits: int) -> str:
    """A random card number; no leading zero, so spreadsheets cannot drop digits."""
    lowest = 10 ** (digits - 2)  # the smallest payload (number without check digit) with no leading zero
    payload = str(lowest + secrets.randbelow(9 * lowest))
    return payload + luhn_check_digit(payload)


def new_pin(digits: int) -> str:
    return f"{secrets.randbelow(10**digits):0{digits}d}"


def pin_hash(secret: bytes, number: str, pin: str) -> str:
    return hmac.new(secret, f"{number}:{pin}".encode(), hashlib.sha256).hexdigest()


NO_CARD_HASH = "0" * 64  # compared with when no card has the number: no HMAC-SHA256 is all zeros (bar 2**-256)


def verify_pin(secret: bytes, number: str, pin: str, stored_hash: str | None) -> bool:
    """Constant-time comparison of the PIN typed with the stored hash. ``None`` (no card has that number) does
    the same work against a dummy and is False, so an unknown number answers no faster than a wrong PIN."""
    return same_pin(pin_hash(secret, number, pin), stored_hash)


def same_pin(typed_hash: str, stored_hash: str | None) -> bool:
    """``verify_pin`` for a PIN hashed already (a login compares it with the card read twice, hashing once)."""
    return hmac.compare_digest(typed_hash, stored_hash or NO_CARD_HASH) and stored_hash is not None


@dataclass(frozen=True)
class CardState:
    """The stored facts that decide whether a card may be used."""

    number: str
    status: str  # one of STORED_STATUSES
    activation: str  # one of ACTIVATIONS
    valid_days: int | None  # validity counted from activation
    expires_at: datetime | None  # fixed, or set on activation from valid_days
    activated_at: datetime | None


@dataclass(frozen=True)
class CardDecision:
    status: str  # one of STATUSES
    usable: bool  # a call may be authorized now
    activates: bool  # that call is the card's first use and activates it
    reason: str  # why not usable ("" when usable)


def expiry(valid_days: int | None, fixed: datetime | None, activated_at: datetime | None) -> datetime | None:
    """When a card expires: its fixed date, else ``valid_days`` after activation (unknown until then)."""
    if fixed is not None:
        return fixed
    if valid_days is None or activated_at is None:
        return None
    return activated_at + timedelta(days=valid_days)


def decide(card: CardState, now: datetime) -> CardDecision:
    """What a card's status is at ``now`` and whether a call may use it."""
    if card.status in (DELETED, DISABLED):
        return CardDecision(card.status, False, False, f"card {card.number} is {card.status}")
    if card.expires_at is not None and now >= card.expires_at:
        return CardDecision(
            EXPIRED, False, False, f"card {card.number} expired on {card.expires_at:%Y-%m-%d %H:%M} UTC"
        )
    if card.status == ACTIVE:
        return CardDecision(ACTIVE, True, False, "")
    if card.activation == MANUAL:
        return CardDecision(NEW, False, False, f"card {card.number} is not activated yet")
    return CardDecision(NEW, True, True, "")


def activation(card: CardState, now: datetime) -> tuple[datetime, datetime | None]:
    """(activated_at, expires_at) of a card activated at ``now``, by an operator or its first call."""
    if card.status != NEW:
        raise CardError(f"card {card.number} is {card.status}, not new: it cannot be activated")
    if card.expires_at is not None and now >= card.expires_at:
        raise CardError(f"card {card.number} expired on {card.expires_at:%Y-%m-%d}")
    return now, expiry(card.valid_days, card.expires_at, now)


def disabling(card: CardState) -> str:
    """The status of a card an operator disables: only a new or active card can be."""
    if card.status not in (NEW, ACTIVE):
        raise CardError(
            f"card {card.number} is {card.status} already"
            if card.status == DISABLED
            else f"card {card.number} is {card.status}: it cannot be disabled"
        )
    return DISABLED


def enabling(card: CardState) -> str:
    """A disabled card goes back to active, or to new if it was never activated."""
    if card.status != DISABLED:
        raise CardError(f"card {card.number} is {card.status}, not disabled")
    return ACTIVE if card.activated_at is not None else NEW


def check_deletable(card: CardState, first_used_at: datetime | None, payments: int) -> None:
    """Only a card never used for a call and never recharged (``payments``: entries beyond its face
    value) may be deleted: a used card has a history that must stay, so it is disabled instead."""
    if card.status == DELETED:
        raise CardError(f"card {card.number} is deleted already")
    if first_used_at is not None:
        raise CardError(
            f"card {card.number} was used on {first_used_at:%Y-%m-%d}: "
            "disable it instead (`asteriskbill cards disable`)"
        )
    if payments:
        raise CardError(
            f"card {card.number} has ledger entries beyond its face value (recharged or charged): "
            "disable it instead (`asteriskbill cards disable`)"
        )
