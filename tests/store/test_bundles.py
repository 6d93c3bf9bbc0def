"""Bundles of minutes on real SQLite and PostgreSQL: a plan's minutes refilled once a cycle, used before money by the
calls they cover, in the one formula that gives a call its maximum duration; parallel calls never spend the same
seconds twice; a settled call shows the bundle seconds and the money it took."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from asteriskbill.billing.authorize import BillStatus
from asteriskbill.billing.settle import CallResult
from asteriskbill.money import format_amount
from asteriskbill.services import lifecycle, plan_renewals, slices
from asteriskbill.store.models import Account, AccountBundle, Cdr, LedgerEntry, Reservation
from tests.helpers.world import extension_account_id, make_world

UK, USA = "00442071234567", "0015551234"  # retail: UK 0.60/min 60/6, USA 0.10/min 1/1 (tests/helpers/world.py)
DEC_15 = datetime(2026, 12, 15, 10, 0, tzinfo=UTC)
DEC_20 = datetime(2026, 12, 20, 10, 0, tzinfo=UTC)
JAN_2 = datetime(2027, 1, 2, 10, 0, tzinfo=UTC)


def on_plan(cli, engine, fee: str, bundles: str, now: datetime = DEC_15) -> int:
    """acme-201 (10.00) on plan `uk`: ``fee`` a month, prepaid, with ``bundles``; renewed at ``now``."""
    cli("plans", "add", "uk", "--tariff", "retail", "--fee", fee, "--bundle", bundles)
    cli("accounts", "edit", "acme-201", "--plan", "uk")
    plan_renewals.renew(engine, ZoneInfo("UTC"), now)
    return extension_account_id(engine, "201")


@pytest.fixture
def world(cli, tmp_path):
    return make_world(cli, tmp_path)


def left(engine) -> list[int]:
    with engine.begin() as conn:
        return list(conn.execute(select(AccountBundle.left).order_by(AccountBundle.position)).scalars())


def call(engine, world, account: int, number: str = UK, now: datetime = DEC_15, slice_seconds: int = 0):
    return lifecycle.authorize(engine, world.settings, account, number, now=now, slice_seconds=slice_seconds)


def test_a_call_partly_covered_is_priced_bundle_first_and_its_maximum_is_exact(cli, engine, world):
    account = on_plan(cli, engine, "1", "2min:44")  # 9.00 left after the fee, 120 s of UK
    assert left(engine) == [120]
    answer = call(engine, world, account)
    # the bundle pays cost(120) = 1.20, so 9.00 + 1.20 pays 60 s + 160 blocks of 6 s: 1020 s, 9.00 of it money
    assert (answer.status, answer.max_seconds, answer.amount) == (BillStatus.OK, 1020, 9_000_000)
    with engine.begin() as conn:
        held = conn.execute(select(Reservation.bundle_seconds).where(Reservation.session == answer.session)).one()
    assert held == (120,)
    settled = lifecycle.settle(engine, CallResult(answer.session, "ANSWER", 200_000, started_at=DEC_15))
    assert settled.cost == 840_000  # cost(200) 2.04 - cost(120) 1.20
    with engine.begin() as conn:
        cdr = conn.execute(select(Cdr.cost, Cdr.bundle_seconds).where(Cdr.session == answer.session)).one()
        charged = conn.execute(select(LedgerEntry.amount).where(LedgerEntry.reference == answer.session)).scalar_one()
    assert (tuple(cdr), charged, left(engine)) == ((840_000, 120), -840_000, [0])
    (listed,) = json.loads(cli("cdr", "list", "--since", "2026-12-01", "--json").output)
    assert (listed["cost"], listed["bundle_seconds"]) == ("0.84", 120)
    assert json.loads(cli("plans", "bundles", "acme-201", "--json").output) == [
        {"bundle": "2min:44", "cycle_start": "2026-12-01", "unit": "seconds", "size": 120, "left": 0}
    ]
    after = call(engine, world, account)  # the bundle is spent: money only, 8.16 pays 60 s + 126 blocks
    assert (after.max_seconds, after.amount) == (816, 8_160_000)


def test_a_bundle_covers_only_its_destinations(cli, engine, world):
    account = on_plan(cli, engine, "1", "2min:44")
    answer = call(engine, world, account, USA)
    assert (answer.max_seconds, answer.amount) == (5400, 9_000_000)  # 9.00 at 0.10/min: money only
    lifecycle.settle(engine, CallResult(answer.session, "ANSWER", 60_000, started_at=DEC_15))
    assert left(engine) == [120]


def test_parallel_calls_never_spend_the_same_bundle_seconds_twice(cli, engine, world):
    account = on_plan(cli, engine, "10", "10min:44")  # no money left: 600 s of bundle only
    start = threading.Barrier(20)
    answers: list = []

    def place() -> None:
        start.wait()
        answers.append(call(engine, world, account, slice_seconds=60))

    threads = [threading.Thread(target=place) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    granted = [a for a in answers if a.status is BillStatus.OK]
    assert len(granted) == 10 and {a.amount for a in granted} == {0}  # 60 s each, all bundle
    with engine.begin() as conn:
        held = conn.execute(select(func.sum(Reservation.bundle_seconds)).where(Reservation.status == "open"))
        assert held.scalar_one() == 600
    for answer in granted:
        lifecycle.settle(engine, CallResult(answer.session, "ANSWER", 45_000, started_at=DEC_15))
    assert left(engine) == [0]  # each used a whole first block of 60 s


def test_slices_extend_on_the_bundle_then_the_money(cli, engine, world):
    account = on_plan(cli, engine, "9.40", "2min:44", now=datetime.now(UTC))  # 0.60 of money: one block more
    answer = call(engine, world, account, now=datetime.now(UTC), slice_seconds=60)
    assert (answer.max_seconds, answer.held_seconds, answer.amount) == (180, 60, 0)
    assert slices.extend(engine, answer.session, 60) is not None
    assert slices.extend(engine, answer.session, 60) is not None
    with engine.begin() as conn:
        row = conn.execute(select(Reservation).where(Reservation.session == answer.session)).one()
    assert (row.held_seconds, row.bundle_seconds, row.amount) == (180, 120, 600_000)
    assert slices.extend(engine, answer.session, 60) is None


def test_bundles_are_refilled_once_a_cycle_and_not_while_suspended(cli, engine, world):
    account = on_plan(cli, engine, "4", "2min:44;1min")
    assert left(engine) == [120, 60]
    answer = call(engine, world, account)
    lifecycle.settle(engine, CallResult(answer.session, "ANSWER", 30_000, started_at=DEC_15))
    plan_renewals.renew(engine, ZoneInfo("UTC"), DEC_20)
    assert left(engine) == [60, 60]  # the same cycle: not refilled again
    plan_renewals.renew(engine, ZoneInfo("UTC"), JAN_2)  # 6.00 - 4.00
    assert left(engine) == [120, 60]
    with engine.begin() as conn:
        balance = conn.execute(select(Account.balance).where(Account.id == account)).scalar_one()
    cli("accounts", "adjust", "acme-201", f"-{format_amount(balance)}", "--note", "spent elsewhere")
    plan_renewals.renew(engine, ZoneInfo("UTC"), datetime(2027, 2, 2, tzinfo=UTC))  # cannot pay: suspended
    assert left(engine) == [120, 60]  # still January's: nothing given for February
    with engine.begin() as conn:
        cycles = set(conn.execute(select(AccountBundle.cycle_start)).scalars())
    assert {str(cycle) for cycle in cycles} == {"2027-01-01"}


def test_a_plan_with_bundles_it_cannot_read_is_refused_in_one_line(cli, world):
    refused = cli("plans", "add", "bad", "--tariff", "retail", "--fee", "1", "--bundle", "60min:44,mobile", ok=False)
    assert "'mobile' is neither a number prefix" in refused.output and "Traceback" not in refused.output
    cli("plans", "add", "good", "--tariff", "retail", "--fee", "1", "--bundle", "60min:44,49; 100min:local")
    assert '"bundles": "60min:44,49;100min:local"' in cli("plans", "show", "good", "--json").output


def test_a_money_bundle_pays_the_first_of_what_its_calls_cost(cli, engine, world):
    account = on_plan(cli, engine, "1", "1.00:44")  # 9.00 of balance, 1.00 of UK calls
    answer = call(engine, world, account)
    # 9.00 + 1.00 pay 60 s and 156 blocks of 6 s: 996 s, costing 9.96, of which the balance pays 8.96
    assert (answer.max_seconds, answer.amount) == (996, 8_960_000)
    settled = lifecycle.settle(engine, CallResult(answer.session, "ANSWER", 100_000, started_at=DEC_15))
    assert settled.cost == 20_000  # cost(100) 1.02, of which the bundle pays 1.00
    with engine.begin() as conn:
        cdr = conn.execute(select(Cdr.cost, Cdr.bundle_seconds, Cdr.bundle_amount)).one()
    assert (tuple(cdr), left(engine)) == ((20_000, 0, 1_000_000), [0])
    assert json.loads(cli("plans", "bundles", "acme-201", "--json").output)[0]["left"] == "0.00"


def test_a_pooled_extension_uses_its_companys_bundles_and_its_own_plan_is_paid_by_the_pool(cli, engine, world):
    cli("accounts", "recharge", "acme", "5")
    cli("plans", "add", "uk", "--tariff", "retail", "--fee", "1", "--bundle", "2min:44")
    cli("accounts", "edit", "acme", "--plan", "uk")
    cli("accounts", "create", "extension", "acme-202", "--parent", "acme", "--extension", "202", "--pool", "company")
    cli("plans", "add", "desk", "--tariff", "retail", "--fee", "0.50")
    cli("accounts", "edit", "acme-202", "--plan", "desk")
    plan_renewals.renew(engine, ZoneInfo("UTC"), DEC_15)
    with engine.begin() as conn:
        balances = dict(conn.execute(select(Account.name, Account.balance)).all())
        note = conn.execute(select(LedgerEntry.note).where(LedgerEntry.amount == -500_000)).scalar_one()
    assert (balances["acme"], balances["acme-202"]) == (3_500_000, 0)  # both fees from the company's 5.00
    assert note == "plan desk: fee of 2026-12 (prepaid) for acme-202"
    answer = call(engine, world, extension_account_id(engine, "202"), slice_seconds=60)
    assert (answer.amount, answer.held_seconds) == (0, 60)  # the company's bundle pays the first minute
    lifecycle.settle(engine, CallResult(answer.session, "ANSWER", 60_000, started_at=DEC_15))
    assert left(engine) == [60]
