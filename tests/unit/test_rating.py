"""Hand-computed cases for the rating engine (prices are per minute unless said otherwise)."""

from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

import pytest

from asteriskbill.money import parse_amount as m
from asteriskbill.rating.engine import NoRateError, Pricing, cost, max_duration
from asteriskbill.rating.model import IntervalGroup, Rate, RatingError, Tariff, groups_from_increments

UTC = UTC
MONDAY_NOON = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)
USD = Tariff("retail", "USD")


def rate(price="0.60", inc=(1, 1), prefix="44", **kw):
    return Rate(prefix, groups_from_increments(m(price), *inc), **kw)


def price_of(seconds, *rates, tariff=USD, at=MONDAY_NOON, number="4420712345"):
    return cost(tariff, list(rates), number, at, seconds).cost


@pytest.mark.parametrize(
    "inc, seconds, expected",
    [
        ((60, 60), 1, "0.60"),
        ((60, 60), 60, "0.60"),
        ((60, 60), 61, "1.20"),
        ((60, 60), 120, "1.20"),
        ((60, 6), 1, "0.60"),
        ((60, 6), 60, "0.60"),
        ((60, 6), 61, "0.66"),
        ((60, 6), 66, "0.66"),
        ((60, 6), 67, "0.72"),
        ((30, 6), 1, "0.30"),
        ((30, 6), 30, "0.30"),
        ((30, 6), 31, "0.36"),
        ((30, 6), 37, "0.42"),
        ((1, 1), 1, "0.01"),
        ((1, 1), 59, "0.59"),
        ((1, 1), 61, "0.61"),
    ],
)
def test_increments(inc, seconds, expected):
    """0.60/min is 0.01 per second: a started increment is billed in full."""
    assert price_of(seconds, rate(inc=inc)) == m(expected)


def test_fractions_of_a_micro_unit_round_up_once():
    # 7 s at 0.10/min = 0.0116666... -> 0.011667 by default, 0.02 with a 0.01 step
    slow = rate("0.10")
    assert price_of(7, slow) == 11_667
    assert price_of(7, slow, tariff=Tariff("r", "USD", rounding=m("0.01"))) == m("0.02")
    # rounding happens once on the total, not per block: 3 x 1 s at 0.10/min = 0.005 exactly
    assert price_of(3, slow) == 5_000


def test_connect_fee_and_groups_cgrates_example():
    """CGRateS' documented example: 0.4 + 0.2 (first 60 s block) + 15 s at 0.1/min = 0.625."""
    r = Rate("1", (IntervalGroup(0, m("0.20"), 60), IntervalGroup(60, m("0.10"), 1)), connect_fee=m("0.40"))
    assert price_of(75, r, number="15551234") == m("0.625")
    assert price_of(1, r, number="15551234") == m("0.60")
    assert price_of(0, r, number="15551234") == 0  # unanswered: no connect fee


def test_multi_group_with_unit_price():
    # first 30 s in one block at 0.05 per 30 s, then 0.02 per 10 s in 10 s blocks
    r = Rate("44", (IntervalGroup(0, m("0.05"), 30, unit=30), IntervalGroup(30, m("0.02"), 10, unit=10)))
    assert price_of(29, r) == m("0.05")
    assert price_of(31, r) == m("0.07")
    assert price_of(50, r) == m("0.09")
    assert price_of(51, r) == m("0.11")


def test_grace():
    r = rate(inc=(60, 6), connect_fee=m("0.10"), grace=5)
    assert price_of(5, r) == 0
    assert cost(USD, [r], "44123", MONDAY_NOON, 5).in_grace
    assert price_of(6, r) == m("0.70")  # past the grace the whole call is billed, connect fee included


PEAK = rate("0.60", (60, 60), time_from=time(8), time_to=time(18), destination="UK peak")
OFF = rate("0.06", (1, 1), destination="UK")


