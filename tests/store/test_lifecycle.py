"""The call lifecycle service (services/lifecycle.py) on real SQLite and PostgreSQL: authorize a slice, up, due,
extend, settle, release, flag; and calls sharing one balance never charging more than balance + credit limit."""

from __future__ import annotations

import itertools
from datetime import timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from asteriskbill.billing import master_csv
from asteriskbill.billing.authorize import BillStatus
from asteriskbill.billing.settle import CallResult
from asteriskbill.services import accounts, cards, lifecycle, recovery, slices
from asteriskbill.services.accounts import NewAccount
from asteriskbill.services.calls import Caller, balance
from asteriskbill.store.models import Account, Cdr, LedgerEntry, Reservation
from asteriskbill.store.types import utcnow
from tests.helpers.world import make_world
from tests.store.test_recovery import ANSWERED, MASTER, UNKNOWN

USA, UK = "0015551234", "00442071234567"  # 0.10/min 1/1; 0.60/min 60/6
T = utcnow().replace(microsecond=0)


def seconds(n: float) -> timedelta:
    return timedelta(seconds=n)


def usa(seconds: int) -> int:
    """What ``seconds`` to the USA cost at 0.10/min, rounded up to the micro-unit."""
    return -(-seconds * 100_000 // 60)


@pytest.fixture
def world(cli, tmp_path):
    return make_world(cli, tmp_path, card_value="1.00", card_args=("--max-calls", "10"))


def account_id(engine, name: str) -> int:
    with engine.begin() as conn:
        return conn.execute(select(Account.id).where(Account.name == name)).scalar_one()


def reservation(engine, session: str):
    with engine.begin() as conn:
        return conn.execute(select(Reservation.__table__).where(Reservation.session == session)).one()


def answered(session: str, talked_ms: int) -> CallResult:
    return CallResult(session, "ANSWER", talked_ms, started_at=T, answered_at=T + seconds(10))


def test_a_call_holds_its_first_slice_and_its_channel_gets_a_deadline(engine, world):
    card = account_id(engine, world.card)
    call = lifecycle.authorize(engine, world.settings, card, USA, now=T, slice_seconds=60)
    assert (call.status, call.max_seconds, call.held_seconds, call.amount) == (BillStatus.OK, 600, 60, usa(60))
    row = reservation(engine, call.session)
    assert (row.status, row.held_seconds, row.max_seconds, row.amount) == ("open", 60, 600, usa(60))
    assert (row.deadline_at, row.answered_at) == (T + seconds(60), None)
    assert balance(engine, card).available == 1_000_000 - usa(60)


def test_without_slices_a_call_holds_its_whole_maximum(engine, world):
    call = lifecycle.authorize(engine, world.settings, account_id(engine, world.card), USA, now=T)
    assert (call.max_seconds, call.held_seconds, call.amount) == (600, 600, 1_000_000)
    assert reservation(engine, call.session).deadline_at == T + seconds(600)


def test_a_slice_longer_than_the_money_holds_what_the_money_pays_for(engine, world):
    call = lifecycle.authorize(engine, world.settings, account_id(engine, world.card), USA, now=T, slice_seconds=900)
    assert (call.max_seconds, call.held_seconds, call.amount) == (600, 600, 1_000_000)


def test_the_answer_moves_the_deadline_once(engine, world):
    call = lifecycle.authorize(engine, world.settings, account_id(engine, world.card), USA, now=T, slice_seconds=60)
    assert slices.up(engine, call.session, T + seconds(20)) == T + seconds(80)
    assert slices.up(engine, call.session, T + seconds(30)) is None  # known already
    row = reservation(engine, call.session)
    assert (row.answered_at, row.deadline_at) == (T + seconds(20), T + seconds(80))
    assert slices.up(engine, "no-such-session", T) is None


def test_due_lists_the_open_calls_that_may_grow_soonest_first(engine, world):
    ext = account_id(engine, "acme-201")
    first = lifecycle.authorize(engine, world.settings, ext, USA, now=T, slice_seconds=60)
    second = lifecycle.authorize(engine, world.settings, ext, USA, now=T - seconds(30), slice_seconds=60)
    ended = lifecycle.authorize(engine, world.settings, ext, USA, now=T - seconds(40), slice_seconds=60)
    lifecycle.settle(engine, answered(ended.session, 1_000))
    whole = lifecycle.authorize(engine, world.settings, ext, USA, now=T - seconds(50), slice_seconds=0)
    assert [d.session for d in slices.due(engine, T + seconds(29))] == []
    assert [d.session for d in slices.due(engine, T + seconds(31))] == [second.session]
    due = slices.due(engine, T + seconds(61))
    assert [d.session for d in due] == [second.session, first.session]  # never `whole`: it holds its maximum
    assert (due[1].deadline_at, due[1].answered, due[1].held_seconds) == (T + seconds(60), False, 60)
    cleanup(engine, first.session, second.session, whole.session)


def cleanup(engine, *sessions: str) -> None:
    for session in sessions:
        assert lifecycle.release(engine, session, "test over")


def test_extend_holds_slice_by_slice_then_what_is_left_and_the_bill_stays_within_it(engine, world):
    card = account_id(engine, world.card)
    first = lifecycle.authorize(engine, world.settings, card, USA, now=T, slice_seconds=300)
    other = lifecycle.authorize(engine, world.settings, card, USA, now=T, slice_seconds=300)
    assert (first.held_seconds, other.held_seconds, other.max_seconds) == (300, 300, 300)  # 0.50 each: all of 1.00
    assert slices.up(engine, first.session, T + seconds(10)) == T + seconds(310)
    assert slices.extend(engine, first.session, 300) is None  # the other call holds the rest
    assert lifecycle.settle(engine, answered(other.session, 99_001)).cost == usa(100)
    # 1.00 - 0.166667 charged pays 499 s: the last extension holds that, not a whole slice
    assert slices.extend(engine, first.session, 300) == T + seconds(10 + 499)
    row = reservation(engine, first.session)
    assert (row.held_seconds, row.amount, row.max_seconds) == (499, usa(499), 600)
    assert slices.extend(engine, first.session, 300) is None
    done = lifecycle.settle(engine, answered(first.session, 3_600_000))  # it cannot have talked past 499 s
    assert (done.billed_seconds, done.cost) == (499, usa(499))
    assert balance(engine, card).available == 1_000_000 - usa(100) - usa(499) >= 0


def test_extend_grows_to_the_maximum_and_stops(engine, world):
    call = lifecycle.authorize(engine, world.settings, account_id(engine, world.card), USA, now=T, slice_seconds=250)
    assert slices.extend(engine, call.session, 250) == T + seconds(500)
    assert slices.extend(engine, call.session, 250) == T + seconds(600)  # the call's maximum
    assert slices.extend(engine, call.session, 250) is None
    assert slices.due(engine, T + seconds(3600)) == []
    lifecycle.settle(engine, answered(call.session, 0))
    assert slices.extend(engine, call.session, 250) is None  # settled: final
    assert slices.extend(engine, "no-such-session", 250) is None


def test_settle_bills_at_most_the_held_seconds_once(engine, world):
    call = lifecycle.authorize(engine, world.settings, account_id(engine, world.card), UK, now=T, slice_seconds=60)
    assert (call.held_seconds, call.amount) == (60, 600_000)
    done = lifecycle.settle(engine, answered(call.session, 90_000))
    assert (done.new, done.billed_seconds, done.cost) == (True, 60, 600_000)
    again = lifecycle.settle(engine, answered(call.session, 90_000))
    assert (again.new, again.billed_seconds, again.cost) == (False, 60, 600_000)
    with engine.begin() as conn:
        charges = conn.execute(select(LedgerEntry.amount).where(LedgerEntry.kind == "call")).scalars().all()
        status = conn.execute(select(Reservation.status)).scalar_one()
    assert (charges, status) == ([-600_000], "settled")
    assert lifecycle.settle(engine, answered("no-such-session", 1_000)) is None


def test_release_and_flag_give_the_credit_back_once_and_a_flagged_call_may_still_settle(engine, world):
    card = account_id(engine, world.card)
    released = lifecycle.authorize(engine, world.settings, card, USA, now=T, slice_seconds=60)
    flagged = lifecycle.authorize(engine, world.settings, card, USA, now=T, slice_seconds=60)
    assert lifecycle.release(engine, released.session, "caller left")
    assert not lifecycle.release(engine, released.session, "again")
    assert not lifecycle.flag(engine, released.session, "released already")
    assert lifecycle.flag(engine, flagged.session, "gone")
    assert balance(engine, card).available == 1_000_000
    assert slices.extend(engine, flagged.session, 60) is None
    assert lifecycle.settle(engine, answered(flagged.session, 5_000)).cost == usa(5)  # its record showed up
    assert lifecycle.settle(engine, answered(released.session, 5_000)).cost == 0  # released: final, never billed
    row = reservation(engine, released.session)
    assert (row.status, row.note, reservation(engine, flagged.session).status) == ("released", "caller left", "settled")


def test_calls_gone_while_serve_was_away_are_settled_within_their_hold_or_flagged(engine, world):
    """serve lists the live channels at T + 10 s: of the calls authorized before (less a margin), those not up are
    settled from Master.csv (3 s of talk there, 1 s held: billed 1 s) or flagged; the others stay open."""
    card = account_id(engine, world.card)

    def call(uniqueid: str, at=T) -> str:
        caller = Caller(f"Local/{uniqueid}", uniqueid, "201")
        return lifecycle.authorize(engine, world.settings, card, USA, caller, at, slice_seconds=1).session

    answered, unknown, up, late = call(ANSWERED), call(UNKNOWN), call("1795467950.400"), call("17.1", T + seconds(9))
    done = recovery.recover_gone(engine, {"1795467950.400"}, T + seconds(10), master_csv.read(MASTER, "Master.csv"))
    assert (done.settled, done.flagged) == ([answered], [unknown])
    with engine.begin() as conn:
        statuses = dict(conn.execute(select(Reservation.session, Reservation.status)).all())
        cdr = conn.execute(select(Cdr.billed_seconds, Cdr.cost, Cdr.source)).one()
    assert statuses == {answered: "settled", unknown: "flagged", up: "open", late: "open"}
    assert tuple(cdr) == (1, usa(1), "master.csv")
    cleanup(engine, up, late)


# --- N calls on one balance, in any order ---------------------------------------------------------

names = itertools.count()
steps = st.lists(
    st.tuples(
        st.sampled_from(["authorize", "authorize", "extend", "extend", "settle", "release"]),
        st.integers(0, 9),  # which open call
        st.integers(0, 2_000_000),  # talked ms when it settles
        st.sampled_from([USA, UK]),
    ),
    min_size=5,
    max_size=30,
)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    st.integers(0, 3_000_000),
    st.integers(0, 1_000_000),
    st.sampled_from([0, 1, 30, 60, 300]),
    steps,
)
def test_calls_sharing_a_balance_never_charge_more_than_it(engine, world, money, credit_limit, slice_seconds, plan):
    """A fresh account per example; the model of these steps is tests/unit/test_reservation_slices.py's."""
    name = f"gw-{next(names)}"
    accounts.create(engine, "test", NewAccount("gateway", name, parent="acme", credit_limit=credit_limit))
    if money:
        accounts.post(engine, "test", name, "recharge", money)
    account = account_id(engine, name)
    open_calls: list[str] = []
    for step, which, talked_ms, number in plan:
        if step == "authorize":
            call = lifecycle.authorize(engine, world.settings, account, number, slice_seconds=slice_seconds)
            open_calls += [call.session] if call.status is BillStatus.OK else []
        elif open_calls and step == "extend":
            slices.extend(engine, open_calls[which % len(open_calls)], slice_seconds)
        elif open_calls and step == "settle":
            lifecycle.settle(engine, CallResult(open_calls.pop(which % len(open_calls)), "ANSWER", talked_ms))
        elif open_calls:
            lifecycle.release(engine, open_calls.pop(which % len(open_calls)), "caller left")
        assert held(engine, account) + charged(engine, account) <= money + credit_limit
    for session in open_calls:  # each talks past its hold: billed what it held, no more
        lifecycle.settle(engine, CallResult(session, "ANSWER", 10**8))
    assert held(engine, account) == 0 and charged(engine, account) <= money + credit_limit
    assert balance(engine, account).available >= 0


def held(engine, account: int) -> int:
    with engine.begin() as conn:
        return conn.execute(
            select(func.coalesce(func.sum(Reservation.amount), 0)).where(
                Reservation.account_id == account, Reservation.status == "open"
            )
        ).scalar_one()


def charged(engine, account: int) -> int:
    with engine.begin() as conn:
        return conn.execute(select(func.coalesce(func.sum(Cdr.cost), 0)).where(Cdr.account_id == account)).scalar_one()


def test_a_call_of_a_card_disabled_since_its_start_is_not_extended(engine, world):
    call = lifecycle.authorize(engine, world.settings, account_id(engine, world.card), USA, now=T, slice_seconds=250)
    cards.disable(engine, "tester", [world.card])
    assert slices.extend(engine, call.session, 250) is None  # it ends with the slice it holds
    cards.enable(engine, "tester", [world.card])
    assert slices.extend(engine, call.session, 250) == T + seconds(500)
