"""The fields of a posted form (or a query), read as the services take them: a bad one is a UserError naming
the field, which the page shows as its error line (as the CLI's option types do for a command's options)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date, datetime

from asteriskbill.errors import UserError
from asteriskbill.money import parse_amount

Fields = Mapping[str, object]  # a FormData or the QueryParams
_WHOLE = re.compile(r"[0-9]+")  # digits 0-9 only: int() would also read other scripts' digits and "1_000"


def text(form: Fields, name: str) -> str:
    """A text field, stripped; "" when absent (or a file)."""
    value = form.get(name, "")
    return value.strip() if isinstance(value, str) else ""


def whole(form: Fields, name: str, what: str) -> int | None:
    """A whole number; None when left empty."""
    value = text(form, name)
    if not value:
        return None
    if not _WHOLE.fullmatch(value):
        raise UserError(f"{what} {value!r} is not a whole number in digits 0-9")
    return int(value)


def amount(form: Fields, name: str, what: str) -> int:
    """An amount in micro-units (money.parse_amount: an empty one is refused too)."""
    return parse_amount(text(form, name), what=what)


def day(form: Fields, name: str, what: str) -> date | None:
    """A date like 2026-12-25 (what a date input sends); None when left empty."""
    value = text(form, name)
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise UserError(f"{what} {value!r} is not a date like 2026-12-25") from None


def moment(form: Fields, name: str, what: str) -> datetime | None:
    """A date and time like 2026-12-25T18:30 (a datetime-local input), with or without an offset, as typed;
    None when left empty."""
    value = text(form, name)
    if not value:
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        raise UserError(f"{what} {value!r} is not a date and time like 2026-12-25T18:30") from None
