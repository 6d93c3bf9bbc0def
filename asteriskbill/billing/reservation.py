"""A call's reservation (pure): its states, and credit held in slices.

A call may last ``max_seconds`` (what the money available at its start pays for; Dial's L() ends it there),
but it holds only the cost of ``held_seconds``: the first slice, then one more slice each time `serve`
extends it while the call is up, under the same atomic rule as the first hold. The caller channel's hard
limit (Asterisk's TIMEOUT(absolute)) is the reservation's deadline: ``held_seconds`` after the callee's
answer, or after the authorization while the answer is not known (it can only come later, so the call
can never talk longer than it holds). If `serve` stops extending, the call ends at its deadline; if the
money runs out, the last extension holds exactly what is left and the deadline falls on that second.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from asteriskbill.rating.engine import Charge, Prices


class ReservationStatus(StrEnum):
    """Where a reservation is: open holds credit; the others are final (flagged: released, for a look)."""

    OPEN = "open"
    SETTLED = "settled"
    RELEASED = "released"
    FLAGGED = "flagged"


OPEN, SETTLED, RELEASED, FLAGGED = ReservationStatus


@dataclass(frozen=True)
class Hold:
    seconds: int  # talk time the amount pays for
    amount: int  # micro-units: the rating engine's cost of ``seconds`` (its money part, after bundle seconds)
    bundle_seconds: int = 0  # of a bundle of minutes, that ``seconds`` take before the balance (rating/bundle.py)
    bundle_amount: int = 0  # or of a money bundle


def _hold(pricing: Prices, seconds: int, priced: Charge | None = None) -> Hold:
    """What ``seconds`` of the call hold (``priced``: their charge, when the caller has it already)."""
    charge = priced if priced is not None and priced.seconds == seconds else pricing.cost(seconds)
    return Hold(seconds, charge.cost, charge.bundle_seconds, charge.bundle_amount)


def first_hold(pricing: Prices, max_seconds: int, slice_seconds: int, whole: Charge | None = None) -> Hold:
    """What a call authorized for ``max_seconds`` holds at its start: one slice, or all of it (0: no slices).
    ``whole``: the charge of ``max_seconds`` as authorization priced it, not priced again."""
    seconds = max_seconds if slice_seconds <= 0 else min(slice_seconds, max_seconds)
    return _hold(pricing, seconds, whole)


def extension(pricing: Prices, held: Hold, usable: int, max_seconds: int, slice_seconds: int) -> Hold | None:
    """The call's next hold: one more slice, or what ``usable`` pays for (the call's own hold plus the account's
    credit still free), never beyond ``max_seconds``; None when nothing more can be held."""
    affordable = pricing.max_duration(usable).seconds
    seconds = min(held.seconds + max(slice_seconds, 1), affordable, max_seconds)
    if seconds <= held.seconds:
        return None
    return _hold(pricing, seconds)


def deadline(authorized_at: datetime, answered_at: datetime | None, held_seconds: int) -> datetime:
    """When the caller channel must be hung up: ``held_seconds`` of talk after the answer (else the authorization)."""
    return (answered_at or authorized_at) + timedelta(seconds=held_seconds)


def extend_ahead(slice_seconds: int) -> timedelta:
    """How long before its deadline a call is extended: a quarter of a slice, at least 2 s for AMI's round trip."""
    return timedelta(seconds=max(2.0, slice_seconds / 4))
