"""Service plans on real SQLite and PostgreSQL: a cycle's fee is charged once however often and however concurrently
renewal runs, an account that cannot pay is frozen (or goes into debt) as its plan says and is charged and unfrozen
once it can, postpaid plans charge in arrears, and a plan's tariff rates the calls of an account without its own."""

from __future__ import annotations

import re
import threading
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select, update

from asteriskbill.billing.settle import CallResult
from asteriskbill.errors import UserError
from asteriskbill.money import parse_amount as m
from asteriskbill.services import account_edits, accounts, audit, lifecycle, plan_renewals, plans
from asteriskbill.store.models import Account, LedgerEntry, PlanRenewal
from tests.helpers.world import extension_account_id, make_world

UTC_ZONE = ZoneInfo("UTC")
DEC_15 = datetime(2026, 12, 15, 10, 0, tzinfo=UTC)
DEC_31 = datetime(2026, 12, 31, 23, 59, tzinfo=UTC)
JAN_2 = datetime(2027, 1, 2, 10, 0, tzinfo=UTC)
UK = "00442071234567"  # retail: 0.60/min, 60/6 (tests/helpers/world.py)


@pytest.fixture
def world(cli, tmp_path):
    """make_world's acme-201 (balance 10.00) and plan basic: 4.00 a month, prepaid, suspend, tariff retail."""
    found = make_world(cli, tmp_path)
    cli("plans", "add", "basic", "--tariff", "retail", "--fee", "4")
    return found


def renew(engine, now=DEC_15, zone=UTC_ZONE):
    return [(r.account, r.cycle, r.outcome) for r in plan_renewals.renew(engine, zone, now, operator="cron")]


def fees(engine, account: str = "acme-201") -> list[tuple[int, int, str]]:
    """(amount, balance_after, reference) of the account's plan fees, oldest first."""
    with engine.begin() as conn:
        query = (
            select(LedgerEntry.amount, LedgerEntry.balance_after, LedgerEntry.reference)
            .join(Account, Account.id == LedgerEntry.account_id)
            .where(Account.name == account, LedgerEntry.kind == "plan_fee")
            .order_by(LedgerEntry.id)
        )
        return [tuple(row) for row in conn.execute(query)]


def rows(engine) -> list[tuple]:
    with engine.begin() as conn:
        query = select(
            Account.name, PlanRenewal.cycle_start, PlanRenewal.fee, PlanRenewal.outcome, PlanRenewal.ledger_entry_id
        ).join(Account, Account.id == PlanRenewal.account_id)
        return sorted(tuple(row) for row in conn.execute(query))


def test_a_plan_renewed_twice_in_one_cycle_charges_once(world, cli, engine):
    cli("accounts", "edit", "acme-201", "--plan", "basic")
    assert renew(engine) == [("acme-201", "2026-12", "charged")]
    assert renew(engine) == []
    assert renew(engine, DEC_31) == []  # still December
    assert fees(engine) == [(-m("4"), m("6"), "2026-12")]
    assert renew(engine, JAN_2) == [("acme-201", "2027-01", "charged")]
    assert renew(engine, JAN_2) == []
    assert fees(engine) == [(-m("4"), m("6"), "2026-12"), (-m("4"), m("2"), "2027-01")]
    [december, january] = rows(engine)
    assert december[1:4] == (date(2026, 12, 1), m("4"), "charged") and december[4] is not None
    assert january[1:4] == (date(2027, 1, 1), m("4"), "charged")
    renewals = [e for e in audit.entries(engine) if e.action == "plan.renew"]
    assert [(e.operator, e.subject, e.detail["cycle"]) for e in renewals] == [
        ("cron", "acme-201", "2026-12"),
        ("cron", "acme-201", "2027-01"),
    ]


def test_the_cycle_is_the_one_of_the_timezone_setting(world, cli, engine):
    """22:30 UTC on 30 November is 00:30 on 1 December in Sofia: December's fee, not November's."""
    cli("accounts", "edit", "acme-201", "--plan", "basic")
    late = datetime(2026, 11, 30, 22, 30, tzinfo=UTC)
    assert renew(engine, late, ZoneInfo("Europe/Sofia")) == [("acme-201", "2026-12", "charged")]
    assert renew(engine, DEC_15, ZoneInfo("Europe/Sofia")) == []
    assert rows(engine)[0][1] == date(2026, 12, 1)


