"""Calls on a real Asterisk through the project's dialplan, billed by a real `serve`: extension calls, the card
IVR by DTMF, refusals, Dial's L() cut and the calls that are not answered."""

from __future__ import annotations

import pytest

from asteriskbill import dialplan
from tests.helpers.asterisk_billing import (
    BUSY,
    CENT,
    CONGESTED,
    EXTENSION_ACCOUNT,
    NO_ANSWER,
    assert_billed_talk,
    assert_not_charged,
    callee_record,
    caller_records,
    card_call,
    dial_record,
    ext_call,
    talking,
)


def test_extension_call_is_billed_its_talk_time(pbx, world, serve):
    before = world.balance(EXTENSION_ACCOUNT)
    call = ext_call(pbx, talking(3))
    pbx.ended(call)
    assert pbx.variables(call)["BILL_STATUS"] == "OK"
    assert_billed_talk(world, pbx, call, EXTENSION_ACCOUNT, before)
    assert dial_record(pbx, call)["disposition"] == "ANSWERED"


def test_card_call_by_dtmf_is_billed_from_the_callee_answer(pbx, world, serve):
    before = world.balance(world.card)
    call = card_call(pbx, world, talking(3))
    pbx.ended(call)
    assert pbx.variables(call)["BILL_STATUS"] == "OK"
    assert_billed_talk(world, pbx, call, world.card, before)
    # the IVR answered the caller long before the callee: Asterisk's billsec of the caller counts that time too
    assert int(dial_record(pbx, call)["billsec"]) > world.cdr(call).billed_seconds + 3


def test_wrong_pin_is_refused_and_charges_nothing(pbx, world, serve):
    before = world.balance(world.card)
    call = card_call(pbx, world, talking(3), pin="000000" if world.pin != "000000" else "111111")
    pbx.ended(call)
    assert pbx.variables(call)["BILL_STATUS"] == "WRONG_PIN"
    assert world.cdrs() == []
    assert world.balance(world.card) == before
    assert world.open_reservations() == 0
    world.checked()
    assert [r["lastapp"] for r in caller_records(pbx, call)] == ["Hangup"]  # the IVR hung up: nothing was dialled


def test_refused_extension_call_is_not_answered(pbx, world, serve):
    call = ext_call(pbx, "0033100001003")  # no rate for France
    pbx.ended(call)
    assert pbx.variables(call)["BILL_STATUS"] == "NO_RATE"
    assert world.cdrs() == []
    records = caller_records(pbx, call)
    assert all((r["answer"], r["disposition"] != "ANSWERED") == ("", True) for r in records), records
    world.checked()


@pytest.mark.world(extension_balance="0.05")
def test_dial_limit_cuts_the_call_when_the_balance_is_spent(pbx, world, serve):
    call = ext_call(pbx, talking(30))
    pbx.ended(call)
    assert pbx.variables(call)["BILL_MAX_MS"] == "5000"
    cdr = world.cdr(call)
    assert (cdr.outcome, cdr.billed_seconds, cdr.cost) == ("ANSWER", 5, 5 * CENT)
    assert world.call_charges(cdr.session) == [-cdr.cost]
    assert int(callee_record(pbx, call)["billsec"]) in (4, 5)  # cut at 5 s, not 30
    assert world.balance(EXTENSION_ACCOUNT) == 0
    world.checked()


@pytest.mark.parametrize(("dialled", "outcome"), [(BUSY, "BUSY"), (CONGESTED, "CONGESTION")])
def test_a_call_not_answered_costs_nothing(pbx, world, serve, dialled, outcome):
    before = world.balance(EXTENSION_ACCOUNT)
    call = ext_call(pbx, dialled)
    pbx.ended(call)
    assert_not_charged(world, pbx, call, EXTENSION_ACCOUNT, before, outcome)


def test_no_answer_costs_nothing(pbx, world, serve):
    """The called party rings until Dial gives up (60 s in the project's dialplan)."""
    before = world.balance(EXTENSION_ACCOUNT)
    call = ext_call(pbx, NO_ANSWER)
    pbx.ended(call, seconds=90)
    assert_not_charged(world, pbx, call, EXTENSION_ACCOUNT, before, "NOANSWER")


@pytest.mark.parametrize("kind", ["card", "ext"])
def test_agi_bin_scripts_bill_like_fastagi(pbx, world, serve, kind):
    """The process-per-call contexts run this installation's asteriskbill-card / -ext (ASTERISKBILL_AGI_BIN)."""
    if kind == "card":
        account, before = world.card, world.balance(world.card)
        call = card_call(pbx, world, talking(2), context=dialplan.CARD_STDIO_CONTEXT)
    else:
        account, before = EXTENSION_ACCOUNT, world.balance(EXTENSION_ACCOUNT)
        call = ext_call(pbx, talking(2), context=dialplan.EXT_STDIO_CONTEXT)
    pbx.ended(call)
    assert pbx.variables(call)["BILL_STATUS"] == "OK"
    assert_billed_talk(world, pbx, call, account, before)
