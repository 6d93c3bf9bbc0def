from datetime import UTC, datetime, timedelta

from asteriskbill.billing.authorize import BillStatus, Funds, Grant, PinGuard, PinPolicy, SpendLimits, grant
from asteriskbill.money import parse_amount as m
from asteriskbill.rating.engine import Pricing
from asteriskbill.rating.model import Rate, Tariff, groups_from_increments
from asteriskbill.store.tariffs import from_snapshot, snapshot

NOW = datetime(2026, 1, 5, 12, tzinfo=UTC)
TARIFF = Tariff("retail", "USD", rounding=m("0.01"), timezone="Europe/Sofia", holidays={NOW.date(): 6})
PER_MINUTE = Rate("44", groups_from_increments(m("0.60"), 60, 6), destination="UK", grace=3)


def pricing(cap=10800):
    return Pricing(TARIFF, [PER_MINUTE], "4420", NOW, cap)


def test_available_counts_credit_limit_and_held_credit():
    assert Funds(m("1"), m("2"), m("0.5"), 1, None).available == m("2.5")


def test_grant_holds_the_cost_of_the_maximum():
    decision = grant(Funds(m("1.00"), 0, 0, 0, 1), pricing())
    assert decision == Grant(96, m("0.96"))


def test_grant_uses_credit_limit_minus_open_reservations():
    assert grant(Funds(0, m("1.00"), m("0.40"), 0, None), pricing()) == Grant(60, m("0.60"))


def test_no_credit_when_only_grace_is_affordable():
    assert grant(Funds(m("0.59"), 0, 0, 0, None), pricing()) is BillStatus.NO_CREDIT
    assert grant(Funds(-m("5"), 0, 0, 0, None), pricing()) is BillStatus.NO_CREDIT


def test_too_many_calls_before_money():
    assert grant(Funds(m("100"), 0, 0, 2, 2), pricing()) is BillStatus.TOO_MANY_CALLS
    assert isinstance(grant(Funds(m("100"), 0, 0, 2, None), pricing()), Grant)


def test_cap_limits_one_call():
    assert grant(Funds(m("1000"), 0, 0, 0, None), pricing(cap=600)) == Grant(600, m("6.00"))


def test_a_spending_limit_caps_what_the_pool_would_pay():
    pool = Funds(m("100"), m("50"), m("10"), 0, None, cap=m("0.96"))
    assert pool.available == m("0.96")
    assert grant(pool, pricing()) == Grant(96, m("0.96"))  # the same one formula, on the smaller amount
    assert Funds(m("0.50"), 0, 0, 0, None, cap=m("5")).available == m("0.50")  # the pool is the smaller


def test_spend_limits_leave_the_least_of_the_day_and_the_month_and_never_below_zero():
    assert SpendLimits().cap(m("9"), m("99")) is None
    assert SpendLimits(daily=m("5")).cap(m("2"), m("40")) == m("3")
    assert SpendLimits(daily=m("5"), monthly=m("50")).cap(m("2"), m("49")) == m("1")
    assert SpendLimits(monthly=m("50")).cap(0, m("60")) == 0  # overspent (a call ran past it): nothing left


POLICY = PinPolicy(max_failures=3, window=timedelta(hours=1), lock=timedelta(minutes=30))


def test_pin_lock_after_failures_in_window():
    guard = PinGuard()
    for minute in range(2):
        guard = guard.after_failure(NOW + timedelta(minutes=minute), POLICY)
        assert not guard.locked(NOW + timedelta(minutes=minute))
    guard = guard.after_failure(NOW + timedelta(minutes=5), POLICY)
    assert guard.locked(NOW + timedelta(minutes=5))
    assert guard.locked(NOW + timedelta(minutes=34))
    assert not guard.locked(NOW + timedelta(minutes=36))


def test_pin_failures_outside_the_window_start_again():
    guard = PinGuard().after_failure(NOW, POLICY).after_failure(NOW + timedelta(minutes=1), POLICY)
    guard = guard.after_failure(NOW + timedelta(minutes=61), POLICY)
    assert (guard.failures, guard.locked(NOW + timedelta(minutes=61))) == (1, False)


def test_snapshot_round_trip():
    tariff, rates = from_snapshot(snapshot(TARIFF, [PER_MINUTE]))
    assert (tariff, rates) == (TARIFF, [PER_MINUTE])


def test_snapshot_kept_for_the_same_objects_only():
    kept = snapshot(TARIFF, [PER_MINUTE])
    assert snapshot(TARIFF, (PER_MINUTE,)) is kept  # the catalog's own objects again: made once
    dearer = Rate("44", groups_from_increments(m("0.90"), 60, 6), destination="UK", grace=3)
    assert from_snapshot(snapshot(TARIFF, [dearer]))[1] == [dearer]
    renamed = Tariff("other", "USD", rounding=m("0.01"), timezone="Europe/Sofia", holidays={NOW.date(): 6})
    assert from_snapshot(snapshot(renamed, [PER_MINUTE]))[0] == renamed
    assert snapshot(TARIFF, [PER_MINUTE]) is kept
