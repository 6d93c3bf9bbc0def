"""Credit held in slices (billing/reservation.py): examples, then invariants over random tariffs, rates and money.

The properties are the ones the money rests on: a hold costs exactly what its seconds cost; an extension never
holds more than the money it may use, nor more than the call's maximum; a call billed at most its held seconds
never costs more than its hold; N calls sharing one balance, whatever the order of their authorizations,
extensions and settlements, never charge more than balance + credit limit; and the channel's deadline counted
from the authorization never falls after the answer + the time held.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from asteriskbill.billing.authorize import Funds, Grant, grant
from asteriskbill.billing.reservation import (
    FLAGGED,
    OPEN,
    RELEASED,
    SETTLED,
    Hold,
    ReservationStatus,
    deadline,
    extend_ahead,
    extension,
    first_hold,
)
from asteriskbill.billing.settle import ANSWER, CallResult, billable_seconds
from asteriskbill.money import parse_amount as m
from asteriskbill.rating.engine import Pricing
from asteriskbill.rating.model import Rate, Tariff, groups_from_increments
from tests.unit.test_rating_properties import NUMBER, PROPERTY, caps, moments, rate_sets

NOW = datetime(2026, 1, 5, 12, tzinfo=UTC)
TARIFF = Tariff("retail", "USD")
PER_SECOND = Rate("44", groups_from_increments(m("0.60")), destination="UK")  # 0.01 a second, 1/1
PER_MINUTE = Rate("44", groups_from_increments(m("0.60"), 60, 6), destination="UK")  # 60/6


def priced(rate: Rate, cap: int = 10800) -> Pricing:
    return Pricing(TARIFF, [rate], NUMBER, NOW, cap)


# --- examples -------------------------------------------------------------------------------------


def test_statuses_are_the_four_the_database_checks():
    assert [OPEN, SETTLED, RELEASED, FLAGGED] == list(ReservationStatus) == ["open", "settled", "released", "flagged"]


def test_first_hold_is_one_slice_or_the_whole_maximum():
    pricing = priced(PER_SECOND)
    assert first_hold(pricing, 600, 300) == Hold(300, m("3.00"))
    assert first_hold(pricing, 120, 300) == Hold(120, m("1.20"))  # the balance covers less than a slice
    assert first_hold(pricing, 600, 0) == Hold(600, m("6.00"))  # 0: no slices


def test_first_hold_takes_the_grants_charge_of_the_whole_maximum_only():
    pricing = priced(PER_SECOND)
    whole = pricing.max_duration(m("6.00"))  # what grant() priced
    assert whole.seconds == 600
    assert first_hold(pricing, 600, 0, whole) == first_hold(pricing, 600, 0) == Hold(600, m("6.00"))
    assert first_hold(pricing, 600, 300, whole) == Hold(300, m("3.00"))  # a slice is priced for itself


def test_a_slice_inside_the_first_block_holds_the_whole_block():
    assert first_hold(priced(PER_MINUTE), 600, 30) == Hold(30, m("0.60"))


def test_extension_adds_a_slice_then_what_is_left_then_nothing():
    pricing = priced(PER_SECOND)
    held = Hold(300, m("3.00"))
    assert extension(pricing, held, m("10.00"), 600, 300) == Hold(600, m("6.00"))
    assert extension(pricing, held, m("4.255"), 600, 300) == Hold(425, m("4.25"))  # the money runs out at 425 s
    assert extension(pricing, held, m("3.009"), 600, 300) is None  # not one more second
    assert extension(pricing, Hold(600, m("6.00")), m("100"), 600, 300) is None  # at its maximum


def test_extension_with_no_slices_grows_by_one_second():
    assert extension(priced(PER_SECOND), Hold(10, m("0.10")), m("1"), 600, 0) == Hold(11, m("0.11"))


def test_deadline_counts_from_the_answer_once_known():
    assert deadline(NOW, None, 300) == NOW + timedelta(seconds=300)
    assert deadline(NOW, NOW + timedelta(seconds=20), 300) == NOW + timedelta(seconds=320)


def test_extension_comes_a_quarter_slice_ahead_and_at_least_two_seconds():
    assert extend_ahead(300) == timedelta(seconds=75)
    assert extend_ahead(4) == timedelta(seconds=2)
    assert extend_ahead(0) == timedelta(seconds=2)


# --- properties -----------------------------------------------------------------------------------

slices = st.integers(0, 4000) | st.sampled_from([0, 1, 6, 60, 300])
money = st.integers(0, 50_000_000)


def granted(moment, rates, available: int, cap: int) -> tuple[Pricing, Grant] | None:
    tariff, start = moment
    pricing = Pricing(tariff, rates, NUMBER, start, cap)
    decision = grant(Funds.alone(available), pricing)
    return (pricing, decision) if isinstance(decision, Grant) else None


def costs_its_seconds(pricing: Pricing, hold: Hold) -> bool:
    return pricing.cost(hold.seconds).cost == hold.amount


@PROPERTY
@given(moments(), rate_sets(), money, caps, slices, st.lists(st.integers(-5_000_000, 20_000_000), max_size=12))
def test_each_hold_costs_its_seconds_fits_the_money_and_the_maximum(moment, rates, available, cap, size, frees):
    """A chain of extensions, each with some free credit (negative: the account went below what it held)."""
    call = granted(moment, rates, available, cap)
    if call is None:
        return
    pricing, decision = call
    hold = first_hold(pricing, decision.max_seconds, size)
    assert costs_its_seconds(pricing, hold) and hold.amount <= decision.amount <= available
    assert hold.seconds == (decision.max_seconds if size == 0 else min(size, decision.max_seconds))
    for free in frees:
        usable = hold.amount + free
        more = extension(pricing, hold, usable, decision.max_seconds, size)
        if more is None:  # the money stops it, or its maximum: not one second more fits
            assert hold.seconds == decision.max_seconds or pricing.cost(hold.seconds + 1).cost > usable
            continue
        assert costs_its_seconds(pricing, more) and more.amount <= usable
        assert hold.seconds < more.seconds <= min(hold.seconds + max(size, 1), decision.max_seconds)
        if more.seconds < min(hold.seconds + max(size, 1), decision.max_seconds):  # the last, cut by the money
            assert pricing.cost(more.seconds + 1).cost > usable
        hold = more


@PROPERTY
@given(moments(), rate_sets(), st.integers(-1_000_000, 50_000_000), caps, st.integers(0, 4 * 3600), slices)
def test_extension_never_holds_more_than_usable(moment, rates, usable, cap, held, size):
    """Whatever the call holds already, and whatever it may use (its own hold and the account's free credit)."""
    tariff, start = moment
    pricing = Pricing(tariff, rates, NUMBER, start, cap)
    seconds = min(held, pricing.horizon)
    more = extension(pricing, Hold(seconds, pricing.cost(seconds).cost), usable, pricing.horizon, size)
    assert more is None or (more.amount <= usable and seconds < more.seconds <= pricing.horizon)


@PROPERTY
@given(
    moments(), rate_sets(), money, caps, slices, st.integers(0, 5 * 3600 * 1000), st.sampled_from(["ANSWER", "BUSY"])
)
def test_a_call_billed_at_most_its_held_seconds_never_costs_more_than_its_hold(
    moment, rates, available, cap, size, talked_ms, outcome
):
    call = granted(moment, rates, available, cap)
    if call is None:
        return
    pricing, decision = call
    hold = first_hold(pricing, decision.max_seconds, size)
    billed = billable_seconds(CallResult("s", outcome, talked_ms), hold.seconds)
    assert billed <= hold.seconds and pricing.cost(billed).cost <= hold.amount


@PROPERTY
@given(
    st.datetimes(min_value=datetime(2026, 1, 1), max_value=datetime(2027, 12, 31), timezones=st.just(UTC)),
    st.integers(0, 10**9),  # µs from the authorization to the callee's answer
    st.integers(0, 4 * 3600),
    st.integers(0, 4 * 3600),
)
def test_the_deadline_from_the_authorization_never_outruns_the_hold(authorized, answer_us, held, later):
    answered = authorized + timedelta(microseconds=answer_us)
    before_answer = deadline(authorized, None, held)
    assert before_answer <= deadline(authorized, answered, held) == answered + timedelta(seconds=held)
    assert before_answer - answered <= timedelta(seconds=held)  # the talk it allows, if the answer came then
    assert deadline(authorized, answered, held) <= deadline(authorized, answered, held + later)  # extensions


# --- N calls on one balance -----------------------------------------------------------------------


@dataclass
class Account:
    """A pure model of one account: what lifecycle.authorize / extend / settle do to it, under its lock."""

    balance: int
    credit_limit: int
    max_calls: int | None
    calls: list[tuple[Pricing, Hold, int]] = field(default_factory=list)  # open: pricing, hold, max seconds
    charged: int = 0

    def funds(self) -> Funds:
        held = sum(hold.amount for _, hold, _ in self.calls)
        return Funds(self.balance, self.credit_limit, held, len(self.calls), self.max_calls)

    def authorize(self, pricing: Pricing, size: int) -> None:
        decision = grant(self.funds(), pricing)
        if isinstance(decision, Grant):
            self.calls.append((pricing, first_hold(pricing, decision.max_seconds, size), decision.max_seconds))

    def extend(self, index: int, size: int) -> None:
        pricing, hold, most = self.calls[index]
        more = extension(pricing, hold, self.funds().available + hold.amount, most, size)
        if more is not None:
            self.calls[index] = (pricing, more, most)

    def settle(self, index: int, talked_ms: int) -> None:
        pricing, hold, _ = self.calls.pop(index)
        charge = pricing.cost(billable_seconds(CallResult("s", ANSWER, talked_ms), hold.seconds)).cost
        self.balance -= charge
        self.charged += charge


@PROPERTY
@given(
    st.lists(st.tuples(moments(), rate_sets()), min_size=1, max_size=3),
    st.integers(-1_000_000, 20_000_000),
    st.integers(0, 5_000_000),
    st.none() | st.integers(1, 6),
    caps,
    slices,
    st.data(),
)
def test_calls_sharing_a_balance_never_charge_more_than_balance_and_credit(
    destinations, balance, credit_limit, max_calls, cap, size, data
):
    pricings = [Pricing(tariff, rates, NUMBER, start, cap) for (tariff, start), rates in destinations]
    account = Account(balance, credit_limit, max_calls)
    ceiling = max(balance + credit_limit, 0)
    for _ in range(data.draw(st.integers(1, 40), "steps")):
        step = data.draw(st.sampled_from(["authorize", "extend", "settle"] if account.calls else ["authorize"]))
        if step == "authorize":
            account.authorize(data.draw(st.sampled_from(pricings)), size)
        elif step == "extend":
            account.extend(data.draw(st.integers(0, len(account.calls) - 1)), size)
        else:
            account.settle(data.draw(st.integers(0, len(account.calls) - 1)), data.draw(st.integers(0, 10**8)))
        assert account.funds().reserved + account.charged <= ceiling
    while account.calls:  # every call ends, talking past its hold: billed at most what it held
        account.settle(0, 10**8)
    assert account.charged <= ceiling
    assert account.balance + credit_limit >= min(balance + credit_limit, 0)
