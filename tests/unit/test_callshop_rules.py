"""Callshop decisions (pure): who may start, on which terms, and what the stop settles."""

from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from asteriskbill.billing import callshop as rules
from asteriskbill.billing.callshop import Bill, BoothState, CallshopError

IDLE = BoothState("booth-1", True, "active", 0, "USD", None)


@pytest.mark.parametrize(
    "state, message",
    [
        (BoothState("acme-1", False, "active", 0, "USD", None), "acme-1 is not a booth"),
        (
            BoothState("booth-1", True, "active", 0, "USD", datetime(2026, 1, 2, 3, 4, tzinfo=UTC)),
            "started at 2026-01-02 03:04 UTC and is not stopped yet",
        ),
        (BoothState("booth-1", True, "frozen", 0, "USD", None), "booth booth-1 is frozen"),
        (BoothState("booth-1", True, "active", -1, "USD", None), "has a balance of -0.000001 USD"),
    ],
)
def test_start_refusals(state, message):
    with pytest.raises(CallshopError, match=message):
        rules.check_start(state)


def test_stop_refusals():
    with pytest.raises(CallshopError, match="is not started"):
        rules.check_stop(IDLE, 0)
    started = BoothState("booth-1", True, "active", 0, "USD", datetime(2026, 1, 1, tzinfo=UTC))
    with pytest.raises(CallshopError, match="is in a call"):
        rules.check_stop(started, 1)
    rules.check_stop(started, 0)


def test_terms():
    assert rules.terms(5, None, 20) == rules.Terms(rules.PREPAID, 5, 0)  # the default limit is for postpaid
    assert rules.terms(5, 2, 20) == rules.Terms(rules.PREPAID, 5, 2)
    assert rules.terms(None, None, 20) == rules.Terms(rules.POSTPAID, 0, 20)
    assert rules.terms(None, 7, 20) == rules.Terms(rules.POSTPAID, 0, 7)
    for prepaid, limit, default in ((0, None, 20), (None, None, 0), (None, 0, 20)):
        with pytest.raises(CallshopError):
            rules.terms(prepaid, limit, default)


def test_prepaid_amount():
    assert rules.prepaid_amount(3, False, 5) == 3 and rules.prepaid_amount(None, False, 5) is None
    assert rules.prepaid_amount(None, True, 5) == 5
    with pytest.raises(CallshopError, match="not both"):
        rules.prepaid_amount(3, True, 5)
    with pytest.raises(CallshopError, match="no default prepaid amount"):
        rules.prepaid_amount(None, True, 0)


@given(st.integers(0, 10**12), st.integers(0, 10**12))
def test_the_stop_brings_the_balance_back_to_zero(paid, total):
    bill = rules.bill_at_stop(paid - total, total)  # a booth started at 0: balance = paid - calls
    assert bill.paid == paid and bill.paid - bill.total + bill.settlement == 0
    assert bill.change - bill.due == -bill.settlement and min(bill.change, bill.due) == 0


def test_change_and_due():
    assert (Bill(1_030_000, 5_000_000).change, Bill(1_030_000, 5_000_000).due) == (3_970_000, 0)
    assert (Bill(960_000, 0).change, Bill(960_000, 0).due, Bill(960_000, 0).settlement) == (0, 960_000, 960_000)
