"""Issue 10, item 6: card numbers and dialled numbers are the digits 0-9 only. str.isdigit() also takes
other scripts' digits ("٤٤" is two Arabic-Indic fours) and "²", which would then be looked up or priced."""

from __future__ import annotations

import pytest

from asteriskbill.billing.cards import CardError, luhn_valid, parse_number
from asteriskbill.billing.numbers import NumberError, NumberPlan, is_digits, normalize

ARABIC = str.maketrans("0123456789", "\u0660\u0661\u0662\u0663\u0664\u0665\u0666\u0667\u0668\u0669")
CARD = "79927398713"  # a valid Luhn number


def test_is_digits():
    assert is_digits("0123456789")
    for text in ("", "12a", "\u00b2", "\u0661\u0662", "\uff11", "1 2"):
        assert not is_digits(text), text


def test_a_card_number_in_other_digits_is_refused_before_any_lookup():
    assert parse_number(CARD) == CARD
    assert not luhn_valid(CARD.translate(ARABIC))
    with pytest.raises(CardError, match="must be digits"):
        parse_number(CARD.translate(ARABIC))


@pytest.mark.parametrize("dialled", ["00442071234567", "+442071234567"])
def test_a_dialled_number_in_other_digits_is_refused(dialled):
    assert normalize(dialled, NumberPlan()).number == "442071234567"
    with pytest.raises(NumberError, match="digits only"):
        normalize(dialled.translate(ARABIC), NumberPlan())
