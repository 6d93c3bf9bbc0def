"""The pure rating engine: how many costs and maximum durations per second (no database)."""

from __future__ import annotations

import random
from datetime import UTC, datetime, time, timedelta

from asteriskbill.money import ceil_div
from asteriskbill.rating.engine import Pricing
from asteriskbill.rating.model import IntervalGroup, Rate, Tariff
from bench.common import Row, per_second, timer

TARIFF = Tariff("bench", "USD", rounding=10_000, timezone="Europe/Sofia")
RATES = [
    Rate("44", (IntervalGroup(0, 200_000, 60), IntervalGroup(60, 100_000, 6)), connect_fee=50_000, grace=3),
    Rate("44", (IntervalGroup(0, 600_000, 60), IntervalGroup(60, 300_000, 1)), time_from=time(8), time_to=time(18)),
    Rate("447", (IntervalGroup(0, 150_000, 30), IntervalGroup(30, 150_000, 6)), weekdays=frozenset({5, 6})),
]
SINGLE = RATES[0]  # the common case: one rate, valid at all times
CAP, SLICE = 10_800, 300  # the settings' max_call_seconds and slice_seconds
COUNT = 5000
ROUND = 500  # calls per alternate round of the engine and its bound


def run() -> list[Row]:
    rng = random.Random(7)
    base = datetime(2026, 1, 1, tzinfo=UTC)
    calls = [
        (
            base + timedelta(minutes=rng.randrange(60 * 24 * 365)),
            f"447{rng.randrange(10**9):09d}",
            rng.randrange(1, 3 * 3600),
            rng.randrange(0, 20_000_000),
        )
        for _ in range(COUNT)
    ]
    with timer() as costs:
        for start, number, seconds, _ in calls:
            Pricing(TARIFF, RATES, number, start, seconds).cost(seconds)
    with timer() as limits:
        for start, number, _, available in calls:
            Pricing(TARIFF, RATES, number, start, CAP).max_duration(available)
    single, inlined = _authorizations(calls)
    return [
        Row(
            "rating (pure)",
            "cost of one call (3 rates, windows, split)",
            per_second(COUNT, costs(), "calls"),
            "seconds 1-3 h, random starts over a year",
        ),
        Row(
            "rating (pure)",
            "max_duration (3 rates, windows, 3 h cap)",
            per_second(COUNT, limits(), "calls"),
            "calls that cross rate changes",
        ),
        Row(
            "rating (pure)",
            "an authorization's pricing: Pricing + max_duration + cost of the first slice (1 rate, 3 h cap)",
            per_second(COUNT, single, "calls"),
            f"bound: the same arithmetic inlined on plain ints {per_second(COUNT, inlined, 'calls')} "
            f"({single / inlined:.0f} times as long)",
        ),
    ]


def _authorizations(calls: list[tuple[datetime, str, int, int]]) -> tuple[float, float]:
    """Seconds taken by what an authorization prices, through the engine and inlined (the bound), in alternate
    rounds so that both see the same load; both must find the same figures."""
    engine = inlined = 0.0
    for begin in range(0, len(calls), ROUND):
        ours, bound = [], []
        with timer() as took:
            for start, number, _, available in calls[begin : begin + ROUND]:
                pricing = Pricing(TARIFF, [SINGLE], number, start, CAP)
                limit = pricing.max_duration(available)
                ours.append((limit.seconds, limit.cost, pricing.cost(min(SLICE, limit.seconds)).cost))
        engine += took()
        with timer() as took:
            for _, _, _, available in calls[begin : begin + ROUND]:
                seconds = _inline_max(available)
                bound.append((seconds, _inline_cost(seconds), _inline_cost(min(SLICE, seconds))))
        inlined += took()
        assert ours == bound, "the engine and the inlined arithmetic disagree"
    return engine, inlined


def _inline_cost(seconds: int) -> int:
    """SINGLE's cost in plain ints: 60 s at 0.20/min, then 6 s blocks at 0.10/min, fee 0.05, grace 3 s."""
    if seconds <= 3:
        return 0
    following = ceil_div(max(seconds - 60, 0), 6) * 6
    return ceil_div(50_000 * 60 + 60 * 200_000 + following * 100_000, 60 * 10_000) * 10_000


def _inline_max(available: int) -> int:
    if available < 0:
        return 0
    budget = (available // 10_000 * 10_000 - 50_000) * 60 - 60 * 200_000
    if budget < 0:
        return 3
    return min(60 + budget // (6 * 100_000) * 6, CAP)
