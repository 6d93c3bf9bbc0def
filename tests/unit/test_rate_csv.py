"""The text form of a rate: every field form, every error, and format -> parse round trips."""

from datetime import date, time

import pytest
from hypothesis import given
from hypothesis import strategies as st

from asteriskbill.money import MoneyError
from asteriskbill.money import parse_amount as m
from asteriskbill.rating.csvrow import RATE_FIELDS, describe_validity, format_rate, parse_rate
from asteriskbill.rating.model import ALL_WEEKDAYS, IntervalGroup, Rate, RatingError, groups_from_increments


def parse(**fields: str) -> Rate:
    return parse_rate({"prefix": "44", **fields})


def test_only_prefix_and_price_are_required():
    assert parse(price="0.05") == Rate("44", (IntervalGroup(0, m("0.05"), 1),))


def test_every_field():
    rate = parse_rate(
        {
            "prefix": " 4420 ",
            "destination": "London",
            "price": "0.20",
            "increments": "60/6",
            "connect_fee": "0.05",
            "grace": "3",
            "weekdays": "Mon-Fri",
            "time_from": "8:00",
            "time_to": "18:30",
            "date_from": "2026-12-01",
            "date_to": "2026-12-31",
            "buy_price": "0.012",
            "buy_currency": "usd",
            "weight": "5",
        }
    )
    assert rate == Rate(
        "4420",
        groups_from_increments(m("0.20"), 60, 6),
        destination="London",
        connect_fee=m("0.05"),
        grace=3,
        weekdays=frozenset(range(5)),
        time_from=time(8),
        time_to=time(18, 30),
        date_from=date(2026, 12, 1),
        date_to=date(2026, 12, 31),
        buy_price=m("0.012"),
        buy_currency="USD",
        weight=5,
    )


def test_empty_and_missing_fields_take_defaults():
    rate = parse_rate({"prefix": "44", "price": "1", "destination": None, "grace": "", "weekdays": " "})
    assert (rate.destination, rate.grace, rate.weekdays, rate.time_from, rate.buy_price, rate.weight) == (
        "",
        0,
        ALL_WEEKDAYS,
        None,
        None,
        0,
    )
    assert parse(price="1", buy_price="0").buy_price == 0  # a free buy price is not "no buy price"


@pytest.mark.parametrize(
    "text, groups",
    [
        ("", ((0, 1),)),
        ("1/1", ((0, 1),)),
        ("60/60", ((0, 60),)),
        ("60", ((0, 60),)),
        ("60/6", ((0, 60), (60, 6))),
        ("30/6", ((0, 30), (30, 6))),
        ("1/60", ((0, 1), (1, 60))),
    ],
)
def test_increments(text, groups):
    rate = parse(price="0.60", increments=text)
    assert [(g.start, g.increment) for g in rate.groups] == list(groups)
    assert {g.price for g in rate.groups} == {m("0.60")}


def test_intervals_are_groups_by_elapsed_time_priced_per_minute():
    rate = parse(intervals="0:0.20:60; 60:0.10:1")
    assert rate.groups == (IntervalGroup(0, m("0.20"), 60), IntervalGroup(60, m("0.10"), 1))
    per_unit = parse(intervals="0:0.01:1:1")  # an optional 4th part: the price is per 1 s
    assert per_unit.groups == (IntervalGroup(0, m("0.01"), 1, unit=1),)


@pytest.mark.parametrize(
    "text, days",
    [
        ("mon-fri", {0, 1, 2, 3, 4}),
        ("sat,sun", {5, 6}),
        ("mon,wed-fri", {0, 2, 3, 4}),
        ("SUN", {6}),
        ("fri-mon", {4, 5, 6, 0}),
        ("mon-sun", set(range(7))),
        (" tue , thu ", {1, 3}),
    ],
)
def test_weekdays(text, days):
    assert parse(price="1", weekdays=text).weekdays == frozenset(days)


def test_time_windows():
    night = parse(price="1", time_from="22:00", time_to="06:00")
    assert (night.time_from, night.time_to) == (time(22), time(6))  # across midnight
    evening = parse(price="1", time_from="18:00", time_to="24:00")
    assert evening.time_to == time(0)  # 24:00 is the end of the day
    assert evening.valid_on(date(2026, 1, 5), 0, time(23, 59)) and not evening.valid_on(date(2026, 1, 5), 0, time(1))


