"""Company pools on real SQLite and PostgreSQL: extensions and gateways of a company spend its balance, all of them
at once never beyond balance + credit limit, each within its own daily and monthly limits; the CDR names both the
extension that called and the account that paid."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from asteriskbill.billing.authorize import BillStatus
from asteriskbill.billing.settle import CallResult
from asteriskbill.services import calls, lifecycle, slices
from asteriskbill.store.models import Account, Cdr, LedgerEntry, Reservation
from tests.helpers.world import make_world

UK = "00442071234567"  # 0.60/min, 60/6 (tests/helpers/world.py): the first 60 s cost 0.60
T = datetime(2026, 12, 15, 10, 0, tzinfo=UTC)  # the timezone setting is UTC


@pytest.fixture
def world(cli, tmp_path):
    return make_world(cli, tmp_path)


def ids(engine, *names: str) -> list[int]:
    with engine.begin() as conn:
        found = dict(conn.execute(select(Account.name, Account.id).where(Account.name.in_(names))).all())
    return [found[name] for name in names]


def pooled(cli, name: str, *limits: str) -> None:
    cli("accounts", "create", "extension", name, "--parent", "acme", "--pool", "company", *limits)


def call(engine, world, account_id: int, now: datetime = T, slice_seconds: int = 60):
    return lifecycle.authorize(engine, world.settings, account_id, UK, now=now, slice_seconds=slice_seconds)


def settle(engine, session: str, seconds: int, at: datetime = T):
    return lifecycle.settle(engine, CallResult(session, "ANSWER", seconds * 1000, started_at=at))


def test_thirty_parallel_calls_from_ten_extensions_never_exceed_the_company_pool(cli, engine, world):
    cli("accounts", "create", "company", "pool-co", "--tariff", "retail", "--credit-limit", "1")
    cli("accounts", "recharge", "pool-co", "3")  # 3.00 + 1.00 credit: six first minutes at 0.60
    names = [f"pool-co-{n}" for n in range(10)]
    for name in names:
        cli("accounts", "create", "extension", name, "--parent", "pool-co", "--pool", "company")
    members = ids(engine, *names)
    start = threading.Barrier(30)
    answers: list = []

    def place(account_id: int) -> None:
        start.wait()
        answers.append(call(engine, world, account_id))

    threads = [threading.Thread(target=place, args=(members[n % 10],)) for n in range(30)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    granted = [a for a in answers if a.status is BillStatus.OK]
    assert len(answers) == 30 and {a.status for a in answers} == {BillStatus.OK, BillStatus.NO_CREDIT}
    assert len(granted) == 6 and sum(a.amount for a in granted) == 3_600_000  # within 4.00
    (company,) = ids(engine, "pool-co")
    with engine.begin() as conn:
        held = conn.execute(
            select(func.sum(Reservation.amount)).where(Reservation.status == "open", Reservation.payer_id == company)
        ).scalar_one()
    assert held == 3_600_000
    for answer in granted:
        assert settle(engine, answer.session, 60).cost == 600_000
    with engine.begin() as conn:
        balances = dict(conn.execute(select(Account.name, Account.balance).where(Account.name.like("pool-co%"))).all())
        charged = conn.execute(select(func.count()).where(LedgerEntry.account_id == company)).scalar_one()
    assert balances == {"pool-co": 3_000_000 - 3_600_000, **dict.fromkeys(names, 0)}  # -0.60: in its credit
    assert charged == 1 + 6  # the recharge, then each call on the company


def test_a_pooled_extension_spends_its_companys_balance_and_its_cdr_names_both(cli, engine, world):
    cli("accounts", "recharge", "acme", "5")
    pooled(cli, "acme-202")
    extension, company = ids(engine, "acme-202", "acme")
    assert calls.balance(engine, extension).available == 5_000_000  # what the caller hears: the company's
    answer = call(engine, world, extension, slice_seconds=0)  # holds the whole of what the pool pays for
    assert (answer.status, answer.max_seconds, answer.amount) == (BillStatus.OK, 498, 4_980_000)  # 60/6
    assert calls.balance(engine, company).available == 20_000  # the company's own calls see the hold
    settle(engine, answer.session, 90)  # 90 s at 0.60/min, 60/6: 0.90
    with engine.begin() as conn:
        cdr = conn.execute(select(Cdr.account_id, Cdr.payer_id, Cdr.cost).where(Cdr.session == answer.session)).one()
        entry = conn.execute(select(LedgerEntry).where(LedgerEntry.reference == answer.session)).one()
        balances = dict(conn.execute(select(Account.name, Account.balance)).all())
    assert tuple(cdr) == (extension, company, 900_000)
    assert (entry.account_id, entry.amount, entry.note) == (company, -900_000, "442071234567 90 s by acme-202")
    assert (balances["acme"], balances["acme-202"]) == (4_100_000, 0)
    (listed,) = json.loads(cli("cdr", "list", "--since", "2026-12-01", "--json").stdout)
    assert (listed["account"], listed["company"], listed["paid_by"]) == ("acme-202", "acme", "acme")


def test_an_extension_on_its_own_balance_keeps_paying_for_itself(cli, engine, world):
    cli("accounts", "recharge", "acme", "5")
    extension, company = ids(engine, "acme-201", "acme")  # 10.00 of its own
    answer = call(engine, world, extension)
    settle(engine, answer.session, 60)
    with engine.begin() as conn:
        cdr = conn.execute(select(Cdr.account_id, Cdr.payer_id).where(Cdr.session == answer.session)).one()
        balances = dict(conn.execute(select(Account.id, Account.balance)).all())
    assert tuple(cdr) == (extension, extension)
    assert (balances[extension], balances[company]) == (9_400_000, 5_000_000)


def test_a_daily_limit_counts_what_was_spent_today_and_what_open_calls_hold(cli, engine, world):
    cli("accounts", "recharge", "acme", "50")
    pooled(cli, "acme-202", "--daily-limit", "1.50")
    (extension,) = ids(engine, "acme-202")
    first = call(engine, world, extension, slice_seconds=0)  # holds its whole maximum: what 1.50 pays, 150 s
    assert (first.status, first.max_seconds, first.amount) == (BillStatus.OK, 150, 1_500_000)
    assert call(engine, world, extension).status is BillStatus.NO_CREDIT  # the limit is held by the first call
    settle(engine, first.session, 60)  # 0.60 spent today
    second = call(engine, world, extension, slice_seconds=0)
    assert (second.status, second.max_seconds) == (BillStatus.OK, 90)  # 0.90 left today: 90 s
    settle(engine, second.session, 90)
    assert call(engine, world, extension).status is BillStatus.NO_CREDIT  # 1.50 spent
    tomorrow = T + timedelta(days=1)
    assert call(engine, world, extension, now=tomorrow, slice_seconds=0).max_seconds == 150


def test_a_monthly_limit_spans_the_days_of_the_month(cli, engine, world):
    cli("accounts", "recharge", "acme", "50")
    pooled(cli, "acme-202", "--monthly-limit", "1.20")
    (extension,) = ids(engine, "acme-202")
    settle(engine, call(engine, world, extension).session, 60)  # 0.60 on the 15th
    next_day = T + timedelta(days=1)
    answer = call(engine, world, extension, now=next_day, slice_seconds=0)
    assert (answer.status, answer.max_seconds) == (BillStatus.OK, 60)  # 0.60 left this month
    lifecycle.release(engine, answer.session, "test")
    next_month = datetime(2027, 1, 1, 0, 0, 1, tzinfo=UTC)
    assert call(engine, world, extension, now=next_month, slice_seconds=0).max_seconds == 120


def test_a_pooled_call_extends_on_the_pool_within_its_limit(cli, engine, world):
    cli("accounts", "recharge", "acme", "50")
    pooled(cli, "acme-202", "--daily-limit", "1.00")
    (extension,) = ids(engine, "acme-202")
    answer = call(engine, world, extension, now=datetime.now(UTC))  # extend counts from the present day
    assert (answer.max_seconds, answer.held_seconds) == (96, 60)  # 1.00 pays 60 s, then 6 s blocks at 0.06
    assert slices.extend(engine, answer.session, 60) is not None
    with engine.begin() as conn:
        row = conn.execute(select(Reservation).where(Reservation.session == answer.session)).one()
    assert (row.held_seconds, row.amount) == (96, 960_000)
    assert slices.extend(engine, answer.session, 60) is None  # at its maximum


def test_a_company_pool_refuses_an_account_without_a_company_and_limits_without_a_pool(cli, world):
    refused = cli("accounts", "create", "company", "solo", "--tariff", "retail", "--pool", "company", ok=False)
    assert "belongs to no company" in refused.output
    refused = cli("accounts", "create", "extension", "acme-209", "--parent", "acme", "--daily-limit", "5", ok=False)
    assert "spends its own balance" in refused.output and "Traceback" not in refused.output
    shown = cli("accounts", "show", "acme-201", "--json")
    assert '"pool": "own"' in shown.stdout


def test_an_edit_into_the_pool_changes_the_next_call_and_not_the_one_up_now(cli, engine, world):
    cli("accounts", "recharge", "acme", "5")
    extension, company = ids(engine, "acme-201", "acme")  # 10.00 of its own
    before = call(engine, world, extension)
    edited = cli("accounts", "edit", "acme-201", "--pool", "company", "--daily-limit", "2")
    assert "pool own → company" in edited.output and "daily limit none → 2.00" in edited.output
    after = call(engine, world, extension)
    settle(engine, before.session, 60)
    settle(engine, after.session, 60)
    with engine.begin() as conn:
        payers = dict(conn.execute(select(Cdr.session, Cdr.payer_id)).all())
        balances = dict(conn.execute(select(Account.id, Account.balance)).all())
    assert (payers[before.session], payers[after.session]) == (extension, company)
    assert (balances[extension], balances[company]) == (9_400_000, 4_400_000)
    refused = cli("accounts", "edit", "acme-201", "--pool", "own", ok=False)
    assert "spends its own balance" in refused.output
    cli("accounts", "edit", "acme-201", "--pool", "own", "--daily-limit", "")