def test_call_across_peak_end_is_split():
    # starts 17:59:30 in peak: the first 60 s block starts in peak and is billed in full at peak,
    # the 30 s after it fall in off-peak at 0.06/min.
    charge = cost(USD, [PEAK, OFF], "4420", datetime(2026, 1, 5, 17, 59, 30, tzinfo=UTC), 90)
    assert charge.cost == m("0.63")
    assert [(s.rate.destination, s.start, s.end) for s in charge.spans] == [("UK peak", 0, 60), ("UK", 60, 90)]


def test_call_across_peak_start_is_split():
    # 07:59:00 off-peak for 60 s at 0.06/min = 0.06; from 08:00 peak 60/60 blocks: 30 s -> 0.60
    charge = cost(USD, [PEAK, OFF], "4420", datetime(2026, 1, 5, 7, 59, tzinfo=UTC), 90)
    assert charge.cost == m("0.66")
    assert [s.rate.destination for s in charge.spans] == ["UK", "UK peak"]


def test_tariff_timezone():
    sofia = Tariff("bg", "BGN", timezone="Europe/Sofia")
    # 16:30 UTC is 18:30 in Sofia in January: off-peak there, peak in UTC
    at = datetime(2026, 1, 5, 16, 30, tzinfo=UTC)
    assert price_of(60, PEAK, OFF, tariff=sofia, at=at) == m("0.06")
    assert price_of(60, PEAK, OFF, at=at) == m("0.60")


def test_window_across_midnight():
    night = rate("0.01", time_from=time(22), time_to=time(6), destination="night")
    day = rate("0.60", destination="day")
    assert price_of(60, night, day, at=datetime(2026, 1, 5, 23, 0, tzinfo=UTC)) == m("0.01")
    assert price_of(60, night, day, at=datetime(2026, 1, 6, 5, 0, tzinfo=UTC)) == m("0.01")
    assert price_of(60, night, day, at=datetime(2026, 1, 6, 6, 0, tzinfo=UTC)) == m("0.60")


WEEKEND = rate("0.03", weekdays=frozenset({5, 6}), destination="weekend")


def test_holiday_uses_sunday_rates():
    christmas = date(2026, 12, 25)  # a Friday
    at = datetime(2026, 12, 25, 12, tzinfo=UTC)
    plain = Tariff("r", "USD")
    festive = Tariff("r", "USD", holidays={christmas: 6})
    assert price_of(60, WEEKEND, OFF, tariff=plain, at=at) == m("0.06")
    assert price_of(60, WEEKEND, OFF, tariff=festive, at=at) == m("0.03")


def test_longest_prefix_wins_over_narrower_window():
    mobile = rate("0.20", prefix="447", destination="UK mobile")
    assert price_of(60, PEAK, mobile, number="447700900123") == m("0.20")


def test_tie_same_prefix_narrower_window_wins():
    evening = rate("0.02", time_from=time(18), time_to=time(20), destination="evening")
    all_day_late = rate("0.50", time_from=time(12), time_to=time(23), destination="afternoon")
    at = datetime(2026, 1, 5, 19, tzinfo=UTC)
    assert price_of(60, all_day_late, evening, at=at) == m("0.02")
    assert price_of(60, evening, all_day_late, at=at) == m("0.02")


def test_tie_explicit_weight_beats_narrowness():
    promo = rate("0.01", weight=10, destination="promo")
    assert price_of(60, PEAK, promo) == m("0.01")


def test_tie_date_window():
    december = rate("0.05", date_from=date(2026, 12, 1), date_to=date(2026, 12, 31), destination="december")
    assert price_of(60, OFF, december, at=datetime(2026, 12, 2, tzinfo=UTC)) == m("0.05")
    assert price_of(60, OFF, december, at=datetime(2027, 1, 2, tzinfo=UTC)) == m("0.06")


def test_shorter_prefix_when_the_longer_is_not_valid_now():
    uk = rate("0.30", prefix="4")
    at = datetime(2026, 1, 5, 20, tzinfo=UTC)
    assert price_of(60, PEAK, uk, at=at) == m("0.30")


