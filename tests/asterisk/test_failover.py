"""Least-cost routing with failover on a real Asterisk, through the project's dialplan and a real `serve`: the call
of an account bound to a routing group is offered to its trunks in order, the next one only when an attempt failed
for the route's sake (CHANUNAVAIL, CONGESTION), never after BUSY; the settlement learns which trunk carried it and
every attempt's status, from the events and from Master.csv alike."""

from __future__ import annotations

import math
from zoneinfo import ZoneInfo

import pytest

from asteriskbill import dialplan
from asteriskbill.billing import master_csv
from asteriskbill.billing.settle import CallResult
from tests.helpers.asterisk import Asterisk, Call
from tests.helpers.asterisk_billing import (
    CALLEE_CONTEXT,
    CENT,
    EXTENSION_ACCOUNT,
    World,
    caller_records,
    card_call,
    ext_call,
    talking,
)
from tests.helpers.routing import Route, attempts, route_accounts

ANSWERS = f"Local/${{NUMBER}}@{CALLEE_CONTEXT}"  # the called party: talking(n) answers and talks n s
UNAVAILABLE = "Local/${NUMBER}@asteriskbill-test-nowhere"  # no such context: the Local channel cannot be called
CONGESTED = f"Local/4420004000@{CALLEE_CONTEXT}"
BUSY = f"Local/4420002000@{CALLEE_CONTEXT}"
FAILED = {UNAVAILABLE: "CHANUNAVAIL", CONGESTED: "CONGESTION"}


def routed(world: World, tmp_path, *dials: str) -> list[int]:
    """The calls of the extension account and of the card go to these trunks, in this order; their ids."""
    routes = [Route(f"trunk-{n}", dial) for n, dial in enumerate(dials, start=1)]
    return route_accounts(world.cli, world.engine, tmp_path, [EXTENSION_ACCOUNT, world.card], routes)


def from_master_csv(pbx: Asterisk, call: Call, session: str) -> CallResult:
    """What recovery would settle the call as, from Asterisk's Master.csv."""
    pbx.master_rows(call)  # the caller's records are written
    lines = pbx.master_csv.read_text().splitlines(keepends=True)
    result = master_csv.read(lines, "Master.csv").result(session, call.caller, ZoneInfo("UTC"))
    assert result is not None
    return result


@pytest.mark.parametrize("first", [UNAVAILABLE, CONGESTED], ids=FAILED.get)
def test_a_route_that_fails_passes_the_call_to_the_next(pbx, world, serve, tmp_path, first):
    trunks = routed(world, tmp_path, first, ANSWERS)
    before = world.balance(EXTENSION_ACCOUNT)
    call = ext_call(pbx, talking(3))
    pbx.ended(call)
    variables = pbx.variables(call)
    assert (variables["BILL_STATUS"], variables["BILL_ROUTES"]) == ("OK", "2")
    assert variables["BILL_DIAL_2"] == "Local/4420001003@asteriskbill-test-callee"
    event = pbx.user_event(call)
    # the caller's Dial over route 2 never returned (the callee hung up): attempts holds route 1's status only
    assert (event["route"], event["attempts"], event["dialstatus"]) == ("2", FAILED[first], "ANSWER")
    assert dialplan.event_attempts(event) == (FAILED[first], "ANSWER")
    cdr = world.cdr(call)
    talk_ms = int(event[dialplan.EVENT_TALK_MS])
    assert cdr.outcome == "ANSWER" and abs(cdr.billed_seconds - math.ceil(talk_ms / 1000)) <= 1
    assert 3 <= cdr.billed_seconds <= 5 and cdr.cost == cdr.billed_seconds * CENT
    assert world.call_charges(cdr.session) == [-cdr.cost]
    assert world.balance(EXTENSION_ACCOUNT) == before - cdr.cost
    assert cdr.trunk_id == trunks[1]
    assert attempts(world.engine, cdr.id) == [(1, trunks[0], FAILED[first]), (2, trunks[1], "ANSWER")]
    # Asterisk's CDR: the caller's Dial record with the userfield ends ANSWERED; recovery reads the same attempts
    (dial,) = [r for r in caller_records(pbx, call) if r["lastapp"] == "Dial" and r["userfield"]]
    assert dial["disposition"] == "ANSWERED" and dial["dstchannel"].startswith(variables["BILL_DIAL_2"])
    recovered = from_master_csv(pbx, call, cdr.session)
    assert (recovered.outcome, recovered.attempts) == ("ANSWER", (FAILED[first], "ANSWER"))
    assert abs(recovered.billable_ms - talk_ms) <= 1
    world.checked()