@pytest.mark.parametrize(
    "fields, message",
    [
        ({"prefix": "", "price": "1"}, "prefix is required"),
        ({"price": "1"}, "prefix is required"),
        ({"prefix": "+44", "price": "1"}, "prefix '+44' must be digits only"),
        ({"prefix": "44"}, "price is required"),
        ({"prefix": "44", "price": "1", "intervals": "0:1:1"}, "either price (with increments) or intervals, not both"),
        ({"prefix": "44", "increments": "60/6", "intervals": "0:1:1"}, "not both"),
        ({"prefix": "44", "price": "0.1234567"}, "price '0.1234567' has more than 6 decimals"),
        ({"prefix": "44", "price": "-1"}, "price '-1' must not be negative"),
        ({"prefix": "44", "price": "1,5"}, "price '1,5' is not a decimal number"),
        ({"prefix": "44", "price": "1", "increments": "60/0"}, "increments '60/0' must be INITIAL/NEXT seconds"),
        ({"prefix": "44", "price": "1", "increments": "60-6"}, "increments '60-6' must be INITIAL/NEXT seconds"),
        ({"prefix": "44", "intervals": "0:0.2"}, "'0:0.2' must be START:PRICE:INCREMENT"),
        ({"prefix": "44", "intervals": "0:0.2:60;"}, "'' must be START:PRICE:INCREMENT"),
        ({"prefix": "44", "intervals": "0::60"}, "intervals '0::60': interval price '' is not a decimal number"),
        ({"prefix": "44", "intervals": "0:0.1234567:60"}, "interval price '0.1234567' has more than 6 decimals"),
        ({"prefix": "44", "intervals": "0:1:0"}, "increment and unit must be at least 1 second"),
        ({"prefix": "44", "intervals": "5:1:1"}, "intervals '5:1:1': a rate needs interval groups, the first starting"),
        ({"prefix": "44", "intervals": "0:1:60;30:1:1"}, "lasts 30 s, not a multiple of its 60 s increment"),
        ({"prefix": "44", "intervals": "0:1:1;60:1:1;30:1:1"}, "must start at increasing seconds"),
        ({"prefix": "44", "price": "1", "connect_fee": "0.5x"}, "connect_fee '0.5x' is not a decimal number"),
        ({"prefix": "44", "price": "1", "buy_price": "0.0000001"}, "buy_price '0.0000001' has more than 6 decimals"),
        ({"prefix": "44", "price": "1", "buy_currency": "USD"}, "buy_currency 'USD' needs a buy_price"),
        ({"prefix": "44", "price": "1", "buy_price": "0.5", "buy_currency": "US$"}, "buy_currency 'US$' must be three"),
        ({"prefix": "44", "price": "1", "grace": "2.5"}, "grace '2.5' must be a whole number of seconds"),
        ({"prefix": "44", "price": "1", "grace": "-1"}, "grace '-1' must be a whole number"),
        ({"prefix": "44", "price": "1", "weight": "high"}, "weight 'high' must be a whole number"),
        ({"prefix": "44", "price": "1", "weekdays": "mon-fry"}, "weekdays 'mon-fry': use mon,tue,wed,thu,fri,sat,sun"),
        ({"prefix": "44", "price": "1", "weekdays": "monday"}, "weekdays 'monday'"),
        (
            {"prefix": "44", "price": "1", "time_from": "8", "time_to": "18:00"},
            "time_from '8' must be a time of day HH:MM",
        ),
        ({"prefix": "44", "price": "1", "time_from": "24:00", "time_to": "06:00"}, "from 00:00 to 23:59"),
        ({"prefix": "44", "price": "1", "time_from": "08:00", "time_to": "24:30"}, "time_to '24:30'"),
        ({"prefix": "44", "price": "1", "time_from": "08:00", "time_to": "18:00:30"}, "time_to '18:00:30'"),
        ({"prefix": "44", "price": "1", "time_from": "08:00"}, "time_from and time_to go together"),
        ({"prefix": "44", "price": "1", "time_from": "08:00", "time_to": "08:00"}, "must differ"),
        ({"prefix": "44", "price": "1", "date_from": "2026-02-30"}, "date_from '2026-02-30' must be a date like"),
        ({"prefix": "44", "price": "1", "date_to": "31/12/2026"}, "date_to '31/12/2026' must be a date like"),
        (
            {"prefix": "44", "price": "1", "date_from": "2027-01-01", "date_to": "2026-12-31"},
            "date_from is after date_to",
        ),
    ],
)
def test_errors_name_the_field_and_value(fields, message):
    with pytest.raises((RatingError, MoneyError)) as error:
        parse_rate(fields)
    assert message in str(error.value)