def test_no_rate():
    with pytest.raises(NoRateError):
        cost(USD, [OFF], "33123", MONDAY_NOON, 60)
    with pytest.raises(NoRateError):
        cost(USD, [PEAK], "4420", datetime(2026, 1, 5, 20, tzinfo=UTC), 60)


def test_rates_ending_during_the_call_limit_it():
    # only a peak rate: a call at 17:59 can last until 18:00 and no longer
    pricing = Pricing(USD, [PEAK], "4420", datetime(2026, 1, 5, 17, 59, tzinfo=UTC), 3600)
    assert pricing.horizon == 60
    assert pricing.max_duration(m("100")).seconds == 60
    with pytest.raises(RatingError, match="cover only 60 s"):
        pricing.cost(61)


def test_max_duration():
    r = rate(inc=(60, 6))  # 0.60 first minute, then 0.06 per 6 s
    limit = max_duration(USD, [r], "4420", MONDAY_NOON, m("1.00"), 10800)
    # blocks end at 60, 66, ... 96, 102: 96 s cost 0.96, a 97th second would open a block costing 1.02
    assert (limit.seconds, limit.cost) == (96, m("0.96"))
    assert price_of(97, r) == m("1.02")
    assert max_duration(USD, [r], "4420", MONDAY_NOON, m("0.59"), 10800).seconds == 0
    assert max_duration(USD, [r], "4420", MONDAY_NOON, m("1000"), 10800).seconds == 10800
    assert max_duration(USD, [r], "4420", MONDAY_NOON, -1, 10800).seconds == 0


def test_max_duration_grace_only():
    r = rate(inc=(60, 6), grace=10)
    assert max_duration(USD, [r], "4420", MONDAY_NOON, 0, 10800).seconds == 10


def test_credits_three_per_minute():
    """The seed's extension credit: 1 minute = 3 credits, 300 credits = 100 minutes."""
    credits = Tariff("credits", "CRD")
    per_minute = rate("3", inc=(60, 60), prefix="0")
    assert price_of(60, per_minute, tariff=credits, number="0123") == m("3")
    assert max_duration(credits, [per_minute], "0123", MONDAY_NOON, m("300"), 10**6).seconds == 100 * 60


def test_dst_change_is_absolute_time():
    sofia = Tariff("bg", "BGN", timezone="Europe/Sofia")
    # 2026-03-29 03:00 local clocks jump to 04:00; a call from 02:59:00 local for 120 s is 120 real seconds
    start = datetime(2026, 3, 29, 2, 59, tzinfo=ZoneInfo("Europe/Sofia"))
    assert cost(sofia, [OFF], "4420", start, 120).cost == m("0.12")


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"prefix": "44a"}, "must be digits"),
        ({"groups": (IntervalGroup(0, 1, 60), IntervalGroup(30, 1, 1))}, "not a multiple"),
        ({"groups": (IntervalGroup(5, 1, 1),)}, "first starting at 0"),
        ({"time_from": time(8)}, "go together"),
        ({"weekdays": frozenset()}, "at least one day"),
        ({"date_from": date(2026, 2, 1), "date_to": date(2026, 1, 1)}, "after date_to"),
    ],
)
def test_invalid_rates(kwargs, message):
    values = {"prefix": "44", "groups": (IntervalGroup(0, 1, 1),)} | kwargs
    with pytest.raises(RatingError, match=message):
        Rate(**values)


def test_naive_start_refused():
    with pytest.raises(RatingError, match="time zone"):
        cost(USD, [OFF], "4420", datetime(2026, 1, 5, 12), 60)


