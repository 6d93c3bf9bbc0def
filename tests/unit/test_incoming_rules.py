"""Incoming calls' pure rules (billing/incoming.py): what a call to one of our numbers is rated by, the DIDs the
inbound context can take, and the Dial() target that rings the called account."""

from __future__ import annotations

import pytest

from asteriskbill.billing.incoming import (
    DIRECTION_CHECK,
    DIRECTIONS,
    caller_number,
    check_did,
    check_incoming_dial,
    dial_string,
)
from asteriskbill.billing.numbers import CALL_CLASSES, NumberPlan
from asteriskbill.errors import UserError

SOFIA = NumberPlan(country_code="359", area_code="2", outside_line="9")


@pytest.mark.parametrize(
    ("caller", "number", "call_class"),
    [
        ("+447700900123", "447700900123", "international"),
        ("00447700900123", "447700900123", "international"),
        ("0888123456", "359888123456", "national"),
        ("9301234", "35929301234", "local"),  # a caller ID has no outside line: 9 is the number's own first digit
        ("", "359", "national"),  # withheld: a caller of the account's own country
        ("anonymous", "359", "national"),
        ("12", "359", "national"),  # too short to be a phone number
    ],
)
def test_an_incoming_call_is_rated_by_the_callers_number(caller, number, call_class):
    rated = caller_number(caller, "18005550100", SOFIA)
    assert (rated.dialled, rated.number, rated.call_class) == ("18005550100", number, call_class)
    assert rated.call_class in CALL_CLASSES


@pytest.mark.parametrize("number", ["18005550100", " 201 ", "00"])
def test_a_did_is_digits_as_exten_shows_them(number):
    assert check_did(number) == number.strip()


@pytest.mark.parametrize("number", ["+18005550100", "1-800-555", "2", "1" * 33, "", "٢٠١"])
def test_a_did_that_the_inbound_context_would_not_take_is_refused(number):
    with pytest.raises(UserError, match="must be 2 to 32 digits"):
        check_did(number)


def test_the_incoming_dial_setting_rings_the_extension():
    assert check_incoming_dial("Local/${EXTENSION}@phones") is None
    assert dial_string("Local/${EXTENSION}@phones", "201") == "Local/201@phones"
    for bad in ("PJSIP/201", "PJSIP/${EXTENSION},30", "PJSIP/${EXTENSION} x", "PJSIP/${EXTENSION}&IAX2/b|c"):
        assert check_incoming_dial(bad) is not None, bad


def test_the_database_checks_the_same_directions():
    assert DIRECTIONS == ("out", "in") and DIRECTION_CHECK == "direction IN ('out', 'in')"
