"""What the IVR says for a balance: units and cents in the currency's words (billing/speech.py, pure)."""

import pytest

from asteriskbill.billing.speech import DIGITS, NUMBER, PROMPT, Say, check_currency_words, say_amount
from asteriskbill.money import parse_amount as m


def said(amount: str, currency: str = "USD", words: dict | None = None) -> list[tuple[str, str]]:
    return [(s.kind, s.value) for s in say_amount(m(amount, negative=True), currency, words or {})]


def test_dollars_and_cents_with_asterisks_own_prompts():
    # SayMoney()'s files in Asterisk's main/say.c: letters/dollar, dollars, and, cent, cents
    assert said("1.84") == [
        (NUMBER, "1"),
        (PROMPT, "letters/dollar"),
        (PROMPT, "and"),
        (NUMBER, "84"),
        (PROMPT, "cents"),
    ]
    assert said("12.01") == [(NUMBER, "12"), (PROMPT, "dollars"), (PROMPT, "and"), (NUMBER, "1"), (PROMPT, "cent")]
    assert said("5") == [(NUMBER, "5"), (PROMPT, "dollars")]
    assert said("0.50") == [(NUMBER, "50"), (PROMPT, "cents")]
    assert said("0") == [(NUMBER, "0"), (PROMPT, "dollars")]


def test_what_a_caller_cannot_spend_is_not_said():
    assert said("1.849999") == said("1.84")  # the fraction of a cent is not money a call can use
    assert said("-3.20") == said("0")  # a debt on a credit limit is said as nothing left


def test_another_currency_from_the_setting():
    words = {"EUR": "euro,euros,cent,cents", "JPY": "yen,yen"}
    assert said("2.05", "EUR", words) == [
        (NUMBER, "2"),
        (PROMPT, "euros"),
        (PROMPT, "and"),
        (NUMBER, "5"),
        (PROMPT, "cents"),
    ]
    assert said("1", "EUR", words) == [(NUMBER, "1"), (PROMPT, "euro")]
    assert said("1500.75", "JPY", words) == [(NUMBER, "1500"), (PROMPT, "yen")]  # no subunit: whole units only
    assert said("1.84", "USD", {"USD": "dollar,dollars,cent,cents"})[1] == (PROMPT, "dollar")  # replaces the default


def test_an_unconfigured_currency_says_point_digits_and_its_code():
    assert said("1.84", "BGN") == [
        (NUMBER, "1"),
        (PROMPT, "letters/dot"),
        (DIGITS, "84"),
        (PROMPT, "letters/b"),
        (PROMPT, "letters/g"),
        (PROMPT, "letters/n"),
    ]
    assert said("3.05", "CRD")[:3] == [(NUMBER, "3"), (PROMPT, "letters/dot"), (DIGITS, "05")]
    assert said("7", "CRD")[:2] == [(NUMBER, "7"), (PROMPT, "letters/c")]


def test_the_joining_prompts_can_be_replaced():
    steps = say_amount(m("1.50"), "BGN", {}, joiner="i", point="tochka")
    assert steps[1] == Say(PROMPT, "tochka")
    steps = say_amount(m("2.50"), "USD", {}, joiner="i", point="tochka")
    assert Say(PROMPT, "i") in steps


@pytest.mark.parametrize(
    "value, problem",
    [
        ({"usd": "dollar,dollars,cent,cents"}, "'usd' is not a currency code"),
        ({"EUR": "euro,euros,cent"}, "2 or 4 prompt names"),
        ({"EUR": "euro,,cent,cents"}, "2 or 4 prompt names"),
        ({"EUR": "['euro', 'euros']"}, "2 or 4 prompt names"),
    ],
)
def test_the_setting_is_checked(value, problem):
    assert problem in (check_currency_words(value) or "")


def test_good_settings_pass():
    assert check_currency_words({"EUR": "euro,euros,cent,cents", "JPY": "yen,yen"}) is None


def test_a_bad_table_in_the_config_file_is_named_at_load(tmp_path):
    from asteriskbill.settings import SettingsError, load

    config = tmp_path / "asteriskbill.toml"
    config.write_text('[currency_words]\nEUR = "euro,euros,cent"\n')
    with pytest.raises(SettingsError, match=r"setting currency_words=.*\(from config file .*\): EUR = "):
        load(config, env={})
    config.write_text('[currency_words]\nEUR = "euro,euros,cent,cents"\n')
    assert load(config, env={}).currency_words == {"EUR": "euro,euros,cent,cents"}
