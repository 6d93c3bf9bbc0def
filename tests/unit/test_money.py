from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from asteriskbill.money import (
    MAX_AMOUNT,
    MICRO,
    Limits,
    MoneyError,
    format_amount,
    parse_amount,
    parse_currency,
    round_up,
)


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


# -- bounds and ASCII digits (issue 10, item 6) -------------------------------------------------------------


# Arabic-Indic, Persian, Devanagari and full-width 123, an Arabic-Indic 5 after "1.", a superscript 2
@pytest.mark.parametrize(
    "text",
    [
        "\u0661\u0662\u0663",
        "\u06f1\u06f2\u06f3",
        "\u0967\u0968\u0969",
        "\uff11\uff12\uff13",
        "1.\u0665",
        "\u00b2",
        "1_000",
    ],
)
def test_parse_refuses_digits_other_than_ascii(text):
    """int() and a non-ASCII \\d take these as 123 and the like: money is typed in 0-9 only."""
    with pytest.raises(MoneyError, match="not a decimal"):
        parse_amount(text)


def test_parse_takes_up_to_the_hard_ceiling_and_no_more():
    assert MAX_AMOUNT < 2**63 // 9  # nine such amounts still fit in a signed 64-bit column
    assert parse_amount(format_amount(MAX_AMOUNT)) == MAX_AMOUNT
    assert parse_amount(format_amount(-MAX_AMOUNT), negative=True) == -MAX_AMOUNT
    for text in (format_amount(MAX_AMOUNT + 1), "99999999999999999999", "-9223372036854.775808", "9" * 5000):
        with pytest.raises(MoneyError, match="more than the largest amount, 1000000000000"):
            parse_amount(text, negative=True)


def test_leading_zeros_do_not_count_towards_the_ceiling():
    assert parse_amount("0" * 30 + "12.5") == 12_500_000


def test_limits_refuse_an_amount_over_the_maximum_naming_the_setting():
    limits = Limits(amount=100 * MICRO, balance=1000 * MICRO)
    limits.check(100 * MICRO, 100 * MICRO, "a1")
    limits.check(-100 * MICRO, -100 * MICRO, "a1")
    for amount in (100 * MICRO + 1, -100 * MICRO - 1):
        with pytest.raises(
            MoneyError, match=r"amount -?100.000001 is more than the maximum amount, 100.00 \(setting max_amount"
        ):
            limits.check(amount, 0, "a1")


def test_limits_refuse_a_balance_beyond_the_maximum_naming_the_setting():
    limits = Limits(amount=100 * MICRO, balance=1000 * MICRO)
    limits.check(50 * MICRO, 1000 * MICRO, "a1")
    limits.check(-50 * MICRO, -1000 * MICRO, "a1")
    for balance in (1000 * MICRO + 1, -1000 * MICRO - 1):
        with pytest.raises(
            MoneyError, match=r"a1's balance would be -?1000.000001, beyond the maximum balance, 1000.00 \(s"
        ):
            limits.check(MICRO, balance, "a1")


def test_limits_default_to_the_hard_ceiling():
    Limits().check(MAX_AMOUNT, MAX_AMOUNT, "a1")
    with pytest.raises(MoneyError):
        Limits().check(MICRO, MAX_AMOUNT + 1, "a1")
