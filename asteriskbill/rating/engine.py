"""The rating engine: the cost of a call and its maximum duration, from ONE computation.

A call is walked block by block from its first second. Each block lasts the billing increment
of the interval group it starts in, under the rate in effect (prefix, weekday, hour, date) at the
moment it starts; a started block is billed in full, also when the call ends or the rate changes
inside it. Seconds are real seconds: a block starts at an instant, and the rate in effect is judged on
the local time the tariff's clock shows at that instant, also when the clocks change during the call.
``cost(d)`` bills the blocks that start before second ``d``; ``max_duration`` is the
largest ``d`` whose cost fits the money available: the blocks of that same walk, paid for in order until
the money runs out. So a call cut at its maximum never costs more than the money it was allowed.

Rules, in order:
- a call of 0 s, or of no more than the grace seconds of the rate at its start, costs nothing;
- otherwise the connect fee of the rate at its start is charged once, plus every block;
- the exact total (a fraction of a micro-unit at most) is rounded UP once, to the tariff's step.

All of it in integers: amounts are counted in 1/``scale`` micro-units, ``scale`` the least common multiple of
the units (seconds a price buys) of the call's rates, so every block's amount is a whole number of them.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from fractions import Fraction
from functools import cached_property
from typing import NamedTuple, Protocol
from zoneinfo import ZoneInfo

from asteriskbill.money import ceil_div
from asteriskbill.rating.model import IntervalGroup, Rate, RatingError, Tariff


class NoRateError(RatingError):
    """No rate of the tariff applies to the number at that moment."""


@dataclass(frozen=True)
class Block:
    """Consecutive blocks of one interval group of one rate."""

    rate: Rate
    group: IntervalGroup
    start: int  # elapsed second where the first block starts
    seconds: int  # seconds of the call inside these blocks
    billed: int  # seconds billed: whole increments

    @property
    def amount(self) -> Fraction:
        """Exact micro-units, before rounding (to show: the charge rounds its exact total once)."""
        return Fraction(self.billed * self.group.price, self.group.unit)


@dataclass(frozen=True)
class Span:
    """A stretch of the call priced by one rate."""

    rate: Rate
    start: int
    end: int
    blocks: tuple[Block, ...]


@dataclass(frozen=True)
class Charge:
    """What ``seconds`` of a call cost, and why."""

    seconds: int
    cost: int  # micro-units, rounded up to the tariff's step
    connect_fee: int
    in_grace: bool
    pricing: Pricing = field(repr=False, compare=False)
    # Of a bundle, used before the balance (rating/bundle.py): seconds of minutes, or micro-units of a money bundle;
    # cost is then what the balance pays.
    bundle_seconds: int = 0
    bundle_amount: int = 0

    @cached_property
    def spans(self) -> tuple[Span, ...]:
        """The blocks billed, by rate: built when asked (a quote, a settlement's buy costs), not to authorize."""
        return self.pricing.spans(self.seconds)

    @property
    def rate(self) -> Rate:
        return self.spans[0].rate

    @property
    def buy_costs(self) -> dict[str | None, int] | None:
        """What the billed seconds cost to buy (Pricing.buy_costs)."""
        return self.pricing.buy_costs(self.seconds)


@dataclass(frozen=True)
class Segment:
    """Elapsed seconds [start, end) during which ``rate`` applies."""

    start: int
    end: int
    rate: Rate


def candidates(rates: Iterable[Rate], number: str) -> list[Rate]:
    """The rates whose prefix begins ``number``."""
    return [rate for rate in rates if number.startswith(rate.prefix)]


def select_rate(tariff: Tariff, rates: Sequence[Rate], local: datetime) -> Rate | None:
    """Longest prefix among the rates valid at local time ``local``; then the narrowest window."""
    day = local.date()
    weekday = tariff.weekday(day)
    at = local.time()
    return _best(rate for rate in rates if rate.valid_on(day, weekday, at))


def _best(rates: Iterable[Rate]) -> Rate | None:
    return max(rates, key=lambda rate: (len(rate.prefix), rate.specificity), default=None)


def _elapsed(start: datetime, instant: datetime) -> int:
    """The first whole second of a call from ``start`` at or after ``instant`` (both aware)."""
    return ceil_div((instant - start) // timedelta(microseconds=1), 1_000_000)


def _clock_changes(zone: ZoneInfo, start: datetime, cuts: list[int]) -> set[int]:
    """Elapsed seconds at which the zone's UTC offset changes, between consecutive ``cuts`` (sorted, a local
    day apart at most: no zone changes its clocks twice in a day)."""

    def offset(elapsed: int) -> timedelta | None:
        return (start + timedelta(seconds=elapsed)).astimezone(zone).utcoffset()

    changes = set()
    for (low, before), (high, after) in itertools.pairwise((cut, offset(cut)) for cut in cuts):
        if before != after:
            while high - low > 1:  # invariant: offset(low) is not after, offset(high) is
                middle = (low + high) // 2
                low, high = (low, middle) if offset(middle) == after else (middle, high)
            changes.add(high)
    return changes


def _boundaries(tariff: Tariff, rates: Sequence[Rate], start: datetime, horizon: int) -> list[int]:
    """Elapsed seconds in (0, horizon) at which the applicable rate may change, for a call from ``start``
    (in UTC, so that elapsed seconds are real seconds): each instant the tariff's clock shows a window's
    edge or midnight (twice when the clocks go back), and each clock change (when the clocks go forward
    over an edge, the window opens or closes at the change)."""
    zone = ZoneInfo(tariff.timezone)
    local_start = start.astimezone(zone)
    local_end = (start + timedelta(seconds=horizon)).astimezone(zone)
    clock = {time(0, 0)} | {t for rate in rates for t in (rate.time_from, rate.time_to) if t is not None}
    offsets = {0, horizon}
    day = local_start.date()
    while day <= local_end.date():
        for moment in clock:
            for fold in (0, 1):
                instant = datetime.combine(day, moment.replace(fold=fold), tzinfo=zone)
                offsets.add(min(max(_elapsed(start, instant.astimezone(UTC)), 0), horizon))
        day += timedelta(days=1)
    offsets |= _clock_changes(zone, start, sorted(offsets))
    return sorted(offset for offset in offsets if 0 < offset < horizon)


def segments(tariff: Tariff, rates: Sequence[Rate], start: datetime, horizon: int) -> list[Segment]:
    """The rate in effect over the first ``horizon`` seconds of a call starting at ``start``.

    Elapsed seconds are real seconds, whatever the tariff's clock does meanwhile; the rate of each moment
    is judged on the local time at that instant. Stops early at the first moment no rate applies. Raises
    NoRateError if none applies at the start.
    """
    if start.tzinfo is None:
        raise RatingError("call start must carry a time zone")
    best = _best(rates) if all(rate.always for rate in rates) else None
    if best is not None:  # the same rate at every moment: no boundary to look for
        return [Segment(0, horizon, best)]
    start = start.astimezone(UTC)  # aware arithmetic within one zone is wall-clock arithmetic: not here
    zone = ZoneInfo(tariff.timezone)
    cuts = [0, *_boundaries(tariff, rates, start, horizon), horizon]
    result: list[Segment] = []
    for begin, end in itertools.pairwise(cuts):
        rate = select_rate(tariff, rates, (start + timedelta(seconds=begin)).astimezone(zone))
        if rate is None:
            break
        if result and result[-1].rate is rate:
            result[-1] = Segment(result[-1].start, end, rate)
        else:
            result.append(Segment(begin, end, rate))
    if not result:
        raise NoRateError("no rate applies at the start of the call")
    return result


def _group_at(rate: Rate, elapsed: int) -> tuple[IntervalGroup, int | None]:
    """The interval group containing elapsed second ``elapsed``, and where the next group starts."""
    groups = rate.groups
    for index in range(len(groups) - 1, -1, -1):
        if groups[index].start <= elapsed:
            following = groups[index + 1].start if index + 1 < len(groups) else None
            return groups[index], following
    raise AssertionError("the first group starts at 0")


class _Run(NamedTuple):
    """Consecutive blocks of one interval group of one rate, over the whole horizon."""

    rate: Rate
    group: IntervalGroup
    start: int  # elapsed second where the first block starts
    billed: int  # seconds: whole increments
    block: int  # what one block costs, in 1/scale micro-units: exact


class Pricing:
    """Prices any duration up to ``horizon`` seconds of one call: the single source of cost and limit."""

    def __init__(self, tariff: Tariff, rates: Sequence[Rate], number: str, start: datetime, horizon: int):
        self.tariff = tariff
        self.number = number
        self.start = start
        matching = candidates(rates, number)
        self.rates = matching
        if not matching:
            raise NoRateError(f"no rate in tariff {tariff.name!r} for {number}")
        try:
            self.segments = segments(tariff, matching, start, max(horizon, 1))
        except NoRateError:
            raise NoRateError(f"no rate in tariff {tariff.name!r} for {number} at {start.isoformat()}") from None
        self.horizon = min(horizon, self.segments[-1].end)
        # amounts in 1/scale micro-units: every block's amount is then a whole number of them
        self.scale = math.lcm(*(group.unit for segment in self.segments for group in segment.rate.groups))
        self._walk = self._blocks()

    @property
    def rate(self) -> Rate:
        """The rate at the start of the call."""
        return self.segments[0].rate

    def _blocks(self) -> tuple[_Run, ...]:
        """The blocks of the whole horizon, walked once: those of ``d`` seconds are the ones starting before ``d``.
        A block that crosses a rate change is billed in full at the rate it started in."""
        runs: list[_Run] = []
        position = 0
        for segment in self.segments:
            while position < min(segment.end, self.horizon):
                group, group_end = _group_at(segment.rate, position)
                limit = min(segment.end, self.horizon, group_end if group_end is not None else self.horizon)
                billed = ceil_div(limit - position, group.increment) * group.increment
                block = group.increment * group.price * (self.scale // group.unit)
                runs.append(_Run(segment.rate, group, position, billed, block))
                position += billed
        return tuple(runs)

    def _runs(self, seconds: int) -> Iterator[tuple[_Run, int]]:
        """The runs of blocks that start before ``seconds``, with how many of their blocks do."""
        for run in self._walk:
            if run.start >= seconds:
                return
            yield run, ceil_div(min(run.billed, seconds - run.start), run.group.increment)

    def cost(self, seconds: int) -> Charge:
        """What the first ``seconds`` of the call cost."""
        if seconds < 0:
            raise RatingError("seconds must not be negative")
        if seconds > self.horizon:
            raise RatingError(f"cannot price {seconds} s: rates cover only {self.horizon} s of this call")
        first = self.rate
        if seconds == 0 or seconds <= first.grace:
            return Charge(seconds, 0, 0, seconds > 0, self)
        exact = first.connect_fee * self.scale + sum(run.block * count for run, count in self._runs(seconds))
        step = self.tariff.rounding
        return Charge(seconds, ceil_div(exact, self.scale * step) * step, first.connect_fee, False, self)

    def billed(self, seconds: int) -> int:
        """The seconds of the blocks ``cost(seconds)`` bills: whole increments (none within the grace seconds)."""
        if seconds == 0 or seconds <= self.rate.grace:
            return 0
        return sum(count * run.group.increment for run, count in self._runs(seconds))

    def buy_costs(self, seconds: int) -> dict[str | None, int] | None:
        """What the blocks ``cost(seconds)`` bills cost to buy, at each rate's buy price per minute, per buy currency
        (None: the tariff's), each rounded up; {} for nothing billed, None if a rate has no buy price. Over the runs
        themselves: a settlement asks it of every call, and building its spans cost more than the sum."""
        if seconds == 0 or seconds <= self.rate.grace:
            return {}
        sixtieths: dict[str | None, int] = {}  # exact: billed seconds x price per minute
        for run, count in self._runs(seconds):
            if run.rate.buy_price is None:
                return None
            currency = run.rate.buy_currency
            sixtieths[currency] = sixtieths.get(currency, 0) + count * run.group.increment * run.rate.buy_price
        return {currency: ceil_div(amount, 60) for currency, amount in sixtieths.items()}

    def spans(self, seconds: int) -> tuple[Span, ...]:
        """The blocks that ``cost(seconds)`` bills, by rate (none within the grace seconds)."""
        if seconds == 0 or seconds <= self.rate.grace:
            return ()
        spans: list[Span] = []
        for run, count in self._runs(seconds):
            billed = count * run.group.increment
            block = Block(run.rate, run.group, run.start, min(billed, seconds - run.start), billed)
            end = run.start + block.seconds
            if spans and spans[-1].rate is run.rate:
                spans[-1] = Span(run.rate, spans[-1].start, end, (*spans[-1].blocks, block))
            else:
                spans.append(Span(run.rate, run.start, end, (block,)))
        return tuple(spans)

    def max_duration(self, available: int) -> Charge:
        """The longest call (up to the horizon) whose cost is at most ``available`` micro-units.

        The rounded cost fits iff the exact one fits ``available`` rounded down to the step; after the connect
        fee, that pays for the blocks of the horizon in order until one no longer fits. The call may last until
        the last block paid for ends, and through the grace seconds in any case (they cost nothing).
        """
        if available < 0:
            return self.cost(0)
        step = self.tariff.rounding
        budget = (available // step * step - self.rate.connect_fee) * self.scale
        return self.cost(min(max(self._paid_until(budget), self.rate.grace), self.horizon))

    def _paid_until(self, budget: int) -> int:
        """Where the blocks that ``budget`` (1/scale micro-units) pays for, from the first, end."""
        if budget < 0:
            return 0
        for run in self._walk:
            whole = run.billed // run.group.increment * run.block
            if whole > budget:
                return run.start + budget // run.block * run.group.increment
            budget -= whole
        return self.horizon


class Prices(Protocol):
    """What authorization, slices and settlement ask of a call's pricing: ``Pricing``, or ``Bundled`` (bundle seconds
    first, rating/bundle.py), whose charges' cost is the money part."""

    @property
    def rate(self) -> Rate: ...

    @property
    def horizon(self) -> int: ...

    def cost(self, seconds: int) -> Charge: ...

    def max_duration(self, available: int) -> Charge: ...


def cost(tariff: Tariff, rates: Sequence[Rate], number: str, start: datetime, seconds: int) -> Charge:
    """The cost of a call of ``seconds`` billable seconds to ``number`` starting at ``start``."""
    return Pricing(tariff, rates, number, start, seconds).cost(seconds)


def max_duration(
    tariff: Tariff, rates: Sequence[Rate], number: str, start: datetime, available: int, cap: int
) -> Charge:
    """The longest call up to ``cap`` seconds that ``available`` micro-units pay for, with its cost."""
    return Pricing(tariff, rates, number, start, cap).max_duration(available)
