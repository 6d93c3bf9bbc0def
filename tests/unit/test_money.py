from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from asteriskbill.money import MoneyError, format_amount, parse_amount, parse_currency, round_up


@pytest.mark.parametrize(
    "text, micros",
    [
        ("10.5", 10_500_000),
        ("10", 10_000_000),
        ("0.000001", 1),
        (".25", 250_000),
        ("7.", 7_000_000),
        ("  3.000000 ", 3_000_000),
        ("+1.5", 1_500_000),
    ],
)
def test_parse(text, micros):
    assert parse_amount(text) == micros


@pytest.mark.parametrize(
    "text, reason",
    [
        ("0.0000001", "more than 6 decimals"),
        ("-1", "must not be negative"),
        ("abc", "not a decimal"),
        ("1e3", "not a decimal"),
        ("1,000.00", "not a decimal"),
        ("", "not a decimal"),
        (".", "not a decimal"),
        ("1.2.3", "not a decimal"),
        ("nan", "not a decimal"),
        ("--1", "not a decimal"),
    ],
)
def test_parse_refuses(text, reason):
    with pytest.raises(MoneyError, match=reason):
        parse_amount(text)


def test_negative_when_allowed():
    assert parse_amount("-0.5", negative=True) == -500_000


@pytest.mark.parametrize(
    "micros, text",
    [
        (10_500_000, "10.50"),
        (625_000, "0.625"),
        (1, "0.000001"),
        (-2_000_000, "-2.00"),
        (0, "0.00"),
    ],
)
def test_format(micros, text):
    assert format_amount(micros) == text


def test_format_refuses_float():
    with pytest.raises(TypeError):
        format_amount(1.5)


@given(st.integers(min_value=-(10**15), max_value=10**15))
def test_round_trip(micros):
    assert parse_amount(format_amount(micros), negative=True) == micros


@pytest.mark.parametrize(
    "amount, step, expected",
    [
        (Fraction(7, 3), 1, 3),
        (Fraction(6), 1, 6),
        (Fraction(10_001), 10_000, 20_000),
        (0, 10_000, 0),
        (Fraction(-5, 2), 1, -2),
    ],
)
def test_round_up(amount, step, expected):
    assert round_up(amount, step) == expected


def test_currency():
    assert parse_currency("crd") == "CRD"
    with pytest.raises(MoneyError):
        parse_currency("EURO")