def test_buy_cost_for_margin_reports():
    bought = rate("0.60", (60, 6), buy_price=m("0.10"))
    charge = cost(USD, [bought], "4420", MONDAY_NOON, 61)  # billed 66 s
    assert (charge.cost, charge.buy_costs) == (m("0.66"), {None: m("0.11")})  # None: in the tariff's currency
    assert cost(USD, [rate()], "4420", MONDAY_NOON, 61).buy_costs is None
    assert cost(USD, [bought], "4420", MONDAY_NOON, 0).buy_costs == {}


def test_buy_cost_per_vendor_currency_when_a_call_crosses_rates():
    peak = rate("0.60", time_from=time(8), time_to=time(18), buy_price=m("0.30"), buy_currency="EUR")
    off = rate("0.06", buy_price=m("0.02"), buy_currency="BGN")
    charge = cost(USD, [peak, off], "4420", datetime(2026, 1, 5, 17, 59, tzinfo=UTC), 120)  # 60 s of each
    assert charge.buy_costs == {"EUR": m("0.30"), "BGN": m("0.02")}
    # 7 s at 0.10/min: 0.0116666... rounded up in its own currency
    assert cost(USD, [rate("0.5", buy_price=m("0.10"), buy_currency="EUR")], "4420", MONDAY_NOON, 7).buy_costs == {
        "EUR": 11_667
    }


LONDON = Tariff("t", "USD", timezone="Europe/London")
NEW_YORK = Tariff("t", "USD", timezone="America/New_York")


@pytest.mark.parametrize(
    "tariff, night, start",
    [
        # 00:59 GMT + 1 real minute = 02:00 BST: the night rate from 02:00 prices the second minute
        (LONDON, (time(2), time(6)), datetime(2027, 3, 28, 0, 59, tzinfo=ZoneInfo("Europe/London"))),
        (LONDON, (time(2), time(6)), datetime(2027, 3, 28, 0, 59, tzinfo=UTC)),
        # 01:59 EDT + 1 real minute = 01:00 EST: inside the night window (until 01:30) again
        (NEW_YORK, (time(0), time(1, 30)), datetime(2026, 11, 1, 1, 59, tzinfo=ZoneInfo("America/New_York"))),
        (NEW_YORK, (time(0), time(1, 30)), datetime(2026, 11, 1, 5, 59, tzinfo=UTC)),
        # 01:59 EST + 1 real minute = 03:00 EDT: the clocks skip the window's end (02:30), which closes at once
        (NEW_YORK, (time(0), time(2, 30)), datetime(2026, 3, 8, 6, 59, tzinfo=UTC)),
    ],
)
def test_a_clock_change_inside_a_call_prices_real_minutes(tariff, night, start):
    """One real minute at 0.60 and one at 0.06 (in either order), not two minutes of the clock face."""
    rates = [rate("0.60"), rate("0.06", time_from=night[0], time_to=night[1])]
    assert price_of(120, *rates, tariff=tariff, at=start) == m("0.66")


@pytest.mark.parametrize(
    "tariff, wall, instant",
    [
        (NEW_YORK, datetime(2026, 11, 1, 1, 30), datetime(2026, 11, 1, 5, 30, tzinfo=UTC)),  # twice: the first
        (NEW_YORK, datetime(2026, 11, 1, 2, 30), datetime(2026, 11, 1, 7, 30, tzinfo=UTC)),
        (LONDON, datetime(2027, 3, 28, 0, 59), datetime(2027, 3, 28, 0, 59, tzinfo=UTC)),
        (LONDON, datetime(2027, 3, 28, 2, 0), datetime(2027, 3, 28, 1, 0, tzinfo=UTC)),
    ],
)
def test_a_wall_time_is_read_on_the_tariffs_clock(tariff, wall, instant):
    assert tariff.moment(wall).astimezone(UTC) == instant  # (an ambiguous time equals no other zone's time)


def test_a_wall_time_the_clocks_skip_is_refused():
    with pytest.raises(
        RatingError, match=r"2027-03-28T01:30 does not exist in Europe/London.*2027-03-28T01:30:00\+00:00"
    ):
        LONDON.moment(datetime(2027, 3, 28, 1, 30))
