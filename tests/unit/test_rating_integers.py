"""Pricing in integers: max_duration's closed form equals a search of cost, cost equals the exact rational sum,
and rates valid at every moment make one segment without walking the clock."""

from datetime import date, time, timedelta
from fractions import Fraction
from zoneinfo import ZoneInfo

from hypothesis import given
from hypothesis import strategies as st

from asteriskbill.money import round_up
from asteriskbill.rating.engine import Pricing, select_rate
from asteriskbill.rating.model import IntervalGroup, Rate, Tariff
from tests.unit.test_rating_properties import NUMBER, PROPERTY, caps, groups, moments, rate_sets

money = st.integers(-1000, 50_000_000)


def searched(pricing: Pricing, available: int) -> int:
    """The reference: the largest duration whose cost fits, by binary search of cost (cost grows with time)."""
    if available < 0:
        return 0
    low, high = 0, pricing.horizon  # invariant: cost(low) <= available
    while low < high:
        middle = (low + high + 1) // 2
        if pricing.cost(middle).cost <= available:
            low = middle
        else:
            high = middle - 1
    return low


@st.composite
def always_valid(draw):
    """Rates with no weekday, hour or date restriction: a longer prefix, a weight, a grace, a fee."""
    rates = [
        Rate("44", draw(groups()), connect_fee=draw(st.sampled_from([0, 123_457])), grace=draw(st.sampled_from([0, 5])))
    ]
    if draw(st.booleans()):
        rates.append(Rate("4420", draw(groups()), weight=draw(st.integers(0, 2))))
    if draw(st.booleans()):
        rates.append(Rate("44", draw(groups()), weight=1))
    return rates


@PROPERTY
@given(moments(), rate_sets() | always_valid(), money, caps)
def test_the_closed_form_is_the_search(moment, rates, available, cap):
    tariff, start = moment
    pricing = Pricing(tariff, rates, NUMBER, start, cap)
    assert pricing.max_duration(available).seconds == searched(pricing, available)


@PROPERTY
@given(moments(), rate_sets() | always_valid(), money, caps)
def test_the_limit_fits_and_one_more_increment_does_not(moment, rates, available, cap):
    tariff, start = moment
    pricing = Pricing(tariff, rates, NUMBER, start, cap)
    limit = pricing.max_duration(available)
    assert limit.cost <= max(available, 0)
    if limit.seconds < pricing.horizon and limit.spans:
        increment = limit.spans[-1].blocks[-1].group.increment
        assert pricing.cost(min(limit.seconds + increment, pricing.horizon)).cost > available


@PROPERTY
@given(moments(), rate_sets() | always_valid(), st.integers(0, 4 * 3600))
def test_cost_is_the_exact_sum_rounded_up_once(moment, rates, seconds):
    tariff, start = moment
    charge = Pricing(tariff, rates, NUMBER, start, seconds).cost(seconds)
    exact = charge.connect_fee + sum((b.amount for s in charge.spans for b in s.blocks), Fraction(0))
    assert charge.cost == round_up(exact, tariff.rounding)


@PROPERTY
@given(moments(), always_valid(), caps, st.booleans())
def test_rates_valid_at_every_moment_make_one_segment(moment, rates, cap, holidays):
    tariff, start = moment
    if holidays:  # holidays only change the weekday: no effect on rates valid on every weekday
        day = start.astimezone(ZoneInfo(tariff.timezone)).date()
        tariff = Tariff("t", "USD", tariff.rounding, tariff.timezone, {day: 6, day + timedelta(days=1): 0})
    assert all(rate.always for rate in rates)
    pricing = Pricing(tariff, rates, NUMBER, start, cap)
    [segment] = pricing.segments
    assert (segment.start, segment.end) == (0, max(cap, 1))
    for elapsed in (0, max(cap, 1) - 1):
        local = (start + timedelta(seconds=elapsed)).astimezone(ZoneInfo(tariff.timezone))
        assert segment.rate is select_rate(tariff, pricing.rates, local)


def test_any_restriction_makes_a_rate_not_always_valid():
    one = (IntervalGroup(0, 600_000),)
    assert Rate("44", one).always
    for restricted in (
        Rate("44", one, weekdays=frozenset({0, 1, 2, 3, 4})),
        Rate("44", one, date_from=date(2026, 1, 1)),
        Rate("44", one, date_to=date(2026, 1, 1)),
        Rate("44", one, time_from=time(8), time_to=time(18)),
    ):
        assert not restricted.always