def test_an_account_that_cannot_pay_is_frozen_then_charged_and_unfrozen_once_recharged(world, cli, engine):
    cli("plans", "add", "gold", "--tariff", "retail", "--fee", "25")
    cli("accounts", "edit", "acme-201", "--plan", "gold")
    assert renew(engine) == [("acme-201", "2026-12", "suspended")]
    account = accounts.show(engine, "acme-201")
    assert (account.status, account.balance) == ("frozen", m("10"))  # frozen, nothing charged
    assert rows(engine) == [("acme-201", date(2026, 12, 1), 0, "suspended", None)]
    [freeze] = [e for e in audit.entries(engine) if e.action == "account.freeze"]
    assert (freeze.operator, freeze.detail) == (
        "cron",
        {"status": "frozen", "reason": "plan gold: the fee of 2026-12 was not paid"},
    )
    assert renew(engine) == []  # still short: nothing changes, nothing is recorded again
    shown = " ".join(cli("accounts", "show", "acme-201").stdout.split())
    assert "last_renewal: 2026-12: suspended, fee 25.00 USD not paid" in shown
    assert "its plan's fee not paid" in shown
    cli("accounts", "recharge", "acme-201", "15")
    done = plan_renewals.renew(engine, UTC_ZONE, DEC_15)
    assert [r.line for r in done] == ["acme-201: plan gold, 2026-12: charged 25.00 USD, balance 0.00 USD, unfrozen"]
    assert accounts.show(engine, "acme-201").status == "active"
    assert fees(engine) == [(-m("25"), 0, "2026-12")]
    [(_, _, fee, outcome, entry)] = rows(engine)
    assert (fee, outcome) == (m("25"), "charged") and entry is not None
    assert renew(engine) == []


def test_an_account_unfrozen_by_hand_is_not_frozen_again_in_that_cycle(world, cli, engine):
    cli("plans", "add", "gold", "--tariff", "retail", "--fee", "25")
    cli("accounts", "edit", "acme-201", "--plan", "gold")
    renew(engine)
    cli("accounts", "unfreeze", "acme-201")
    assert renew(engine) == []
    assert accounts.show(engine, "acme-201").status == "active"
    assert renew(engine, JAN_2) == [("acme-201", "2027-01", "suspended")]  # the next cycle is a new one
    assert accounts.show(engine, "acme-201").status == "frozen"


def test_an_account_frozen_by_an_operator_pays_but_stays_frozen(world, cli, engine):
    cli("accounts", "freeze", "acme-201")
    cli("accounts", "edit", "acme-201", "--plan", "basic")
    assert renew(engine) == [("acme-201", "2026-12", "charged")]
    assert accounts.show(engine, "acme-201").status == "frozen"


def test_allow_debt_charges_below_the_credit_limit(world, cli, engine):
    cli("plans", "add", "business", "--tariff", "retail", "--fee", "25", "--on-failure", "allow-debt")
    cli("accounts", "edit", "acme-201", "--plan", "business", "--credit-limit", "5")
    done = plan_renewals.renew(engine, UTC_ZONE, DEC_15)
    line = "acme-201: plan business, 2026-12: charged 25.00 USD into debt, balance -15.00 USD"
    assert [r.line for r in done] == [line]
    assert accounts.show(engine, "acme-201").status == "active"
    assert rows(engine)[0][2:4] == (m("25"), "debt")
    assert renew(engine) == []


def test_money_held_by_calls_up_now_is_not_there_to_pay_the_fee(world, cli, engine, settings):
    cli("plans", "add", "nine", "--tariff", "retail", "--fee", "9")
    cli("accounts", "edit", "acme-201", "--plan", "nine")
    call = lifecycle.authorize(engine, settings, extension_account_id(engine, "201"), UK)
    assert call.status.value == "OK" and call.amount > m("1")  # of its 10.00
    assert renew(engine) == [("acme-201", "2026-12", "suspended")]
    lifecycle.settle(engine, CallResult(call.session, "ANSWER", 6_000))  # its first minute, 0.60: 9.40 left
    assert renew(engine) == [("acme-201", "2026-12", "charged")]


def test_postpaid_charges_each_cycle_once_it_has_ended(world, cli, engine):
    cli("plans", "add", "after", "--tariff", "retail", "--fee", "3", "--billing", "postpaid", "--cycle", "weekly")
    cli("accounts", "edit", "acme-201", "--plan", "after")
    with engine.begin() as conn:  # put on the plan on Tuesday 15 December
        conn.execute(update(Account).where(Account.name == "acme-201").values(plan_since=DEC_15))
    assert renew(engine, DEC_15) == []  # the week before: it was not on the plan
    assert renew(engine, datetime(2026, 12, 20, 23, 0, tzinfo=UTC)) == []  # its first week has not ended
    monday = datetime(2026, 12, 21, 0, 0, 1, tzinfo=UTC)
    assert renew(engine, monday) == [("acme-201", "week of 2026-12-14", "charged")]
    assert renew(engine, monday) == []
    assert fees(engine) == [(-m("3"), m("7"), "week of 2026-12-14")]


