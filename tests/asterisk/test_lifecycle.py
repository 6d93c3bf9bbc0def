"""The call lifecycle on a real Asterisk: credit held in slices and extended while the call is up, calls cut
when the money runs out, and `serve` killed (SIGKILL) mid-call: the call ends with its slice, and whatever
ended while `serve` was down is settled once it is back, billed its talk time once."""

from __future__ import annotations

import time

import pytest

from asteriskbill import dialplan
from tests.helpers.asterisk_billing import (
    CENT,
    EXTENSION_ACCOUNT,
    assert_billed_talk,
    callee_record,
    card_call,
    ext_call,
    talking,
)

RESTART_SETTLES_WITHIN = 60  # seconds: a call that ended while serve was down is closed this soon after its start


def talk_ms(pbx, call) -> int:
    return int(pbx.user_event(call)[dialplan.EVENT_TALK_MS])


@pytest.mark.world(extension_balance="0.20")
@pytest.mark.serve(slice_seconds="2")
def test_parallel_calls_share_one_balance_in_slices(pbx, world, serve):
    """Each call holds one 2 s slice (0.02), so six calls start on 0.20 though each could last 20 s alone; they
    take the rest slice by slice, and once it is spent every call is cut: together they never cost more."""
    calls = [ext_call(pbx, talking(30)) for _ in range(6)]
    for call in calls:
        pbx.ended(call, seconds=60)
    assert [pbx.variables(call)["BILL_STATUS"] for call in calls] == ["OK"] * 6
    cdrs = [world.cdr(call) for call in calls]
    assert all(cdr.outcome == "ANSWER" for cdr in cdrs)
    for call, cdr in zip(calls, cdrs, strict=True):
        assert world.call_charges(cdr.session) == [-cdr.cost]
        assert int(callee_record(pbx, call)["billsec"]) <= cdr.billed_seconds
    assert sum(cdr.cost for cdr in cdrs) <= 20 * CENT
    assert world.balance(EXTENSION_ACCOUNT) == 20 * CENT - sum(cdr.cost for cdr in cdrs) >= 0
    assert world.open_reservations() == 0
    world.checked()


@pytest.mark.world(extension_balance="0.10")
@pytest.mark.serve(slice_seconds="2")
def test_a_call_outliving_its_slice_is_cut_when_the_money_runs_out(pbx, world, serve):
    """Two calls on 0.10 (10 s between them), each holding 2 s at a time: each outlives its first slice, and both
    end when the money does, long before Dial's L() (what the balance paid for when each started)."""
    first = ext_call(pbx, talking(30))
    pbx.answered(first)
    second = ext_call(pbx, talking(30))
    for call in (first, second):
        pbx.ended(call, seconds=60)
    cdrs = [world.cdr(call) for call in (first, second)]
    assert sum(cdr.billed_seconds for cdr in cdrs) <= 10
    for call, cdr in zip((first, second), cdrs, strict=True):
        max_ms = int(pbx.variables(call)["BILL_MAX_MS"])
        assert cdr.billed_seconds > 2 and talk_ms(pbx, call) < max_ms - 1000, (cdr.billed_seconds, max_ms)
        assert int(callee_record(pbx, call)["billsec"]) <= cdr.billed_seconds
    assert world.balance(EXTENSION_ACCOUNT) == 10 * CENT - sum(cdr.cost for cdr in cdrs) >= 0
    world.checked()


@pytest.mark.serve(slice_seconds="8")
def test_a_call_whose_serve_is_killed_ends_with_its_slice(pbx, world, serve):
    """Nothing pushes the channel's hard limit once `serve` is dead: the call ends when its 8 s slice does, not
    when the callee (30 s) or Dial's L() (1000 s of balance) would end it; the restarted `serve` bills it.
    (8 s: `serve` would extend the slice 2 s before its end, long after it is killed at the answer.)"""
    before = world.balance(EXTENSION_ACCOUNT)
    call = ext_call(pbx, talking(30))
    pbx.answered(call)
    serve.kill()
    pbx.ended(call, seconds=20)
    assert talk_ms(pbx, call) <= 8500  # from the answer, or less when the slice was counted from the AGI
    serve.start()
    assert_billed_talk(world, pbx, call, EXTENSION_ACCOUNT, before, seconds=RESTART_SETTLES_WITHIN)


@pytest.mark.parametrize("kind", ["card", "ext"])
def test_serve_killed_and_restarted_mid_call_bills_the_talk_once(pbx, world, serve, kind):
    """`serve` dies (SIGKILL) in the middle of the talk and is back before the call ends: the new `serve` never
    saw the call start, and bills it from the caller's UserEvent, from the callee's answer (the card IVR's
    time is not talk)."""
    account = world.card if kind == "card" else EXTENSION_ACCOUNT
    before = world.balance(account)
    call = card_call(pbx, world, talking(6)) if kind == "card" else ext_call(pbx, talking(6))
    pbx.answered(call)
    serve.kill()
    serve.start()
    pbx.ended(call)
    assert_billed_talk(world, pbx, call, account, before)


@pytest.mark.parametrize("kind", ["card", "ext"])
def test_a_call_that_ended_while_serve_was_down_is_settled_at_its_restart(pbx, world, serve, kind):
    """The call ends while `serve` is dead: at its restart `serve` sees the channel gone and settles the call
    from Master.csv at once (not after its maximum + minutes), billed its talk time once."""
    account = world.card if kind == "card" else EXTENSION_ACCOUNT
    before = world.balance(account)
    call = card_call(pbx, world, talking(3)) if kind == "card" else ext_call(pbx, talking(3))
    pbx.answered(call)
    serve.kill()
    pbx.ended(call)
    pbx.master_rows(call)  # Asterisk has written its CDR
    restarted = time.monotonic()
    serve.start()
    assert_billed_talk(world, pbx, call, account, before, seconds=RESTART_SETTLES_WITHIN)
    assert time.monotonic() - restarted < RESTART_SETTLES_WITHIN
    assert world.open_reservations() == 0
