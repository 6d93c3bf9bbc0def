"""Service plans' pure rules (billing/plans.py): cycles cut in the timezone setting (month ends, weeks, clock
changes), which cycle is due for prepaid and postpaid, and what a renewal does when the fee can or cannot be paid."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from asteriskbill.billing import plans
from asteriskbill.billing.accounts import ACTIVE, FROZEN
from asteriskbill.billing.plans import (
    ALLOW_DEBT,
    CHARGED,
    DAILY,
    DEBT,
    MONTHLY,
    POSTPAID,
    PREPAID,
    SUSPEND,
    SUSPENDED,
    WEEKLY,
    PlanError,
    Renewal,
)

SOFIA = ZoneInfo("Europe/Sofia")  # UTC+2, +3 in summer
LONDON = ZoneInfo("Europe/London")
W = "week of "


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


@pytest.mark.parametrize(
    ("kind", "moment", "first", "start", "end", "label"),
    [
        # a month is cut at local midnight: 23:30 UTC on 31 January is already February in Sofia
        (MONTHLY, "2026-01-31T23:30:00+00:00", "2026-02-01", "2026-01-31T22:00", "2026-02-28T22:00", "2026-02"),
        (MONTHLY, "2026-01-31T21:59:59+00:00", "2026-01-01", "2025-12-31T22:00", "2026-01-31T22:00", "2026-01"),
        # a leap February, and December into the next year
        (MONTHLY, "2028-02-29T12:00:00+02:00", "2028-02-01", "2028-01-31T22:00", "2028-02-29T22:00", "2028-02"),
        (MONTHLY, "2026-12-31T23:59:59+02:00", "2026-12-01", "2026-11-30T22:00", "2026-12-31T22:00", "2026-12"),
        # March holds the change to summer time: it starts at +02:00 and ends at +03:00
        (MONTHLY, "2026-03-15T12:00:00+02:00", "2026-03-01", "2026-02-28T22:00", "2026-03-31T21:00", "2026-03"),
        # a week is Monday to Sunday: Sunday night is still the week before
        (WEEKLY, "2026-12-06T23:59:00+02:00", "2026-11-30", "2026-11-29T22:00", "2026-12-06T22:00", W + "2026-11-30"),
        (WEEKLY, "2026-12-07T00:00:00+02:00", "2026-12-07", "2026-12-06T22:00", "2026-12-13T22:00", W + "2026-12-07"),
        (WEEKLY, "2027-01-01T10:00:00+02:00", "2026-12-28", "2026-12-27T22:00", "2027-01-03T22:00", W + "2026-12-28"),
        (DAILY, "2026-12-07T00:00:00+02:00", "2026-12-07", "2026-12-06T22:00", "2026-12-07T22:00", "2026-12-07"),
        (DAILY, "2026-12-06T23:59:59+02:00", "2026-12-06", "2026-12-05T22:00", "2026-12-06T22:00", "2026-12-06"),
    ],
)
def test_the_cycle_containing_a_moment_in_sofia(kind, moment, first, start, end, label):
    cycle = plans.cycle_at(kind, at(moment), SOFIA)
    assert cycle.first_day == date.fromisoformat(first)
    assert (cycle.start, cycle.end) == (at(start + "+00:00"), at(end + "+00:00"))
    assert cycle.label == label


def test_days_when_the_clocks_change_are_23_and_25_hours_long():
    spring = plans.cycle_at(DAILY, at("2027-03-28T12:00:00+01:00"), LONDON)  # 01:00 GMT -> 02:00 BST
    autumn = plans.cycle_at(DAILY, at("2026-10-25T12:00:00+00:00"), LONDON)  # 02:00 BST -> 01:00 GMT
    assert (spring.start, spring.end) == (at("2027-03-28T00:00:00+00:00"), at("2027-03-28T23:00:00+00:00"))
    assert (autumn.start, autumn.end) == (at("2026-10-24T23:00:00+00:00"), at("2026-10-26T00:00:00+00:00"))
    assert spring.end - spring.start == timedelta(hours=23)
    assert autumn.end - autumn.start == timedelta(hours=25)
    # the moment the clocks go forward is inside that day, and the hour after the change too
    assert plans.cycle_at(DAILY, at("2027-03-28T01:00:00+00:00"), LONDON).first_day == date(2027, 3, 28)
    assert plans.cycle_at(DAILY, at("2027-03-28T22:59:59+00:00"), LONDON).first_day == date(2027, 3, 28)
    assert plans.cycle_at(DAILY, at("2027-03-28T23:00:00+00:00"), LONDON).first_day == date(2027, 3, 29)


def test_a_day_whose_midnight_the_clocks_skip_starts_when_they_go_forward():
    """São Paulo went from 00:00 to 01:00 on 4 November 2018: that day began at 01:00 local, 03:00 UTC."""
    day = plans.cycle_at(DAILY, at("2018-11-04T12:00:00-02:00"), ZoneInfo("America/Sao_Paulo"))
    assert (day.start, day.end) == (at("2018-11-04T03:00:00+00:00"), at("2018-11-05T02:00:00+00:00"))
    assert day.end - day.start == timedelta(hours=23)


ZONES = st.sampled_from([UTC, SOFIA, LONDON, ZoneInfo("America/Sao_Paulo"), ZoneInfo("Pacific/Chatham")])
MOMENTS = st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC))


@given(kind=st.sampled_from(plans.CYCLES), moment=MOMENTS, zone=ZONES)
def test_cycles_tile_time(kind, moment, zone):
    """Every moment is in exactly one cycle: it starts no later than the moment, ends after it, and the next
    cycle starts where it ends."""
    cycle = plans.cycle_at(kind, moment, zone)
    assert cycle.start <= moment < cycle.end
    after = plans.cycle_at(kind, cycle.end, zone)
    assert after.start == cycle.end and after.first_day == cycle.next_day
    assert plans.previous(after, zone) == cycle
    assert plans.cycle_at(kind, cycle.end - timedelta(microseconds=1), zone) == cycle


def test_prepaid_charges_the_cycle_in_progress_postpaid_the_one_that_ended():
    now = at("2026-12-15T10:00:00+00:00")
    assert plans.due_cycle(MONTHLY, PREPAID, now, UTC).label == "2026-12"
    assert plans.due_cycle(MONTHLY, POSTPAID, now, UTC).label == "2026-11"
    assert plans.due_cycle(WEEKLY, POSTPAID, now, UTC).label == "week of 2026-12-07"
    assert plans.due_cycle(DAILY, POSTPAID, at("2027-01-01T00:00:00+00:00"), UTC).label == "2026-12-31"


def test_a_postpaid_account_owes_only_the_cycles_it_was_on_the_plan_in():
    november = plans.due_cycle(MONTHLY, POSTPAID, at("2026-12-15T10:00:00+00:00"), UTC)
    assert plans.owed(november, POSTPAID, at("2026-11-30T23:59:59+00:00"))  # on it for November's last second
    assert not plans.owed(november, POSTPAID, at("2026-12-01T00:00:00+00:00"))  # put on it in December
    assert plans.owed(november, POSTPAID, None)
    assert plans.owed(plans.cycle_at(MONTHLY, at("2026-12-15T10:00:00+00:00"), UTC), PREPAID, at("2026-12-15T10:00"))


@pytest.mark.parametrize(
    ("fee", "available", "on_failure", "status", "last", "again", "expected"),
    [
        (10, 10, SUSPEND, ACTIVE, None, False, Renewal(CHARGED, 10)),
        (10, 9, SUSPEND, ACTIVE, None, False, Renewal(SUSPENDED, freeze=True)),
        (10, 9, ALLOW_DEBT, ACTIVE, CHARGED, False, Renewal(DEBT, 10)),
        (10, -50, ALLOW_DEBT, FROZEN, None, False, Renewal(DEBT, 10)),  # allow-debt never freezes nor unfreezes
        (0, -5, SUSPEND, ACTIVE, None, False, Renewal(CHARGED, 0)),  # a free plan is never refused
        # a suspended cycle tried again: charged and unfrozen once the money is there, else left as it is
        (10, 10, SUSPEND, FROZEN, SUSPENDED, True, Renewal(CHARGED, 10, unfreeze=True)),
        (10, 9, SUSPEND, FROZEN, SUSPENDED, True, Renewal(None)),
        (10, 9, SUSPEND, ACTIVE, SUSPENDED, True, Renewal(None)),  # unfrozen by hand: not frozen again this cycle
        (10, 10, SUSPEND, ACTIVE, SUSPENDED, True, Renewal(CHARGED, 10)),
        # a new cycle of an account the plan froze before: charged and unfrozen, or tried again
        (10, 10, SUSPEND, FROZEN, SUSPENDED, False, Renewal(CHARGED, 10, unfreeze=True)),
        (10, 9, SUSPEND, FROZEN, SUSPENDED, False, Renewal(None)),
        # an account an operator froze: charged when it can pay, but left frozen
        (10, 10, SUSPEND, FROZEN, CHARGED, False, Renewal(CHARGED, 10)),
        (10, 9, SUSPEND, FROZEN, None, False, Renewal(None)),
    ],
)
def test_what_a_renewal_does(fee, available, on_failure, status, last, again, expected):
    assert plans.renewal(fee, available, on_failure, status, last, again=again) == expected


def test_bad_terms_are_refused_with_one_clear_line():
    with pytest.raises(PlanError, match="unknown cycle 'yearly': use one of daily, weekly, monthly"):
        plans.cycle_at("yearly", at("2026-12-01T00:00:00+00:00"), UTC)
    with pytest.raises(PlanError, match="unknown billing 'later'"):
        plans.due_cycle(MONTHLY, "later", at("2026-12-01T00:00:00+00:00"), UTC)
    with pytest.raises(PlanError, match="must not be negative"):
        plans.check_fee(-1)
