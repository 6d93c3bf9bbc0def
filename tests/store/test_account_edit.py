"""Editing an account (services/account_edits.py) on every backend: the rules of a new account, one audit entry
with old → new for each field changed, the balance never touched, and a refusal changes nothing."""

from __future__ import annotations

import pytest

from asteriskbill.billing.settle import CallResult
from asteriskbill.errors import UserError
from asteriskbill.money import parse_amount as m
from asteriskbill.services import account_edits, accounts, audit, lifecycle
from tests.helpers.world import extension_account_id, make_world

UK = "00442071234567"  # retail (tests/helpers/world.py): 0.60 a minute


@pytest.fixture
def acme(cli, engine):
    """Company acme on tariff retail (USD) with extensions acme-0001 (ext 0001, balance 10.00), acme-0002
    (ext 0002) and acme-0003 (ext 0003, accountcode A3); tariffs wholesale (USD) and euro (EUR)."""
    cli("tariff", "create", "retail", "--currency", "USD")
    cli("tariff", "create", "wholesale", "--currency", "USD")
    cli("tariff", "create", "euro", "--currency", "EUR")
    cli("accounts", "create", "company", "acme", "--tariff", "retail")
    cli("accounts", "create", "extension", "acme-0001", "--parent", "acme", "--extension", "0001")
    cli("accounts", "create", "extension", "acme-0002", "--parent", "acme", "--extension", "0002")
    cli("accounts", "recharge", "acme-0001", "10")
    with_code = accounts.NewAccount("extension", "acme-0003", parent="acme", extension="0003", accountcode="A3")
    accounts.create(engine, "tester", with_code)
    return cli


def edits(engine) -> list[audit.Audit]:
    return [e for e in audit.entries(engine) if e.action == "account.edit"]


def test_edit_changes_what_was_asked_and_audits_old_to_new(acme, engine):
    after = account_edits.edit(
        engine,
        "adam",
        "acme-0001",
        {"credit_limit": m("50"), "max_calls": 3, "tariff": "wholesale", "extension": "0001", "booth": False},
    )
    assert (after.credit_limit, after.max_calls, after.tariff, after.extension) == (m("50"), 3, "wholesale", "0001")
    assert after.balance == m("10")  # never touched
    [entry] = edits(engine)
    assert (entry.operator, entry.subject) == ("adam", "acme-0001")
    assert entry.detail == {"credit_limit": "0.00 → 50.00", "max_calls": "none → 3", "tariff": "none → wholesale"}


def test_edit_with_nothing_changed_records_nothing(acme, engine):
    before = accounts.show(engine, "acme-0001")
    assert account_edits.edit(engine, "adam", "acme-0001", {"extension": " 0001 ", "tariff": ""}) == before
    assert edits(engine) == []


def test_clearing_a_value_returns_to_none(acme, engine):
    after = account_edits.edit(engine, "adam", "acme-0003", {"accountcode": "", "extension": "0333"})
    assert (after.accountcode, after.extension) == (None, "0333")
    assert edits(engine)[0].detail == {"accountcode": "A3 → none", "extension": "0003 → 0333"}


@pytest.mark.parametrize(
    ("name", "changes", "message"),
    [
        ("acme-0001", {"extension": "0002"}, "extension 0002 exists already (account acme-0002)"),
        ("acme-0001", {"accountcode": "A3"}, "accountcode A3 exists already (account acme-0003)"),
        ("acme-0001", {"tariff": "euro"}, "tariff euro is in EUR, account acme-0001 is in USD"),
        ("acme-0001", {"tariff": "nope"}, "nope"),
        ("acme", {"tariff": "wholesale", "accountcode": "A3"}, "accountcode A3 exists already"),
        ("acme", {"extension": "77"}, "an extension number is for extension accounts only"),
        ("acme", {"booth": True}, "extension accounts"),
        ("acme-0001", {"credit_limit": -1}, "a credit limit must not be negative"),
        ("acme-0001", {"max_calls": 0}, "max calls must be at least 1"),
        ("acme-0001", {"booth": True, "credit_limit": m("5")}, "a booth's credit limit"),
        ("acme-0001", {"balance": 5}, "cannot change balance"),
    ],
)
def test_a_refused_edit_changes_nothing(acme, engine, snapshot, name, changes, message):
    before = snapshot()
    with pytest.raises(UserError) as refused:
        account_edits.edit(engine, "adam", name, changes)
    assert message in str(refused.value)
    assert snapshot() == before


