"""Least-cost routing through the call's lifecycle, on real SQLite and PostgreSQL: the routes an authorization hands
the dialplan (order by buy price at the call's start, skipped trunks), the channel limit under parallel calls, and
what settlement records of the route that carried the call (trunk, vendor, attempts, buy cost, vendor debit)."""

from __future__ import annotations

import json
import random
import threading
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, insert, select, update

from asteriskbill.billing import routing as rules
from asteriskbill.billing.authorize import BillStatus
from asteriskbill.billing.settle import CallResult
from asteriskbill.rating.engine import Pricing
from asteriskbill.services import lifecycle, routing
from asteriskbill.store.catalog import SQL_CATALOG
from asteriskbill.store.models import (
    Account,
    CallAttempt,
    Cdr,
    Reservation,
    RoutingEntry,
    RoutingGroup,
    Tariff,
    Trunk,
    Vendor,
    VendorLedgerEntry,
)
from tests.helpers.world import make_world

UK = "00442071234567"  # sells at 0.60/min 60/6 (tests/helpers/world.py)
PEAK = (
    "prefix,destination,price,increments,weekdays,time_from,time_to\n"
    "44,UK peak,{peak},1/1,,09:00,18:00\n44,UK off,{off},1/1,,18:00,09:00\n"
)
FLAT = "prefix,destination,price,increments\n44,UK,{price},1/1\n"
BEFORE_NINE = datetime(2026, 12, 1, 8, 59, 30, tzinfo=UTC)  # tariffs are in UTC
AT_NINE = datetime(2026, 12, 1, 9, 0, 0, tzinfo=UTC)


@pytest.fixture
def world(cli, tmp_path):
    return make_world(cli, tmp_path)


class Routing:
    """Vendors (each with its buy rates: a tariff of its own), their trunks and one group for extension acme-201."""

    def __init__(self, cli, engine, folder, policy: str = "lcr", allow_loss: bool = False):
        self.cli, self.engine, self.folder = cli, engine, folder
        with engine.begin() as conn:
            self.group = conn.execute(
                insert(RoutingGroup).values(name="out", policy=policy, allow_loss=allow_loss)
            ).inserted_primary_key[0]
            conn.execute(update(Account).where(Account.name == "acme-201").values(routing_group_id=self.group))
        cli("accounts", "recharge", "acme-201", "90")  # 100.00: room for 20 calls' first slices
        self.trunks: dict[str, int] = {}
        self.vendors: dict[str, int] = {}

    def vendor(self, name: str, rates: str, *, prepaid: int | None = None) -> None:
        (self.folder / f"{name}.csv").write_text(rates)
        self.cli("tariff", "create", f"vendor:{name}", "--currency", "USD")
        self.cli("rates", "import", f"vendor:{name}", self.folder / f"{name}.csv")
        with self.engine.begin() as conn:
            tariff = conn.execute(select(Tariff.id).where(Tariff.name == f"vendor:{name}")).scalar_one()
            values = {"prepaid": True, "balance": prepaid} if prepaid is not None else {}
            self.vendors[name] = conn.execute(
                insert(Vendor).values(name=name, currency="USD", tariff_id=tariff, **values)
            ).inserted_primary_key[0]

    def trunk(self, name: str, vendor: str, *, priority: int = 1, **columns) -> int:
        with self.engine.begin() as conn:
            trunk = conn.execute(
                insert(Trunk).values(
                    vendor_id=self.vendors[vendor], name=name, dial=f"PJSIP/${{NUMBER}}@{name}", **columns
                )
            ).inserted_primary_key[0]
            conn.execute(insert(RoutingEntry).values(group_id=self.group, trunk_id=trunk, priority=priority))
        self.trunks[name] = trunk
        return trunk


def call_from(engine, world, number: str, now: datetime | None = None):
    """acme-201 calls ``number``: its first minute held."""
    with engine.begin() as conn:
        account = conn.execute(select(Account.id).where(Account.name == "acme-201")).scalar_one()
    return lifecycle.authorize(engine, world.settings, account, number, now=now, slice_seconds=60)


def test_lcr_takes_the_cheapest_trunk_at_the_calls_start_and_switches_at_the_peak_boundary(
    cli, engine, world, tmp_path
):
    routes = Routing(cli, engine, tmp_path)
    routes.vendor("peaky", PEAK.format(peak="0.10", off="0.40"))
    routes.vendor("steady", FLAT.format(price="0.20"))
    routes.trunk("peaky-1", "peaky")
    routes.trunk("steady-1", "steady")
    early = call_from(engine, world, UK, now=BEFORE_NINE)
    nine = call_from(engine, world, UK, now=AT_NINE)
    assert early.status is BillStatus.OK and nine.status is BillStatus.OK
    assert early.dials == ("PJSIP/442071234567@steady-1", "PJSIP/442071234567@peaky-1")
    assert nine.dials == ("PJSIP/442071234567@peaky-1", "PJSIP/442071234567@steady-1")
    assert nine.dial == nine.dials[0]


