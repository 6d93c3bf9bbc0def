"""`asteriskbill plans ...` through the real command, on every backend: add, list, show, edit, renew; two `plans
renew` processes at once charge each account once; `serve` renews by itself and says so in its log."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select, text, update

from asteriskbill.billing import plans as rules
from asteriskbill.services import audit
from asteriskbill.store.models import Account, LedgerEntry, Plan, PlanRenewal
from tests.cli.test_accounts_edit import fields
from tests.cli.test_vendors import one_line_error
from tests.helpers.serve import serving
from tests.helpers.waiting import wait_for


@pytest.fixture
def shop(cli):
    """Tariffs retail (USD) and euro (EUR); company acme on retail with extension acme-0001 (balance 10.00)."""
    cli("tariff", "create", "retail", "--currency", "USD")
    cli("tariff", "create", "euro", "--currency", "EUR")
    cli("accounts", "create", "company", "acme", "--tariff", "retail")
    cli("accounts", "create", "extension", "acme-0001", "--parent", "acme", "--extension", "0001")
    cli("accounts", "recharge", "acme-0001", "10")
    return cli


def this_month() -> str:
    return rules.cycle_at(rules.MONTHLY, datetime.now(UTC), ZoneInfo("UTC")).label


def test_add_list_show_edit(shop, engine):
    added = shop("plans", "add", "basic", "--tariff", "retail", "--fee", "9.99")
    assert added.stdout == "plan basic added: 9.99 USD monthly, prepaid, suspend (tariff retail)\n"
    shop("plans", "add", "daily", "--tariff", "euro", "--fee", "0.5", "--cycle", "daily", "--billing", "postpaid")
    shop("accounts", "edit", "acme-0001", "--plan", "basic")
    listed = json.loads(shop("plans", "list", "--json").stdout)
    assert [(p["name"], p["fee"], p["currency"], p["cycle"], p["billing"], p["accounts"]) for p in listed] == [
        ("basic", "9.99", "USD", "monthly", "prepaid", ["acme-0001"]),
        ("daily", "0.50", "EUR", "daily", "postpaid", []),
    ]
    table = shop("plans", "list").stdout.splitlines()
    assert table[0].split() == ["name", "tariff", "fee", "cycle", "billing", "on_failure", "bundles", "accounts"]
    assert table[1].split() == ["basic", "retail", "9.99", "USD", "monthly", "prepaid", "suspend", "1"]
    edited = shop("plans", "edit", "basic", "--fee", "12.50", "--on-failure", "allow-debt", "--cycle", "weekly")
    assert edited.stdout == "plan basic changed: 12.50 USD weekly, prepaid, allow-debt (tariff retail)\n"
    shown = fields(shop("plans", "show", "basic").stdout)
    assert (shown["fee"], shown["cycle"], shown["accounts"]) == ("12.50 USD", "weekly", "acme-0001")
    changes = [(e.action, e.subject, e.detail) for e in audit.entries(engine) if e.action.startswith("plan.")]
    assert changes[-1] == (
        "plan.edit",
        "basic",
        {"cycle": "monthly → weekly", "fee": "9.99 → 12.50", "on_failure": "suspend → allow-debt"},
    )
    assert [action for action, _, _ in changes] == ["plan.add", "plan.add", "plan.edit"]


def test_refusals_are_one_line_and_change_nothing(shop, snapshot):
    shop("plans", "add", "basic", "--tariff", "retail", "--fee", "5")
    shop("vendors", "add", "carrier1", "--currency", "USD")
    before = snapshot()
    refusals = [
        (("add", "basic", "--tariff", "retail", "--fee", "5"), "plan 'basic' exists already"),
        (("add", "other", "--tariff", "nope", "--fee", "5"), "nope"),
        (("add", "other", "--tariff", "vendor:carrier1", "--fee", "5"), "is the rates of vendor carrier1"),
        (("add", " other", "--tariff", "retail", "--fee", "5"), "without spaces around"),
        (("show", "nope"), "no plan named 'nope' (see `asteriskbill plans list`)"),
        (("edit", "basic", "--tariff", "euro"), "tariff euro is in EUR, plan basic in USD"),
        (("edit", "basic", "--fee", "5"), "nothing to change for plan basic"),
    ]
    for args, message in refusals:
        assert message in one_line_error(shop("plans", *args, ok=False))
    for args, message in [
        (("add", "x", "--tariff", "retail", "--fee", "-1"), "must not be negative"),
        (("add", "x", "--tariff", "retail", "--fee", "1", "--cycle", "yearly"), "'yearly' is not one of"),
        (("add", "x", "--tariff", "retail"), "Missing option '--fee'"),
    ]:
        result = shop("plans", *args, ok=False)
        assert result.exit_code == 2 and message in result.output
    assert snapshot() == before


def test_renew_charges_once_and_says_what_it_did(shop, engine):
    shop("plans", "add", "basic", "--tariff", "retail", "--fee", "4")
    shop("plans", "add", "gold", "--tariff", "retail", "--fee", "40")
    shop("accounts", "create", "extension", "acme-0002", "--parent", "acme", "--plan", "gold")
    shop("accounts", "edit", "acme-0001", "--plan", "basic")
    month = this_month()
    assert shop("plans", "renew").stdout == (
        f"acme-0001: plan basic, {month}: charged 4.00 USD, balance 6.00 USD\n"
        f"acme-0002: plan gold, {month}: fee 40.00 USD not paid (balance 0.00 USD): frozen\n"
        "renewed 2 accounts: 1 charged, 1 suspended\n"
    )
    assert shop("plans", "renew").stdout == "nothing to renew\n"
    assert json.loads(shop("plans", "renew", "--json").stdout) == []
    shown = fields(shop("accounts", "show", "acme-0002").stdout)
    assert shown["status"] == "frozen" and "its plan's fee not paid" in shown["reason"]
    history = json.loads(shop("accounts", "history", "acme-0001", "--json").stdout)["entries"]
    assert (history[0]["kind"], history[0]["amount"], history[0]["reference"]) == ("plan_fee", "-4.00", month)
    renewals = json.loads(shop("plans", "show", "gold", "--json").stdout)["renewals"]
    assert [(r["account"], r["outcome"], r["fee"]) for r in renewals] == [("acme-0002", "suspended", "0.00")]


def test_two_renewals_at_once_charge_each_account_once(shop, engine, db_url, tmp_path):
    """Two `plans renew` processes started together over 200 accounts: each account is renewed by one of them."""
    shop("plans", "add", "debt", "--tariff", "retail", "--fee", "1", "--on-failure", "allow-debt")
    names = [f"acme-1{n:03d}" for n in range(200)]
    (tmp_path / "many.csv").write_text("kind,name,parent\n" + "".join(f"extension,{n},acme\n" for n in names))
    shop("accounts", "import", tmp_path / "many.csv")
    with engine.begin() as conn:  # what `accounts edit --plan` writes, for all of them at once
        plan_id = conn.execute(select(Plan.id).where(Plan.name == "debt")).scalar_one()
        conn.execute(update(Account).where(Account.name.in_(names)).values(plan_id=plan_id))
    command = [sys.executable, "-m", "asteriskbill.cli", "--db", db_url, "plans", "renew"]
    with _held_first(engine, names[0]):  # on PostgreSQL both wait on the first account, then race through the rest
        both = [subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(2)]
    outputs = [process.communicate(timeout=120) for process in both]
    assert [process.returncode for process in both] == [0, 0], outputs
    renewed = [line.split(":")[0] for out, _ in outputs for line in out.splitlines() if line.startswith("acme-")]
    assert sorted(renewed) == names, outputs
    with engine.begin() as conn:
        fees = conn.execute(
            select(Account.name, func.count())
            .join(LedgerEntry, LedgerEntry.account_id == Account.id)
            .where(LedgerEntry.kind == "plan_fee")
            .group_by(Account.name)
        ).all()
        assert conn.execute(select(func.count()).select_from(PlanRenewal)).scalar_one() == len(names)
    assert sorted(fees) == [(name, 1) for name in names]


@contextmanager
def _held_first(engine, name: str) -> Iterator[None]:
    """On PostgreSQL, account ``name``'s row locked until two renewals wait on it, so they race through the rest.
    SQLite's two processes usually overlap by themselves (tests/store/test_plans.py races threads on both)."""
    if engine.dialect.name != "postgresql":
        yield
        return
    waiting = text(
        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'"
    )
    with engine.connect() as holder:
        holder.execute(select(Account.id).where(Account.name == name).with_for_update())
        yield
        wait_for(lambda: _scalar(engine, waiting) == 2, "both renewals to wait on the first account")
        holder.rollback()


def _scalar(engine, query):
    with engine.connect() as conn:  # a transaction of its own: pg_stat_activity is read once per transaction
        return conn.execute(query).scalar_one()


def test_serve_renews_by_itself_and_logs_it(shop, engine, db_url, tmp_path):
    """`serve` renews at its start (then every minute): one log line per account, and a clean stop, with the trunk
    judging job running too."""
    shop("plans", "add", "basic", "--tariff", "retail", "--fee", "4")
    shop("accounts", "edit", "acme-0001", "--plan", "basic")
    log = tmp_path / "serve.log"

    def charged() -> bool:
        with engine.begin() as conn:
            return conn.execute(select(PlanRenewal.id)).first() is not None

    with serving(db_url, log, trunk_asr_threshold="50"):
        wait_for(charged, "serve to renew the plan")
        wait_for(lambda: "plan renewal:" in log.read_text(), "serve to log the renewal")
    line = re.search(r"INFO asteriskbill\.serve: plan renewal: (.*)", log.read_text())
    assert line is not None and line[1] == f"acme-0001: plan basic, {this_month()}: charged 4.00 USD, balance 6.00 USD"