@pytest.mark.parametrize(
    ("first", "second", "tried"),
    [
        (BUSY, ANSWERS, ("BUSY",)),  # the callee is busy: the call is not offered to the next route
        (UNAVAILABLE, CONGESTED, ("CHANUNAVAIL", "CONGESTION")),  # every route failed: it ends as the last one did
    ],
    ids=["busy-no-failover", "every-route-failed"],
)
def test_a_call_not_answered_over_its_routes_costs_nothing(pbx, world, serve, tmp_path, first, second, tried):
    trunks = routed(world, tmp_path, first, second)
    before = world.balance(EXTENSION_ACCOUNT)
    call = ext_call(pbx, talking(3))
    pbx.ended(call)
    event = pbx.user_event(call)
    route, last = str(len(tried)), tried[-1]
    assert (event["route"], event["attempts"], event["dialstatus"]) == (route, "/".join(tried), last)
    cdr = world.cdr(call)
    assert (cdr.outcome, cdr.billed_seconds, cdr.cost, cdr.trunk_id) == (last, 0, 0, trunks[len(tried) - 1])
    assert attempts(world.engine, cdr.id) == [(n, trunks[n - 1], status) for n, status in enumerate(tried, start=1)]
    assert world.balance(EXTENSION_ACCOUNT) == before
    if second == ANSWERS:  # never dialled: no channel of it in Asterisk's CDR
        assert not [r for r in pbx.master_rows(call) if r["channel"].startswith("Local/4420001003@")]
    recovered = from_master_csv(pbx, call, cdr.session)
    assert (recovered.outcome, recovered.attempts) == (last, tried)
    world.checked()


def test_a_card_call_fails_over_too(pbx, world, serve, tmp_path):
    """The card IVR answered the caller: the dial loop is the same Gosub, and the talk still runs from the
    callee's answer over the second route."""
    trunks = routed(world, tmp_path, UNAVAILABLE, ANSWERS)
    call = card_call(pbx, world, talking(2))
    pbx.ended(call)
    event = pbx.user_event(call)
    assert dialplan.event_attempts(event) == ("CHANUNAVAIL", "ANSWER")
    cdr = world.cdr(call)
    assert (cdr.outcome, cdr.trunk_id) == ("ANSWER", trunks[1])
    assert 2 <= cdr.billed_seconds <= 4
    assert attempts(world.engine, cdr.id) == [(1, trunks[0], "CHANUNAVAIL"), (2, trunks[1], "ANSWER")]
    world.checked()


OLDER_AGI = "asteriskbill-test-older-agi"


def test_an_agi_older_than_the_routes_still_dials_its_one_route(pbx):
    """An AGI that sets BILL_DIAL but not BILL_ROUTES (an agi-bin installed before the routes): the dial loop
    dials that one target, once. The context does what that AGI and the call contexts do."""
    steps = (
        "Set(CHANNEL(hangup_handler_push)=asteriskbill-hangup,s,1)",
        "Set(BILL_MAX_MS=10000)",
        f"Set(BILL_DIAL=Local/4420001002@{CALLEE_CONTEXT})",
        f"Gosub({dialplan.DIAL_CONTEXT},s,1)",
        "Hangup()",
    )
    for priority, step in enumerate(steps, start=1):
        pbx.rx(f"dialplan add extension 5000,{priority},{step} into {OLDER_AGI} replace")
    call = pbx.call(OLDER_AGI, "5000", "201")
    pbx.ended(call)
    variables = pbx.variables(call)
    assert (variables[dialplan.ROUTES], variables[dialplan.dial_variable(1)]) == ("1", variables[dialplan.DIAL])
    event = pbx.user_event(call)
    assert (event["route"], event["attempts"], event["dialstatus"]) == ("1", "", "ANSWER")
    assert dialplan.event_attempts(event) == ("ANSWER",)
    assert int(event[dialplan.EVENT_TALK_MS]) >= 2000  # the callee answered and talked its 2 s