def test_a_trunk_that_would_lose_money_a_disabled_one_and_a_vendor_without_money_are_skipped(
    cli, engine, world, tmp_path
):
    routes = Routing(cli, engine, tmp_path)
    routes.vendor("dear", FLAT.format(price="0.70"))  # sells at 0.60
    routes.vendor("cheap", FLAT.format(price="0.05"))
    routes.vendor("broke", FLAT.format(price="0.01"), prepaid=0)
    routes.trunk("dear-1", "dear")
    routes.trunk("off-1", "cheap", enabled=False)
    routes.trunk("broke-1", "broke")
    routes.trunk("cheap-1", "cheap")
    call = call_from(engine, world, UK, now=AT_NINE)
    assert call.dials == ("PJSIP/442071234567@cheap-1",)
    with engine.begin() as conn:
        retail = conn.execute(select(Tariff.id).where(Tariff.name == "retail")).scalar_one()
        rates = SQL_CATALOG.rates(conn, retail, UK[2:])
        sell = Pricing(SQL_CATALOG.tariff(conn, retail), rates, UK[2:], AT_NINE, 60)
        routed = routing.routes_in(conn, SQL_CATALOG, routes.group, sell, lock=False)
    why = {v.candidate.trunk: v.why for v in routed.verdicts}
    assert why["dear-1"] == "skipped: buys at 0.70 a minute, sells at 0.60"
    assert why["off-1"] == "skipped: disabled"
    assert why["broke-1"] == "skipped: vendor broke has no prepaid balance left"
    with engine.begin() as conn:
        conn.execute(update(RoutingGroup).values(allow_loss=True))
        conn.execute(update(Trunk).where(Trunk.name == "cheap-1").values(enabled=False))
    call = call_from(engine, world, UK, now=AT_NINE)
    assert call.dials == ("PJSIP/442071234567@dear-1",)
    with engine.begin() as conn:
        conn.execute(update(Trunk).where(Trunk.name == "dear-1").values(enabled=False))
    refused = call_from(engine, world, UK, now=AT_NINE)
    assert refused.status is BillStatus.NO_ROUTE
    assert refused.reason == (
        "no trunk of routing group out can take 442071234567 (broke-1: vendor broke has no prepaid balance left; "
        "cheap-1: disabled; dear-1: disabled; off-1: disabled)"
    )


def test_a_failed_over_call_names_the_second_trunk_its_attempts_and_that_vendors_buy_cost(cli, engine, world, tmp_path):
    routes = Routing(cli, engine, tmp_path)
    routes.vendor("first", FLAT.format(price="0.06"))
    routes.vendor("second", FLAT.format(price="0.12"), prepaid=5_000_000)
    first, second = routes.trunk("first-1", "first"), routes.trunk("second-1", "second")
    call = call_from(engine, world, UK, now=AT_NINE)
    result = CallResult(call.session, "ANSWER", 50_000, started_at=AT_NINE, attempts=("CHANUNAVAIL", "ANSWER"))
    assert lifecycle.settle(engine, result).cost == 600_000  # 50 s at 0.60/min, 60/6
    with engine.begin() as conn:
        cdr = conn.execute(select(Cdr).where(Cdr.session == call.session)).one()
        tried = conn.execute(
            select(CallAttempt.position, CallAttempt.trunk_id, CallAttempt.dialstatus)
            .where(CallAttempt.cdr_id == cdr.id)
            .order_by(CallAttempt.position)
        ).all()
        debit = conn.execute(select(VendorLedgerEntry.amount, VendorLedgerEntry.balance_after)).one()
    assert (cdr.trunk_id, cdr.vendor_id, cdr.buy_cost) == (second, routes.vendors["second"], 100_000)  # 50 s at 0.12
    assert [tuple(row) for row in tried] == [(1, first, "CHANUNAVAIL"), (2, second, "ANSWER")]
    assert tuple(debit) == (-100_000, 4_900_000)
    assert lifecycle.settle(engine, result).new is False  # settled once: no second debit, no second attempts
    with engine.begin() as conn:
        assert conn.execute(select(func.count()).select_from(VendorLedgerEntry)).scalar_one() == 1
        assert conn.execute(select(func.count()).select_from(CallAttempt)).scalar_one() == 2


def test_busy_on_the_first_trunk_is_its_only_attempt(cli, engine, world, tmp_path):
    routes = Routing(cli, engine, tmp_path)
    routes.vendor("first", FLAT.format(price="0.06"))
    routes.vendor("second", FLAT.format(price="0.12"))
    first, _ = routes.trunk("first-1", "first"), routes.trunk("second-1", "second")
    call = call_from(engine, world, UK, now=AT_NINE)
    lifecycle.settle(engine, CallResult(call.session, "BUSY", 0, started_at=AT_NINE, attempts=("BUSY",)))
    with engine.begin() as conn:
        cdr = conn.execute(select(Cdr.id, Cdr.trunk_id, Cdr.buy_cost).where(Cdr.session == call.session)).one()
        tried = conn.execute(select(CallAttempt.trunk_id, CallAttempt.dialstatus)).all()
    assert (cdr.trunk_id, cdr.buy_cost) == (first, 0)
    assert [tuple(row) for row in tried] == [(first, "BUSY")]


