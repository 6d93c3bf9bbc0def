from datetime import date
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from asteriskbill.billing.currency import ExchangeRate, convert, parse_pair, parse_rate, rate_on
from asteriskbill.money import MICRO, MoneyError
from asteriskbill.money import parse_amount as m


@pytest.mark.parametrize(
    "amount, rate, converted",
    [
        (m("10"), m("1.79"), m("17.90")),
        (m("0.11"), m("1.955830"), m("0.215141")),  # 0.2151413: down to the nearest micro-unit
        (m("0.000001"), m("1.5"), m("0.000002")),  # 1.5 micro-units: a half goes up
        (m("0.000001"), m("0.4"), 0),  # 0.4: down
        (m("0.000003"), m("0.5"), m("0.000002")),  # 1.5 again, from the other side of the product
        (-m("0.000001"), m("1.5"), -m("0.000002")),  # a half away from zero, also when negative
        (0, m("1.79"), 0),
        (m("123456789.123456"), m("1"), m("123456789.123456")),
    ],
)
def test_convert_rounds_to_the_nearest_micro_unit_halves_away_from_zero(amount, rate, converted):
    assert convert(amount, rate) == converted


@given(st.integers(-(10**15), 10**15), st.integers(1, 10**9))
def test_convert_is_never_more_than_half_a_micro_unit_off(amount, rate):
    exact = Fraction(amount * rate, MICRO)
    assert abs(convert(amount, rate) - exact) <= Fraction(1, 2)
    assert convert(-amount, rate) == -convert(amount, rate)


def test_rate_valid_on_a_day_is_the_latest_started_by_then():
    rates = [
        ExchangeRate("USD", "BGN", m("1.80"), date(2026, 12, 10)),
        ExchangeRate("USD", "BGN", m("1.79"), date(2026, 12, 1)),
    ]
    assert rate_on(rates, date(2026, 11, 30)) is None
    assert rate_on(rates, date(2026, 12, 1)).rate == m("1.79")
    assert rate_on(rates, date(2026, 12, 9)).rate == m("1.79")
    assert rate_on(rates, date(2026, 12, 10)).rate == m("1.80")
    assert rate_on(rates, date(2027, 6, 1)).rate == m("1.80")
    assert rate_on([], date(2026, 12, 1)) is None


def test_parse_rate_and_pair():
    assert parse_rate("1.79") == 1_790_000 and parse_rate("0.000001") == 1
    assert parse_pair("usd", " bgn") == ("USD", "BGN")
    for text, message in (
        ("0", "rate '0' must be more than 0"),
        ("-1.79", "must not be negative"),
        ("1.7900001", "more than 6 decimals"),
        ("1,79", "not a decimal number"),
    ):
        with pytest.raises(MoneyError, match=message):
            parse_rate(text)
    with pytest.raises(MoneyError, match="not USD into itself"):
        parse_pair("USD", "usd")
    with pytest.raises(MoneyError, match="must be three letters"):
        parse_pair("US", "BGN")
