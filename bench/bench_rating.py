"""The pure rating engine: how many costs and maximum durations per second (no database)."""

from __future__ import annotations

import random
from datetime import UTC, datetime, time, timedelta

from asteriskbill.rating.engine import Pricing
from asteriskbill.rating.model import IntervalGroup, Rate, Tariff
from bench.common import Row, per_second, timer

TARIFF = Tariff("bench", "USD", rounding=10_000, timezone="Europe/Sofia")
RATES = [
    Rate("44", (IntervalGroup(0, 200_000, 60), IntervalGroup(60, 100_000, 6)), connect_fee=50_000, grace=3),
    Rate("44", (IntervalGroup(0, 600_000, 60), IntervalGroup(60, 300_000, 1)), time_from=time(8), time_to=time(18)),
    Rate("447", (IntervalGroup(0, 150_000, 30), IntervalGroup(30, 150_000, 6)), weekdays=frozenset({5, 6})),
]
COUNT = 5000


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
            Pricing(TARIFF, RATES, number, start, 10800).max_duration(available)
    return [
        Row(
            "rating (pure)",
            "cost of one call (3 rates, windows, split)",
            per_second(COUNT, costs(), "calls"),
            "seconds 1-3 h, random starts over a year",
        ),
        Row(
            "rating (pure)",
            "max_duration (3 h cap, binary search of cost)",
            per_second(COUNT, limits(), "calls"),
            "what each authorization computes",
        ),
    ]
