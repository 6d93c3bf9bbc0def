"""Figures for the console's charts and dashboard (services/reports.py) on every backend: calls and money per hour
or day as the operator's clock shows them (across a DST change), per call class, and today's."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import update

from asteriskbill.billing.periods import bound
from asteriskbill.errors import UserError
from asteriskbill.money import parse_amount as m
from asteriskbill.services import cdrs, currency, reports
from asteriskbill.services.cdrs import Filters, Totals
from asteriskbill.store.models import LedgerEntry
from tests.helpers.cdr_rows import Call, add_cdrs

LONDON = ZoneInfo("Europe/London")
H = timedelta(hours=1)
AUTUMN = date(2026, 10, 25)  # BST ends: 01:00-02:00 comes twice, the day has 25 hours
SPRING = date(2026, 3, 29)  # BST starts: 01:00-02:00 never comes, the day has 23 hours


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


@pytest.fixture
def world(cli, engine):
    """Company acme (USD) with extension acme-201; extension solo (EUR) on its own."""
    cli("tariff", "create", "retail", "--currency", "USD")
    cli("tariff", "create", "euro", "--currency", "EUR")
    cli("accounts", "create", "company", "acme", "--tariff", "retail")
    cli("accounts", "create", "extension", "acme-201", "--parent", "acme", "--extension", "201")
    cli("accounts", "create", "extension", "solo", "--tariff", "euro", "--extension", "300")
    return cli


def day_of(day: date) -> Filters:
    return Filters(since=bound(day, LONDON), until=bound(day, LONDON, end=True))


def labels(buckets: list[reports.Bucket]) -> list[str]:
    return [bucket.start.strftime("%d %H:%M %Z") for bucket in buckets]


def test_hours_of_the_day_bst_ends_are_25_and_01_00_comes_twice(world, engine):
    add_cdrs(
        engine,
        "acme-201",
        [
            Call(utc(2026, 10, 24, 22, 30)),  # 23:30 BST the day before: not in the period
            Call(utc(2026, 10, 24, 23, 30)),  # 00:30 BST
            Call(utc(2026, 10, 25, 0, 30)),  # 01:30 BST
            Call(utc(2026, 10, 25, 1, 30), seconds=120, cost="0.20", buy="0.10"),  # 01:30 GMT
            Call(utc(2026, 10, 25, 1, 31), seconds=0, cost="0", buy=None),
            Call(utc(2026, 10, 25, 23, 59)),  # 23:59 GMT
        ],
    )
    add_cdrs(engine, "solo", [Call(utc(2026, 10, 25, 1, 40), currency="EUR")])
    buckets = reports.series(engine, day_of(AUTUMN), "hour", LONDON)
    assert len(buckets) == 25
    # astimezone: a moment in the repeated hour is never == one of another zone (PEP 495)
    assert [bucket.start.astimezone(UTC) for bucket in buckets] == [utc(2026, 10, 24, 23) + n * H for n in range(25)]
    assert labels(buckets)[:4] == ["25 00:00 BST", "25 01:00 BST", "25 01:00 GMT", "25 02:00 GMT"]
    assert labels(buckets)[-1] == "25 23:00 GMT"
    assert [bucket.calls for bucket in buckets] == [1, 1, 3] + [0] * 21 + [1]
    twice = buckets[2]
    assert (twice.answered, twice.billed_seconds) == (2, 180)
    assert twice.takings == {"USD": m("0.20"), "EUR": m("0.10")}
    assert twice.buy_cost == {"USD": m("0.10"), "EUR": m("0.04")}
    assert twice.margin == {"USD": m("0.10"), "EUR": m("0.06")}
    assert (buckets[3].currencies, buckets[3].takings) == ({}, {})


def test_hours_of_the_day_bst_starts_are_23_and_01_00_never_comes(world, engine):
    moments = [utc(2026, 3, 29, 0, 59), utc(2026, 3, 29, 1, 0), utc(2026, 3, 29, 1, 59)]  # 00:59 GMT, 02:00 BST, 02:59
    add_cdrs(engine, "acme-201", [Call(moment) for moment in moments])
    buckets = reports.series(engine, day_of(SPRING), "hour", LONDON)
    assert len(buckets) == 23
    assert labels(buckets)[:3] == ["29 00:00 GMT", "29 02:00 BST", "29 03:00 BST"]
    assert [bucket.calls for bucket in buckets][:3] == [1, 2, 0]


def test_days_are_the_local_dates(world, engine):
    add_cdrs(
        engine,
        "acme-201",
        [
            Call(utc(2026, 10, 24, 22, 30)),  # 24th, 23:30 BST
            Call(utc(2026, 10, 24, 23, 30)),  # 25th, 00:30 BST
            Call(utc(2026, 10, 25, 23, 30)),  # 25th, 23:30 GMT
            Call(utc(2026, 10, 26, 0, 30)),  # 26th
            Call(utc(2026, 3, 29, 23, 30)),  # 30 March, 00:30 BST
        ],
    )
    f = Filters(since=bound(date(2026, 10, 24), LONDON), until=bound(date(2026, 10, 26), LONDON, end=True))
    buckets = reports.series(engine, f, "day", LONDON)
    assert [(bucket.start.date(), bucket.start.hour, bucket.calls) for bucket in buckets] == [
        (date(2026, 10, 24), 0, 1),
        (date(2026, 10, 25), 0, 2),
        (date(2026, 10, 26), 0, 1),
    ]
    spring = Filters(since=bound(SPRING, LONDON), until=bound(date(2026, 3, 30), LONDON, end=True))
    assert [bucket.calls for bucket in reports.series(engine, spring, "day", LONDON)] == [0, 1]


def test_a_period_that_starts_within_an_hour_starts_with_that_hour(world, engine):
    add_cdrs(engine, "acme-201", [Call(utc(2026, 11, 2, 10, 10)), Call(utc(2026, 11, 2, 10, 40))])
    f = Filters(since=utc(2026, 11, 2, 10, 30), until=utc(2026, 11, 2, 12, 0))
    buckets = reports.series(engine, f, "hour", LONDON)
    assert [(bucket.start, bucket.calls) for bucket in buckets] == [
        (utc(2026, 11, 2, 10), 1),
        (utc(2026, 11, 2, 11), 0),
    ]


def test_buckets_add_up_to_the_statistics_late_conversions_and_an_account_included(world, engine):
    currency.set_rate(engine, "tester", "GBP", "USD", m("1.25"), date(2026, 10, 1))
    add_cdrs(
        engine,
        "acme-201",
        [
            Call(utc(2026, 10, 25, 9), buy="0.08", buy_currency="GBP"),  # converted now: 0.10 USD
            Call(utc(2026, 10, 25, 10), buy="9", buy_currency="JPY"),  # no rate yet
            Call(utc(2026, 10, 25, 11), call_class="international", cost="1.00", buy="0.70"),
        ],
    )
    add_cdrs(engine, "solo", [Call(utc(2026, 10, 25, 9, 30), currency="EUR")])
    for f in (day_of(AUTUMN), Filters(since=day_of(AUTUMN).since, until=day_of(AUTUMN).until, account="acme")):
        summed: dict[str, Totals] = {}
        for bucket in reports.series(engine, f, "hour", LONDON):
            for code, totals in bucket.currencies.items():
                summed[code] = summed.get(code, Totals()) + totals
        stated: dict[str, Totals] = {}
        for row in cdrs.stats(engine, f, by="account"):
            stated[row.currency] = stated.get(row.currency, Totals()) + row.total
        assert summed == stated
    usd = summed["USD"]
    assert (usd.calls, usd.cost, usd.buy_cost, usd.no_rate) == (3, m("1.20"), m("0.80"), 1)
    assert "EUR" not in summed  # solo is not acme's


def test_a_series_needs_a_period_a_known_step_and_not_too_many_buckets(world, engine):
    with pytest.raises(UserError, match="since and until"):
        reports.series(engine, Filters(since=utc(2026, 10, 1)), "hour", LONDON)
    with pytest.raises(UserError, match="hour or day"):
        reports.series(engine, day_of(AUTUMN), "week", LONDON)
    with pytest.raises(UserError, match="too many"):
        reports.series(engine, Filters(since=utc(2020, 1, 1), until=utc(2026, 1, 1)), "hour", LONDON)


def test_call_classes_per_currency(world, engine):
    add_cdrs(
        engine,
        "acme-201",
        [
            Call(utc(2026, 10, 25, 9), call_class="international", seconds=90, cost="1.50"),
            Call(utc(2026, 10, 25, 10), call_class="international", seconds=30, cost="0.50"),
            Call(utc(2026, 10, 25, 11), call_class="local", seconds=0, cost="0", buy=None),
        ],
    )
    add_cdrs(engine, "solo", [Call(utc(2026, 10, 25, 9), call_class="national", currency="EUR")])
    found = reports.by_class(engine, day_of(AUTUMN))
    assert list(found) == ["EUR", "USD"]
    assert list(found["USD"]) == ["local", "national", "international"]
    international = found["USD"]["international"]
    assert (international.calls, international.answered, international.seconds, international.cost) == (
        2,
        2,
        120,
        m("2.00"),
    )
    assert (found["USD"]["local"].calls, found["USD"]["national"]) == (1, Totals())
    assert found["EUR"]["national"].cost == m("0.10")


def test_today_is_since_the_operators_midnight_yesterday_excluded(world, engine):
    now = utc(2026, 10, 25, 12)  # the day began at 23:00 UTC on the 24th (00:00 BST)
    add_cdrs(
        engine,
        "acme-201",
        [
            Call(utc(2026, 10, 24, 22, 59), cost="5.00"),  # yesterday, 23:59 BST
            Call(utc(2026, 10, 24, 23, 0), seconds=30, cost="0.30"),
            Call(utc(2026, 10, 25, 11, 0), seconds=0, cost="0", buy=None),
        ],
    )
    add_cdrs(engine, "solo", [Call(utc(2026, 10, 25, 8), currency="EUR", cost="0.40")])
    for account, amount, at in (
        ("acme-201", "10", utc(2026, 10, 24, 22, 0)),  # yesterday
        ("acme-201", "20", utc(2026, 10, 25, 10, 0)),
        ("acme-201", "7", utc(2026, 10, 25, 10, 5)),
        ("solo", "5", utc(2026, 10, 25, 9, 0)),
    ):
        world("accounts", "recharge", account, amount)
        with engine.begin() as conn:  # the recharge's moment, as if made then
            last = conn.execute(LedgerEntry.__table__.select().order_by(LedgerEntry.id.desc()).limit(1)).one()
            conn.execute(update(LedgerEntry).where(LedgerEntry.id == last.id).values(created_at=at))
    world("accounts", "adjust", "acme-201", "3", "--note", "not a recharge")
    figures = reports.today(engine, LONDON, now=now)
    assert figures.since == utc(2026, 10, 24, 23)
    assert (figures.calls, figures.answered, figures.billed_seconds) == (3, 2, 90)
    assert figures.takings == {"EUR": m("0.40"), "USD": m("0.30")}
    assert figures.recharges == {"EUR": m("5"), "USD": m("27")}