def test_a_company_keeps_its_tariff_while_its_accounts_use_it(acme, engine):
    account_edits.edit(engine, "adam", "acme-0001", {"tariff": "wholesale"})
    with pytest.raises(UserError, match="acme's accounts acme-0002, acme-0003 use its tariff"):
        account_edits.edit(engine, "adam", "acme", {"tariff": None})
    for name in ("acme-0002", "acme-0003"):
        account_edits.edit(engine, "adam", name, {"tariff": "retail"})
    assert account_edits.edit(engine, "adam", "acme", {"tariff": None}).tariff is None
    with pytest.raises(UserError, match="an extension account needs a tariff: its own, or its company's"):
        account_edits.edit(engine, "adam", "acme-0001", {"tariff": ""})


def test_closed_and_unknown_accounts_are_not_edited(acme, engine, snapshot):
    acme("accounts", "close", "acme-0002")
    before = snapshot()
    with pytest.raises(UserError, match="acme-0002 is closed"):
        account_edits.edit(engine, "adam", "acme-0002", {"max_calls": 2})
    with pytest.raises(UserError, match="no account named 'ghost'"):
        account_edits.edit(engine, "adam", "ghost", {"max_calls": 2})
    assert snapshot() == before


def test_a_booth_keeps_the_credit_limit_callshop_gives_it(acme, engine, snapshot):
    booth = account_edits.edit(engine, "adam", "acme-0002", {"booth": True})
    assert booth.booth
    acme("callshop", "start", "acme-0002", "--credit-limit", "20")
    assert account_edits.edit(engine, "adam", "acme-0002", {"max_calls": 1}).credit_limit == m("20")
    before = snapshot()
    with pytest.raises(UserError, match="set by `asteriskbill callshop start`"):
        account_edits.edit(engine, "adam", "acme-0002", {"credit_limit": m("30")})
    with pytest.raises(UserError, match="session open"):
        account_edits.edit(engine, "adam", "acme-0002", {"booth": False})
    assert snapshot() == before
    acme("callshop", "stop", "acme-0002")
    assert not account_edits.edit(engine, "adam", "acme-0002", {"booth": False}).booth


def test_an_edit_applies_from_the_next_call_and_a_call_up_keeps_its_price(cli, engine, settings, tmp_path):
    """A call authorized before its account's tariff changes settles at the price it was authorized with; the next
    call is priced by the new tariff. The edit itself moves no money."""
    make_world(cli, tmp_path)
    (tmp_path / "cheap.csv").write_text("prefix,destination,price,increments\n44,UK,0.06,60/6\n")
    cli("tariff", "create", "cheap", "--currency", "USD")
    cli("rates", "import", "cheap", tmp_path / "cheap.csv")
    account_id = extension_account_id(engine, "201")
    up = lifecycle.authorize(engine, settings, account_id, UK)
    assert up.status.value == "OK", up.reason
    edited = account_edits.edit(engine, "adam", "acme-201", {"tariff": "cheap", "max_calls": 1})
    assert (edited.tariff, edited.balance) == ("cheap", m("10"))
    assert lifecycle.settle(engine, CallResult(up.session, "ANSWER", 60_000)).cost == m("0.60")  # retail's
    following = lifecycle.authorize(engine, settings, account_id, UK)
    assert following.status.value == "OK", following.reason
    assert lifecycle.settle(engine, CallResult(following.session, "ANSWER", 60_000)).cost == m("0.06")  # cheap's
    assert accounts.show(engine, "acme-201").balance == m("10") - m("0.60") - m("0.06")