def test_concurrent_renewals_charge_each_account_once(world, cli, engine):
    """Four renewals at once over twelve accounts: each account's fee once, its row once, its audit entry once."""
    names = [f"acme-3{n:02d}" for n in range(12)]
    for name in names:
        cli("accounts", "create", "extension", name, "--parent", "acme", "--plan", "basic")
        cli("accounts", "recharge", name, "5")
    start = threading.Barrier(4)
    done: list[list[str]] = []
    failures: list[BaseException] = []

    def run() -> None:
        try:
            start.wait()
            done.append([r.account for r in plan_renewals.renew(engine, UTC_ZONE, DEC_15)])
        except BaseException as exc:  # reported by the test's thread below
            failures.append(exc)

    threads = [threading.Thread(target=run) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not failures, failures
    assert sorted(name for renewed in done for name in renewed) == names  # each by exactly one of the four
    for name in names:
        assert fees(engine, name) == [(-m("4"), m("1"), "2026-12")]
    assert len(rows(engine)) == len(names)
    assert len([e for e in audit.entries(engine) if e.action == "plan.renew"]) == len(names)


def test_a_plans_tariff_rates_an_account_without_its_own(world, cli, engine, settings, tmp_path):
    """Own tariff > its plan's > its company's, for authorization and for what the operator is shown."""
    (tmp_path / "cheap.csv").write_text("prefix,destination,price,increments\n44,UK,0.06,60/6\n")
    cli("tariff", "create", "cheap", "--currency", "USD")
    cli("rates", "import", "cheap", tmp_path / "cheap.csv")
    cli("plans", "add", "cheap-calls", "--tariff", "cheap", "--fee", "1")
    account_id = extension_account_id(engine, "201")

    def one_minute() -> int:
        call = lifecycle.authorize(engine, settings, account_id, UK)
        assert call.status.value == "OK", call.reason
        return lifecycle.settle(engine, CallResult(call.session, "ANSWER", 60_000)).cost

    assert one_minute() == m("0.60")  # its company's retail
    cli("accounts", "edit", "acme-201", "--plan", "cheap-calls")
    assert accounts.show(engine, "acme-201").effective_tariff == "cheap"
    assert one_minute() == m("0.06")  # its plan's
    cli("accounts", "edit", "acme-201", "--tariff", "retail")
    assert one_minute() == m("0.60")  # its own
    cli("accounts", "edit", "acme-201", "--tariff", "", "--plan", "")
    assert accounts.show(engine, "acme-201").effective_tariff == "retail"


def test_what_goes_on_a_plan_is_checked(world, cli, engine, snapshot):
    cli("tariff", "create", "euro", "--currency", "EUR")
    cli("plans", "add", "euro-plan", "--tariff", "euro", "--fee", "1")
    cli("accounts", "create", "extension", "booth-1", "--tariff", "retail", "--extension", "301", "--booth")
    before = snapshot()
    refusals = {
        ("acme-201", "euro-plan"): "plan euro-plan is in EUR (tariff euro), account acme-201 is in USD",
        ("acme-201", "nope"): "no plan named 'nope'",
        ("booth-1", "basic"): "booth booth-1 cannot go on a plan",
    }
    for (name, plan), message in refusals.items():
        with pytest.raises(UserError, match=re.escape(message)):
            account_edits.edit(engine, "adam", name, {"plan": plan})
    with pytest.raises(UserError, match="an account goes on a plan in its own currency"):
        accounts.create(engine, "adam", accounts.NewAccount("extension", "x1", parent="acme", plan="euro-plan"))
    with pytest.raises(UserError, match="tariff euro is in EUR, plan basic in USD"):
        plans.edit_plan(engine, "adam", "basic", tariff="euro")
    with pytest.raises(UserError, match="nothing to change for plan basic"):
        plans.edit_plan(engine, "adam", "basic", fee=m("4"), cycle="monthly")
    assert snapshot() == before
    # a plan alone gives an account its tariff and currency
    alone = accounts.create(engine, "adam", accounts.NewAccount("extension", "solo", extension="777", plan="euro-plan"))
    assert (alone.currency, alone.effective_tariff, alone.plan) == ("EUR", "euro", "euro-plan")
    with pytest.raises(UserError, match="needs a tariff"):
        account_edits.edit(engine, "adam", "solo", {"plan": None})


def test_a_company_keeps_its_tariff_while_its_accounts_use_it_but_not_for_those_on_a_plan(world, cli, engine):
    cli("accounts", "edit", "acme-201", "--plan", "basic")
    assert account_edits.edit(engine, "adam", "acme", {"tariff": None}).tariff is None
    with pytest.raises(UserError, match="needs a tariff: its own, or its company's"):
        account_edits.edit(engine, "adam", "acme-201", {"plan": None})
