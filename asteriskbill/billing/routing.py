"""Least-cost routing (pure): which trunks a call is offered to, in which order, and why the others are not.

A routing group holds trunks (entries) under one policy: ``lcr`` orders them by what the call's first minute
costs to buy at its start, ``priority`` by their fixed priority, ``weighted`` draws the order by their weights.
Entries with a prefix override the group's other entries for the numbers that prefix begins (the longest wins).
A trunk is skipped when it is disabled, at its channel limit, its prepaid vendor has no balance left, its vendor
has no rate for the number, or it would lose money (buy > sell) unless the group allows that; a demoted trunk
(answer-seizure ratio under the threshold) is tried after the others. The dialplan tries the usable ones in
order and moves to the next only when an attempt failed for the route's sake (``FAILOVER``).
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass

from asteriskbill.errors import UserError
from asteriskbill.money import format_amount

LCR, PRIORITY, WEIGHTED = "lcr", "priority", "weighted"
POLICIES = (LCR, PRIORITY, WEIGHTED)
# The Dial statuses after which the next route is tried: the trunk failed, not the callee (never BUSY,
# NOANSWER, ANSWER, CANCEL). dialplan/extensions_asteriskbill.conf tests the same two.
FAILOVER = ("CHANUNAVAIL", "CONGESTION")
FIRST_MINUTE = 60  # seconds: buy and sell are compared on what a call's first minute costs
MAX_ROUTES = 8  # BILL_DIAL_1..8: more alternatives than that only lengthen a failing call's set-up


@dataclass(frozen=True)
class Entry:
    """A trunk in a routing group, as the group lists it."""

    trunk_id: int
    prefix: str = ""
    priority: int = 1
    weight: int = 1


@dataclass(frozen=True)
class Candidate:
    """A trunk that could carry a call, with what it costs and what state it is in now."""

    trunk_id: int
    trunk: str
    vendor_id: int
    vendor: str
    dial: str  # a Dial() target with ${NUMBER}
    priority: int = 1
    weight: int = 1
    strip_digits: int = 0
    add_prefix: str = ""
    enabled: bool = True
    channel_limit: int | None = None
    channels: int = 0  # calls up now counted against it
    vendor_out_of_money: bool = False  # a prepaid vendor whose balance is spent
    demoted: str = ""  # why, while its answer-seizure ratio is under the threshold
    buy: int | None = None  # the call's first minute, bought, in the sell currency; None: see no_buy
    no_buy: str = ""  # why buy is None: no rate for the number, no currency rate to compare

    def dial_string(self, number: str) -> str:
        """The Dial() target for ``number``: its first digits stripped, the vendor's prefix added."""
        return self.dial.replace("${NUMBER}", self.add_prefix + number[self.strip_digits :])


@dataclass(frozen=True)
class Verdict:
    candidate: Candidate
    position: int  # 1, 2, ... in the order tried; 0: skipped
    why: str


def entries_for(entries: Sequence[Entry], number: str) -> list[Entry]:
    """The group's entries for ``number``: those of the longest prefix that begins it ("" begins every number)."""
    matching = [entry for entry in entries if number.startswith(entry.prefix)]
    longest = max((len(entry.prefix) for entry in matching), default=0)
    return [entry for entry in matching if len(entry.prefix) == longest]


def order(
    policy: str, candidates: Sequence[Candidate], sell: int, *, allow_loss: bool = False, draw: random.Random
) -> list[Verdict]:
    """Every candidate with its verdict: the usable ones first, in the order the dialplan tries them (demoted
    ones last, at most MAX_ROUTES), then the skipped ones. ``sell``: the call's first minute, sold."""
    if policy not in POLICIES:
        raise UserError(f"unknown routing policy {policy!r}: use one of {', '.join(POLICIES)}")
    usable: list[Candidate] = []
    skipped: list[Verdict] = []
    for candidate in candidates:
        why = _skipped(candidate, sell, allow_loss)
        if why:
            skipped.append(Verdict(candidate, 0, why))
        else:
            usable.append(candidate)
    ranked = _ranked(policy, usable, draw)
    ranked.sort(key=lambda candidate: bool(candidate.demoted))  # stable: the policy's order within each
    verdicts = [Verdict(c, n, _why(policy, c)) for n, c in enumerate(ranked[:MAX_ROUTES], start=1)]
    verdicts += [Verdict(c, 0, f"skipped: more than {MAX_ROUTES} routes") for c in ranked[MAX_ROUTES:]]
    return verdicts + skipped


def _skipped(candidate: Candidate, sell: int, allow_loss: bool) -> str:
    """Why the candidate cannot take the call, or "" when it can."""
    if not candidate.enabled:
        return "skipped: disabled"
    if candidate.buy is None and candidate.no_buy.startswith("no rate"):
        return f"skipped: {candidate.no_buy}"
    if candidate.channel_limit is not None and candidate.channels >= candidate.channel_limit:
        return f"skipped: at its channel limit ({candidate.channels}/{candidate.channel_limit})"
    if candidate.vendor_out_of_money:
        return f"skipped: vendor {candidate.vendor} has no prepaid balance left"
    if candidate.buy is not None and candidate.buy > sell and not allow_loss:
        return f"skipped: buys at {format_amount(candidate.buy)} a minute, sells at {format_amount(sell)}"
    return ""


def _ranked(policy: str, usable: list[Candidate], draw: random.Random) -> list[Candidate]:
    if policy == LCR:  # a buy price not comparable (no currency rate) goes after the known ones
        return sorted(usable, key=lambda c: (c.buy is None, c.buy or 0, c.priority, c.trunk))
    if policy == PRIORITY:
        return sorted(usable, key=lambda c: (c.priority, c.trunk))
    return _weighted(sorted(usable, key=lambda c: c.trunk), draw)


def _weighted(pool: list[Candidate], draw: random.Random) -> list[Candidate]:
    """An order drawn by weight: each next trunk picked with a chance of its share of the weights left."""
    ordered: list[Candidate] = []
    while pool:
        total = sum(max(c.weight, 0) for c in pool)
        if total == 0:
            return ordered + pool
        point = draw.randrange(total)
        for at, candidate in enumerate(pool):
            point -= max(candidate.weight, 0)
            if point < 0:
                ordered.append(pool.pop(at))
                break
    return ordered


def _why(policy: str, candidate: Candidate) -> str:
    price = "buy unknown" if candidate.buy is None else f"buys at {format_amount(candidate.buy)} a minute"
    if candidate.no_buy and candidate.buy is None:
        price = f"buy unknown ({candidate.no_buy})"
    said = {LCR: price, PRIORITY: f"priority {candidate.priority}, {price}", WEIGHTED: f"weight {candidate.weight}"}
    demoted = f"; demoted: {candidate.demoted}" if candidate.demoted else ""
    return said[policy] + demoted


# --- answer-seizure ratio -------------------------------------------------------------------------


@dataclass(frozen=True)
class AsrRule:
    """A trunk whose last ``window`` attempts were answered less than ``threshold`` percent is demoted, and
    recovers once they are answered that often again. threshold 0: never demoted."""

    window: int = 20
    threshold: int = 0

    def judged(self, answered: int, attempts: int) -> str:
        """Why the trunk is demoted now, or "" when it is not (too few attempts yet to judge count as fine)."""
        if self.threshold <= 0 or attempts < self.window:
            return ""
        if answered * 100 >= self.threshold * attempts:
            return ""
        return f"ASR {answered * 100 // attempts}% over its last {attempts} attempts (under {self.threshold}%)"
