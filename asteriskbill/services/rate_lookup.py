"""Which rate of a tariff applies to a number at a moment, and why: the lookup and its explanation in words,
the same for `asteriskbill rates lookup` and the console."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import Engine

from asteriskbill.billing.numbers import is_digits
from asteriskbill.errors import UserError
from asteriskbill.rating.csvrow import describe_validity, rate_words
from asteriskbill.rating.engine import select_rate
from asteriskbill.rating.model import WEEKDAYS, Rate, Tariff
from asteriskbill.services import tariffs
from asteriskbill.store import tariffs as repo


@dataclass(frozen=True)
class Candidate:
    rate: Rate
    why_not: str  # why it does not apply at that moment; empty when it is valid

    @property
    def valid(self) -> bool:
        return not self.why_not


@dataclass(frozen=True)
class Lookup:
    """Which rate applies to a number at a moment, and why."""

    tariff: Tariff
    number: str
    local: datetime  # the moment, in the tariff's time zone
    weekday: int  # whose rates apply: a holiday's replacement day
    candidates: tuple[Candidate, ...]  # longest prefix first; then the chosen, valid, narrowest
    chosen: Rate | None
    reason: str

    @property
    def holiday(self) -> bool:
        return self.local.date() in self.tariff.holidays

    @property
    def holiday_as(self) -> str | None:
        """The weekday whose rates a holiday is priced with; None on other days."""
        return WEEKDAYS[self.weekday] if self.holiday else None


def lookup(engine: Engine, tariff_name: str, number: str, at: datetime | None = None) -> Lookup:
    """The rates whose prefix begins ``number``, which of them are valid at ``at``, and the one that applies."""
    if not is_digits(number):
        raise UserError(f"number {number!r} must be digits")
    with engine.begin() as conn:
        tid, tariff = tariffs.get_tariff(conn, tariff_name)
        rates = repo.rates_for_number(conn, tid, number, shadowed=True)
    if not rates:
        raise UserError(f"no rate in tariff {tariff_name!r} for {number}: no prefix of it has a rate")
    local = tariffs.call_start(tariff, at).astimezone(ZoneInfo(tariff.timezone))
    weekday = tariff.weekday(local.date())
    chosen = select_rate(tariff, rates, local)
    candidates = sorted(
        (Candidate(rate, _why_not(rate, local, weekday)) for rate in rates),
        reverse=True,
        key=lambda c: (len(c.rate.prefix), c.rate is chosen, c.valid, c.rate.specificity),
    )
    return Lookup(tariff, number, local, weekday, tuple(candidates), chosen, _reason(candidates, chosen))


def _why_not(rate: Rate, local: datetime, weekday: int) -> str:
    """The first of the rate's conditions that the moment fails (its validity says the rest)."""
    day, at = local.date(), local.time()
    if rate.valid_on(day, weekday, at):
        return ""
    if weekday not in rate.weekdays:
        return f"not on {WEEKDAYS[weekday]}"
    if rate.date_from and day < rate.date_from:
        return f"starts on {rate.date_from}"
    if rate.date_to and day > rate.date_to:
        return f"ended on {rate.date_to}"
    return f"not at {at:%H:%M}"


def _reason(candidates: list[Candidate], chosen: Rate | None) -> str:
    if chosen is None:
        return f"no rate of a prefix of the number is valid at that moment ({len(candidates)} looked at)"
    parts = ["the longest prefix of the number with a rate valid at that moment"]
    longer = sorted({c.rate.prefix for c in candidates if len(c.rate.prefix) > len(chosen.prefix)}, key=len)
    if longer:
        plural = len(longer) > 1
        parts.append(
            f"longer prefix{'es' if plural else ''} {', '.join(longer)} {'have' if plural else 'has'} "
            "rates, none of them valid then"
        )
    rivals = [c.rate for c in candidates if c.valid and c.rate is not chosen and c.rate.prefix == chosen.prefix]
    if rivals:
        parts.append(_tie_break(chosen, max(rivals, key=lambda r: r.specificity), len(rivals)))
    return "; ".join(parts)


def _tie_break(chosen: Rate, runner_up: Rate, rivals: int) -> str:
    """Why ``chosen`` wins over the best other valid rate of its prefix (rating.engine.select_rate's order)."""
    others = f"{rivals} other valid rate{'s' if rivals > 1 else ''} of that prefix"
    mine, theirs = chosen.specificity, runner_up.specificity
    if mine[0] != theirs[0]:
        return f"it outweighs {others} (weight {chosen.weight} over {runner_up.weight})"
    if mine[1] != theirs[1]:
        return (
            f"it covers fewer hours of the week than the {others} "
            f"({describe_validity(chosen)} over {describe_validity(runner_up)})"
        )
    if mine[2] != theirs[2]:
        return (
            f"it covers fewer dates than the {others} ({describe_validity(chosen)} over {describe_validity(runner_up)})"
        )
    return (
        f"it ties with {others} ({describe_validity(runner_up)}) and was imported first; "
        "give one a higher weight to choose"
    )


# -- in words -------------------------------------------------------------------------------------------

COLUMNS = ("", "prefix", "destination", "price", "weight", "validity", "now")  # "": "*" marks the chosen rate


def heading(found: Lookup) -> str:
    """The number, the tariff, the moment on its clock and the weekday (a holiday's: whose rates it uses)."""
    day = WEEKDAYS[found.local.weekday()] + (f", a holiday priced as {found.holiday_as}" if found.holiday else "")
    return f"{found.number} in tariff {found.tariff.name} at {found.local.isoformat()} ({day})"


def rows(found: Lookup) -> list[dict[str, str]]:
    """Each candidate by COLUMNS: its price, weight and validity, and whether it is valid at that moment."""
    shown = []
    for candidate in found.candidates:
        words = rate_words(candidate.rate)
        shown.append(
            {
                "": "*" if candidate.rate is found.chosen else "",
                "prefix": words["prefix"],
                "destination": words["destination"],
                "price": words["pricing"],
                "weight": words["weight"],
                "validity": words["validity"],
                "now": candidate.why_not or "valid",
            }
        )
    return shown


def verdict(found: Lookup) -> str:
    """The rate that applies and why, or why none does."""
    chosen = found.chosen
    if chosen is None:
        return f"no rate applies: {found.reason}"
    return f"applies: prefix {chosen.prefix} {chosen.destination}".rstrip() + f": {found.reason}"