def test_format_writes_price_and_increments_when_the_groups_have_that_shape():
    text = format_rate(parse(price="0.2", increments="60/6", weekdays="sat,sun", time_from="18:00", time_to="24:00"))
    assert list(text) == list(RATE_FIELDS)
    assert text == {
        "prefix": "44",
        "destination": "",
        "price": "0.20",
        "increments": "60/6",
        "intervals": "",
        "connect_fee": "0.00",
        "grace": "0",
        "weekdays": "sat,sun",
        "time_from": "18:00",
        "time_to": "24:00",
        "date_from": "",
        "date_to": "",
        "buy_price": "",
        "buy_currency": "",
        "weight": "0",
    }
    mixed = format_rate(parse(intervals="0:0.20:60;60:0.10:1"))
    assert (mixed["price"], mixed["increments"], mixed["intervals"]) == ("", "", "0:0.20:60;60:0.10:1")
    same_price = format_rate(parse(intervals="0:0.10:30;30:0.10:6"))
    assert (same_price["price"], same_price["increments"]) == ("0.10", "30/6")


@pytest.mark.parametrize(
    "days, text",
    [
        ({0, 1, 2, 3, 4}, "mon-fri"),
        ({5, 6}, "sat,sun"),
        ({0, 2, 3, 4}, "mon,wed-fri"),
        ({0, 6}, "mon,sun"),
        (set(range(7)), ""),
    ],
)
def test_format_weekdays(days, text):
    assert format_rate(Rate("1", groups_from_increments(1), weekdays=frozenset(days)))["weekdays"] == text


def test_describe_validity():
    assert describe_validity(parse(price="1")) == "every day, all day"
    assert (
        describe_validity(
            parse(price="1", weekdays="mon-fri", time_from="22:00", time_to="06:00", date_from="2026-12-24")
        )
        == "mon-fri, 22:00-06:00, 2026-12-24 to ..."
    )


clock = st.builds(time, st.integers(0, 23), st.integers(0, 59))


@st.composite
def rates(draw) -> Rate:
    count = draw(st.integers(1, 4))
    increments = draw(st.lists(st.integers(1, 90), min_size=count, max_size=count))
    starts = [0]
    for increment in increments[:-1]:
        starts.append(starts[-1] + increment * draw(st.integers(1, 5)))
    groups = tuple(
        IntervalGroup(start, draw(st.integers(0, 10**8)), increment, draw(st.sampled_from([60, 60, 1, 6])))
        for start, increment in zip(starts, increments, strict=True)
    )
    window = draw(st.none() | st.tuples(clock, clock).filter(lambda w: w[0] != w[1]))
    dates = sorted(draw(st.lists(st.dates(), min_size=2, max_size=2)))
    buy_price = draw(st.none() | st.integers(0, 10**7))
    return Rate(
        prefix=draw(st.from_regex(r"\A[0-9]{1,12}\Z")),
        groups=groups,
        destination=draw(st.text(st.characters(blacklist_categories=("Cc", "Cs")), max_size=20).map(str.strip)),
        connect_fee=draw(st.integers(0, 10**7)),
        grace=draw(st.integers(0, 30)),
        weekdays=frozenset(draw(st.sets(st.integers(0, 6), min_size=1))),
        time_from=window and window[0],
        time_to=window and window[1],
        date_from=draw(st.none() | st.just(dates[0])),
        date_to=draw(st.none() | st.just(dates[1])),
        buy_price=buy_price,
        buy_currency=None if buy_price is None else draw(st.sampled_from([None, "USD", "EUR"])),
        weight=draw(st.integers(-5, 5)),
    )


@given(rates())
def test_parse_of_format_is_the_same_rate(rate):
    assert parse_rate(format_rate(rate)) == rate