def test_a_trunk_at_its_channel_limit_is_skipped_under_twenty_parallel_calls(cli, engine, world, tmp_path):
    routes = Routing(cli, engine, tmp_path)
    routes.vendor("cheap", FLAT.format(price="0.05"))
    routes.vendor("spare", FLAT.format(price="0.20"))
    cheap = routes.trunk("cheap-1", "cheap", channel_limit=5)
    spare = routes.trunk("spare-1", "spare")
    start = threading.Barrier(20)
    calls = []

    def call() -> None:
        start.wait()
        calls.append(call_from(engine, world, UK))

    threads = [threading.Thread(target=call) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert [c.status for c in calls] == [BillStatus.OK] * 20
    with engine.begin() as conn:
        counted = dict(conn.execute(select(Reservation.trunk_id, func.count()).group_by(Reservation.trunk_id)).all())
    assert counted == {cheap: 5, spare: 15}
    assert sum(c.dials[0].endswith("@cheap-1") for c in calls) == 5
    lifecycle.settle(engine, CallResult(calls[0].session, "ANSWER", 1000, attempts=("ANSWER",)))
    after = call_from(engine, world, UK)
    assert after.dials[0].endswith("@cheap-1") is calls[0].dials[0].endswith("@cheap-1")  # a channel freed, or not


def test_an_override_prefix_takes_the_numbers_it_begins(cli, engine, world, tmp_path):
    routes = Routing(cli, engine, tmp_path, policy="priority")
    routes.vendor("anywhere", FLAT.format(price="0.05"))
    routes.vendor("london", FLAT.format(price="0.10"))
    routes.trunk("anywhere-1", "anywhere")
    london = routes.trunk("london-1", "london", priority=2)
    with engine.begin() as conn:  # London numbers go through london-1 alone
        conn.execute(update(RoutingEntry).where(RoutingEntry.trunk_id == london).values(prefix="44207"))
    call = call_from(engine, world, UK, now=AT_NINE)
    assert call.dials == ("PJSIP/442071234567@london-1",)
    other = call_from(engine, world, "00441611234567", now=AT_NINE)
    assert other.dials == ("PJSIP/441611234567@anywhere-1",)


def test_a_trunk_under_the_asr_threshold_is_demoted_then_recovers(cli, engine, world, tmp_path):
    routes = Routing(cli, engine, tmp_path)
    routes.vendor("cheap", FLAT.format(price="0.05"))
    routes.vendor("spare", FLAT.format(price="0.20"))
    cheap, _ = routes.trunk("cheap-1", "cheap"), routes.trunk("spare-1", "spare")
    rule = rules.AsrRule(window=4, threshold=50)
    for status in ("CHANUNAVAIL", "ANSWER", "CONGESTION", "CONGESTION"):
        call = call_from(engine, world, UK)
        lifecycle.settle(engine, CallResult(call.session, status, 0, attempts=(status,)))
    with engine.begin() as conn:
        said = routing.judge_trunks(conn, rule, [cheap], AT_NINE)
    assert said == ["trunk cheap-1 demoted: ASR 25% over its last 4 attempts (under 50%)"]
    found = json.loads(cli("status", "--json", "--timeout", "0.5").stdout)
    why = "ASR 25% over its last 4 attempts (under 50%)"
    assert found["demoted_trunks"] == [{"trunk": "cheap-1", "why": why}]
    assert f"trunk cheap-1 is demoted, tried after the others: {why}" in found["problems"]
    call = call_from(engine, world, UK)
    assert [d.rsplit("@", 1)[1] for d in call.dials] == ["spare-1", "cheap-1"]  # tried last, not dropped
    lifecycle.settle(engine, CallResult(call.session, "ANSWER", 1000, attempts=("CHANUNAVAIL", "ANSWER")))
    for _ in range(2):
        call = call_from(engine, world, UK)
        lifecycle.settle(engine, CallResult(call.session, "ANSWER", 1000, attempts=("CHANUNAVAIL", "ANSWER")))
    with engine.begin() as conn:  # its own last 4: CONGESTION, CONGESTION, ANSWER, ANSWER: 50 %
        assert routing.judge_trunks(conn, rule, [cheap], AT_NINE) == [
            "trunk cheap-1 recovered: tried in its place again"
        ]


def test_weighted_order_follows_the_weights():
    candidates = [
        rules.Candidate(1, "a", 1, "v", "X/${NUMBER}", weight=3, buy=1),
        rules.Candidate(2, "b", 1, "v", "X/${NUMBER}", weight=1, buy=1),
    ]
    draw = random.Random(7)
    firsts = [rules.order("weighted", candidates, 10, draw=draw)[0].candidate.trunk for _ in range(4000)]
    assert 2800 < firsts.count("a") < 3200  # 3 to 1
