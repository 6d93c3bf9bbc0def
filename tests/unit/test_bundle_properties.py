"""Bundle seconds before money (rating/bundle.py), over the random tariffs, rates, call starts and balances of the
rating properties: the maximum duration fits the money and the bundle and is maximal, a call cut at it never costs
more than was available, and the bundle and the money together pay exactly what the call costs."""

from datetime import UTC, datetime

from hypothesis import given
from hypothesis import strategies as st

from asteriskbill.money import ceil_div
from asteriskbill.rating.bundle import Bundled, Credited, bundled
from asteriskbill.rating.engine import Pricing
from asteriskbill.rating.model import IntervalGroup, Rate, Tariff
from tests.unit.test_rating_properties import NUMBER, PROPERTY, caps, moments, rate_sets

bundles = st.integers(0, 3 * 3600)


@PROPERTY
@given(moments(), rate_sets(), st.integers(-1000, 50_000_000), caps, bundles)
def test_max_duration_fits_the_money_and_the_bundle_and_is_maximal(moment, rates, available, cap, bundle):
    tariff, start = moment
    pricing = Bundled(Pricing(tariff, rates, NUMBER, start, cap), bundle)
    limit = pricing.max_duration(available)
    assert limit.cost <= max(available, 0) and limit.bundle_seconds <= bundle
    assert limit.seconds >= min(bundle, pricing.horizon)  # the bundle alone pays for its seconds
    if available < 0:  # a debt: the bundle's seconds and no more
        assert limit.seconds == min(bundle, pricing.horizon)
    elif limit.seconds < pricing.horizon:  # one more second opens a block the money does not pay for
        assert pricing.cost(limit.seconds + 1).cost > available


@PROPERTY
@given(moments(), rate_sets(), st.integers(0, 50_000_000), caps, bundles, st.integers(0, 999))
def test_a_call_cut_at_its_limit_costs_no_more_than_the_bundle_and_balance_allow(
    moment, rates, available, cap, bundle, late_ms
):
    tariff, start = moment
    pricing = Bundled(Pricing(tariff, rates, NUMBER, start, cap), bundle)
    limit = pricing.max_duration(available)
    billable = min(ceil_div(limit.seconds * 1000 + late_ms, 1000), limit.seconds)
    charge = pricing.cost(billable)
    assert charge.cost <= available and charge.bundle_seconds <= bundle


@PROPERTY
@given(moments(), rate_sets(), st.integers(0, 4 * 3600), bundles)
def test_the_bundle_and_the_money_pay_what_the_call_costs(moment, rates, seconds, bundle):
    tariff, start = moment
    plain = Pricing(tariff, rates, NUMBER, start, seconds)
    charge = Bundled(plain, bundle).cost(seconds)
    covered = min(seconds, bundle, plain.horizon)
    assert charge.cost + plain.cost(covered).cost == plain.cost(seconds).cost
    assert charge.spans == plain.cost(seconds).spans  # the buy side is the whole call's
    assert charge.bundle_seconds <= min(bundle, plain.billed(seconds))


@PROPERTY
@given(moments(), rate_sets(), st.integers(0, 7200), st.integers(0, 600), bundles, st.integers(0, 600))
def test_money_grows_with_the_call_and_shrinks_with_the_bundle(moment, rates, seconds, more, bundle, extra):
    tariff, start = moment
    plain = Pricing(tariff, rates, NUMBER, start, seconds + more)
    pricing = Bundled(plain, bundle)
    assert pricing.cost(seconds).cost <= pricing.cost(seconds + more).cost
    assert Bundled(plain, bundle + extra).cost(seconds).cost <= pricing.cost(seconds).cost


@PROPERTY
@given(moments(), rate_sets(), st.integers(-1000, 50_000_000), caps)
def test_no_bundle_is_the_plain_pricing(moment, rates, available, cap):
    tariff, start = moment
    plain = Pricing(tariff, rates, NUMBER, start, cap)
    assert bundled(plain, 0) is plain
    assert Bundled(plain, 0).max_duration(available) == plain.max_duration(available)


def test_a_worked_example_sixty_seconds_of_bundle_then_money():
    """UK at 0.60/min, 60/6; 100 bundle seconds and 0.30 of money: the bundle pays 0-60 and the 6 s blocks from
    60 to 102 (the block second 100 falls in), then 0.30 pays five blocks more: 132 s."""
    rate = Rate("44", (IntervalGroup(0, 600_000, 60), IntervalGroup(60, 600_000, 6)))
    start = datetime(2026, 12, 1, 12, tzinfo=UTC)
    pricing = Bundled(Pricing(Tariff("t", "USD"), [rate], NUMBER, start, 3600), 100)
    limit = pricing.max_duration(300_000)
    assert (limit.seconds, limit.cost, limit.bundle_seconds) == (132, 300_000, 100)
    assert (pricing.cost(45).cost, pricing.cost(45).bundle_seconds) == (0, 60)  # a whole first block
    assert (pricing.cost(103).cost, pricing.cost(103).bundle_seconds) == (60_000, 100)


@PROPERTY
@given(moments(), rate_sets(), st.integers(-1000, 50_000_000), caps, st.integers(0, 20_000_000), st.integers(0, 999))
def test_a_money_bundle_pays_first_and_the_limit_fits_both(moment, rates, available, cap, credit, late_ms):
    tariff, start = moment
    plain = Pricing(tariff, rates, NUMBER, start, cap)
    pricing = Credited(plain, credit)
    limit = pricing.max_duration(available)
    assert limit.cost <= max(available, 0) and limit.bundle_amount <= credit
    assert limit.cost + limit.bundle_amount == plain.cost(limit.seconds).cost
    if limit.seconds < pricing.horizon and available >= 0:
        assert pricing.cost(limit.seconds + 1).cost > available
    billable = min(ceil_div(limit.seconds * 1000 + late_ms, 1000), limit.seconds)
    assert pricing.cost(billable).cost <= max(available, 0)


def test_a_worked_example_of_a_money_bundle():
    """UK at 0.60/min, 60/6 with 1.00 of bundle and 0.20 of money: 1.20 pays 60 s + 10 blocks of 6 s."""
    rate = Rate("44", (IntervalGroup(0, 600_000, 60), IntervalGroup(60, 600_000, 6)))
    start = datetime(2026, 12, 1, 12, tzinfo=UTC)
    pricing = bundled(Pricing(Tariff("t", "USD"), [rate], NUMBER, start, 3600), amount=1_000_000)
    limit = pricing.max_duration(200_000)
    assert (limit.seconds, limit.cost, limit.bundle_amount) == (120, 200_000, 1_000_000)
    assert (pricing.cost(50).cost, pricing.cost(50).bundle_amount) == (0, 600_000)
