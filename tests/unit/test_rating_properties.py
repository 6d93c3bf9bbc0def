"""Invariants of cost and max_duration, over random tariffs, rates, call starts and balances.

Call starts are drawn near the clock changes of the tariff's zone too (spring forward, fall back, Lord
Howe's half hour), given in UTC or in the zone itself, and windows often end in the early hours.
"""

import itertools
from dataclasses import replace
from datetime import UTC, datetime, time, timedelta
from functools import cache
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from asteriskbill.money import ceil_div
from asteriskbill.rating.engine import Pricing, cost, select_rate
from asteriskbill.rating.model import IntervalGroup, Rate, Tariff

NUMBER = "4420712345"
PROPERTY = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


half_hours = st.integers(0, 47) | st.integers(0, 7)  # windows often start in the early hours, where clocks change


def clock(half_hour: int) -> time:
    return time(half_hour // 2, 30 * (half_hour % 2))


@st.composite
def groups(draw):
    count = draw(st.integers(1, 3))
    result, start = [], 0
    for _ in range(count):
        increment = draw(st.sampled_from([1, 6, 10, 30, 60]))
        unit = draw(st.sampled_from([60, 60, 60, 1, 30]))
        result.append(IntervalGroup(start, draw(st.integers(0, 3_000_000)), increment, unit))
        start += increment * draw(st.integers(1, 5))
    return tuple(result)


@st.composite
def rate_sets(draw):
    """An all-day rate and sometimes a peak window or a longer prefix, so calls cross boundaries."""
    fee = draw(st.sampled_from([0, 0, 100_000, 123_457]))
    grace = draw(st.sampled_from([0, 0, 5, 30]))
    rates = [Rate("44", draw(groups()), connect_fee=fee, grace=grace)]
    if draw(st.booleans()):
        start = draw(half_hours)
        end = (start + draw(st.integers(1, 47))) % 48
        rates.append(
            Rate("44", draw(groups()), connect_fee=fee, grace=grace, time_from=clock(start), time_to=clock(end))
        )
    if draw(st.booleans()):
        rates.append(Rate("4420", draw(groups()), weekdays=frozenset({0, 1, 2, 3, 4})))
    return rates


ZONES = ["UTC", "Europe/Sofia", "America/Bogota", "Europe/London", "America/New_York", "Australia/Lord_Howe"]
tariffs = st.builds(
    Tariff,
    name=st.just("t"),
    currency=st.just("USD"),
    rounding=st.sampled_from([1, 1, 10_000, 50_000]),
    timezone=st.sampled_from(ZONES),
)
starts = st.datetimes(min_value=datetime(2026, 1, 1), max_value=datetime(2027, 12, 31), timezones=st.just(UTC))
caps = st.integers(0, 4 * 3600)


@cache
def clock_changes(zone: str) -> list[datetime]:
    """The instants of 2026-2027 at which the zone's clocks change (they all change on a UTC half hour)."""
    tz, step = ZoneInfo(zone), timedelta(minutes=30)
    instants = [datetime(2026, 1, 1, tzinfo=UTC) + step * i for i in range(2 * 365 * 48)]
    return [b for a, b in itertools.pairwise(instants) if a.astimezone(tz).utcoffset() != b.astimezone(tz).utcoffset()]


@st.composite
def moments(draw) -> tuple[Tariff, datetime]:
    """A tariff and a call start: any instant, or one up to 4 h before / 1 h after a clock change of its
    zone; given in UTC or in the tariff's own zone (where wall-clock arithmetic would go wrong)."""
    tariff = draw(tariffs)
    changes = clock_changes(tariff.timezone)
    start = draw(starts)
    if changes and draw(st.booleans()):
        near = timedelta(
            seconds=draw(st.integers(-4 * 3600, 3600)), microseconds=draw(st.sampled_from([0, 1, 500_000]))
        )
        start = draw(st.sampled_from(changes)) + near
    if draw(st.booleans()):
        start = start.astimezone(ZoneInfo(tariff.timezone))
    return tariff, start


@PROPERTY
@given(moments(), rate_sets(), st.integers(-1000, 50_000_000), caps)
def test_max_duration_fits_the_money_and_is_maximal(moment, rates, available, cap):
    tariff, start = moment
    pricing = Pricing(tariff, rates, NUMBER, start, cap)
    limit = pricing.max_duration(available)
    if available >= 0:
        assert limit.cost <= available
    if limit.seconds < pricing.horizon:
        # one more second would open a block that the money does not pay for
        assert pricing.cost(limit.seconds + 1).cost > available
    # the same figure whether priced alone or as part of a longer horizon
    assert cost(tariff, rates, NUMBER, start, limit.seconds).cost == limit.cost


@PROPERTY
@given(moments(), rate_sets(), st.integers(0, 7200), st.integers(0, 600))
def test_cost_is_monotonic(moment, rates, seconds, more):
    tariff, start = moment
    pricing = Pricing(tariff, rates, NUMBER, start, seconds + more)
    assert pricing.cost(seconds).cost <= pricing.cost(seconds + more).cost


@PROPERTY
@given(moments(), rate_sets(), st.integers(0, 30))
def test_grace_is_free(moment, rates, seconds):
    tariff, start = moment
    pricing = Pricing(tariff, rates, NUMBER, start, seconds)
    if seconds <= pricing.rate.grace:
        assert pricing.cost(seconds).cost == 0


@PROPERTY
@given(groups(), starts, st.integers(1, 7200), st.integers(1, 5_000_000))
def test_connect_fee_is_charged_once(gs, start, seconds, fee):
    tariff = Tariff("t", "USD")
    without = cost(tariff, [Rate("44", gs)], NUMBER, start, seconds).cost
    with_fee = cost(tariff, [Rate("44", gs, connect_fee=fee)], NUMBER, start, seconds).cost
    assert with_fee == without + fee


@PROPERTY
@given(st.sampled_from([1, 6, 30, 60]), st.integers(0, 3_000_000), starts, st.integers(1, 7200))
def test_a_partial_increment_costs_the_whole_increment(increment, price, start, seconds):
    tariff = Tariff("t", "USD")
    rate = Rate("44", (IntervalGroup(0, price, increment),))
    whole = ceil_div(seconds, increment) * increment
    assert cost(tariff, [rate], NUMBER, start, seconds).cost == cost(tariff, [rate], NUMBER, start, whole).cost


@PROPERTY
@given(moments(), rate_sets(), st.integers(0, 50_000_000), caps, st.integers(0, 999))
def test_a_call_cut_by_dial_limit_costs_no_more_than_was_available(moment, rates, available, cap, late_ms):
    """Dial(...,L(ms)) cuts at max_duration; the settlement bills whole seconds capped at that maximum."""
    tariff, start = moment
    pricing = Pricing(tariff, rates, NUMBER, start, cap)
    limit = pricing.max_duration(available)
    talked_ms = limit.seconds * 1000 + late_ms  # Asterisk ends the bridge a few ms late
    billable = min(ceil_div(talked_ms, 1000), limit.seconds)
    assert pricing.cost(billable).cost <= available


@PROPERTY
@given(moments(), rate_sets(), st.integers(1, 7200))
def test_spans_cover_the_call_in_order(moment, rates, seconds):
    tariff, start = moment
    charge = Pricing(tariff, rates, NUMBER, start + timedelta(microseconds=1), seconds).cost(seconds)
    if charge.in_grace:
        return
    positions = [b.start for s in charge.spans for b in s.blocks]
    assert positions == sorted(positions) and positions[0] == 0
    assert sum(b.billed for s in charge.spans for b in s.blocks) >= seconds


@PROPERTY
@given(moments(), rate_sets(), st.integers(1, 4 * 3600))
def test_each_block_is_priced_by_the_rate_in_effect_at_its_real_instant(moment, rates, seconds):
    """Block starts are real instants (start + elapsed seconds of real time); each block's rate is the one valid
    at the local time the tariff's clock shows at that instant, across clock changes too."""
    tariff, start = moment
    charge = cost(tariff, rates, NUMBER, start, seconds)
    zone = ZoneInfo(tariff.timezone)
    for run in (b for span in charge.spans for b in span.blocks):  # a Block is a run of increments
        for elapsed in range(run.start, run.start + run.billed, run.group.increment):
            local = (start.astimezone(UTC) + timedelta(seconds=elapsed)).astimezone(zone)
            assert run.rate == select_rate(tariff, rates, local), f"block at {elapsed} s, {local.isoformat()}"


@st.composite
def bought_rate_sets(draw):
    """rate_sets with buy prices in one or two currencies, and sometimes a rate without one."""
    return [
        replace(
            rate,
            buy_price=draw(st.one_of(st.none(), st.integers(0, 2_000_000))),
            buy_currency=draw(st.sampled_from([None, "EUR"])),
        )
        for rate in draw(rate_sets())
    ]


@PROPERTY
@given(moments(), bought_rate_sets(), st.integers(0, 7200))
def test_buy_costs_sum_the_blocks_billed_at_their_buy_prices(moment, rates, seconds):
    """Pricing.buy_costs walks the runs without building spans: it is what the spans' blocks cost to buy."""
    tariff, start = moment
    charge = Pricing(tariff, rates, NUMBER, start, max(seconds, 1)).cost(seconds)
    blocks = [b for span in charge.spans for b in span.blocks]
    expected: dict[str | None, int] | None = {}
    for b in blocks:
        if b.rate.buy_price is None or expected is None:
            expected = None
            continue
        expected[b.rate.buy_currency] = expected.get(b.rate.buy_currency, 0) + b.billed * b.rate.buy_price
    if expected is not None:
        expected = {currency: ceil_div(amount, 60) for currency, amount in expected.items()}
    assert charge.buy_costs == expected
