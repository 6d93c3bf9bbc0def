"""`asteriskbill accounts edit` through the real command, on every backend: only the settings given change, '' clears
one, each change is audited old → new, the balance is never touched, and a refusal is one line that changes nothing."""

from __future__ import annotations

import json

import pytest

from asteriskbill.services import audit
from tests.cli.test_vendors import one_line_error


@pytest.fixture
def acme(cli):
    """Company acme on tariff retail with extension acme-0001 (ext 0001, balance 10.00, 2 calls at most), tariff
    wholesale, routing group out and plan basic."""
    cli("tariff", "create", "retail", "--currency", "USD")
    cli("tariff", "create", "wholesale", "--currency", "USD")
    cli("accounts", "create", "company", "acme", "--tariff", "retail")
    cli("accounts", "create", "extension", "acme-0001", "--parent", "acme", "--extension", "0001", "--max-calls", "2")
    cli("accounts", "recharge", "acme-0001", "10")
    cli("routing", "add", "out", "--policy", "lcr")
    cli("plans", "add", "basic", "--tariff", "wholesale", "--fee", "5")
    return cli


def fields(text: str) -> dict[str, str]:
    """What a `show` command printed for people, by field."""
    pairs = (line.split(":", 1) for line in text.splitlines() if ":" in line)
    return {key: value.strip() for key, value in pairs}


def edits(engine) -> list[tuple[str, str, dict]]:
    return [(e.operator, e.subject, e.detail) for e in audit.entries(engine) if e.action == "account.edit"]


def test_each_setting_given_changes_and_is_audited_old_to_new(acme, engine):
    result = acme(
        "accounts",
        "edit",
        "acme-0001",
        "--tariff",
        "wholesale",
        "--credit-limit",
        "20",
        "--max-calls",
        "4",
        "--extension",
        "0101",
        "--accountcode",
        "A1",
        "--routing-group",
        "out",
        "--plan",
        "basic",
    )
    assert result.stdout == (
        "extension acme-0001 changed: tariff none → wholesale, credit limit 0.00 → 20.00, max calls 2 → 4, "
        "extension 0001 → 0101, accountcode none → A1, routing group none → out, plan none → basic\n"
    )
    shown = json.loads(acme("accounts", "show", "acme-0001", "--json").stdout)
    assert {key: shown[key] for key in ("tariff", "credit_limit", "max_calls", "extension", "accountcode")} == {
        "tariff": "wholesale",
        "credit_limit": "20.00",
        "max_calls": 4,
        "extension": "0101",
        "accountcode": "A1",
    }
    assert (shown["routing_group"], shown["plan"], shown["balance"]) == ("out", "basic", "10.00")  # balance untouched
    [(operator, subject, detail)] = edits(engine)
    assert (operator, subject) == ("tester", "acme-0001")
    assert detail == {
        "tariff": "none → wholesale",
        "credit_limit": "0.00 → 20.00",
        "max_calls": "2 → 4",
        "extension": "0001 → 0101",
        "accountcode": "none → A1",
        "routing_group": "none → out",
        "plan": "none → basic",
    }
    text = fields(acme("accounts", "show", "acme-0001").stdout)
    assert (text["routing_group"], text["plan"]) == ("out", "basic (5.00 USD monthly, prepaid, suspend)")


def test_an_empty_value_clears_a_setting(acme, engine):
    acme("accounts", "edit", "acme-0001", "--tariff", "wholesale", "--accountcode", "A1", "--routing-group", "out")
    result = acme(
        "accounts", "edit", "acme-0001", "--tariff", "", "--accountcode", "", "--routing-group", "", "--max-calls", ""
    )
    assert result.stdout == (
        "extension acme-0001 changed: tariff wholesale → none, max calls 2 → none, accountcode A1 → none, "
        "routing group out → none\n"
    )
    shown = json.loads(acme("accounts", "show", "acme-0001", "--json").stdout)
    assert (shown["tariff"], shown["effective_tariff"], shown["max_calls"], shown["routing_group"]) == (
        None,
        "retail",  # its company's again
        None,
        None,
    )
    assert fields(acme("accounts", "show", "acme-0001").stdout)["tariff"] == "retail (its company's)"


def test_booth_on_and_off_and_json(acme):
    shown = json.loads(acme("accounts", "edit", "acme-0001", "--booth", "--json").stdout)
    assert (shown["name"], shown["booth"]) == ("acme-0001", True)
    assert acme("accounts", "edit", "acme-0001", "--no-booth").stdout == "extension acme-0001 changed: booth yes → no\n"


def test_the_same_values_change_nothing(acme, engine):
    result = acme("accounts", "edit", "acme-0001", "--extension", "0001", "--max-calls", "2")
    assert result.stdout == "extension acme-0001: nothing changed, it has those settings already\n"
    assert edits(engine) == []


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("acme-0001", "--tariff", "nope"), "nope"),
        (("acme-0001", "--routing-group", "nope"), "no routing group named 'nope'"),
        (("acme-0001", "--plan", "nope"), "no plan named 'nope'"),
        (("acme-0001", "--extension", "0001", "--accountcode", "A1", "--booth", "--credit-limit", "5"), "booth"),
        (("acme", "--extension", "77"), "an extension number is for extension accounts only"),
        (("ghost", "--max-calls", "3"), "no account named 'ghost'"),
    ],
)
def test_a_refused_edit_is_one_line_and_changes_nothing(acme, snapshot, args, message):
    before = snapshot()
    assert message in one_line_error(acme("accounts", "edit", *args, ok=False))
    assert snapshot() == before


def test_bad_input_and_cards(acme, snapshot, tmp_path):
    acme("cards", "generate", "--count", "1", "--value", "1", "--tariff", "retail", "-o", tmp_path / "c.csv")
    card = (tmp_path / "c.csv").read_text().splitlines()[1].split(",")[0]
    before = snapshot()
    refused = acme("accounts", "edit", card, "--max-calls", "3", ok=False)
    assert "is a card: cards are changed with `asteriskbill cards`" in one_line_error(refused)
    assert "-1 is not in the range x>=1" in acme("accounts", "edit", "acme-0001", "--max-calls", "-1", ok=False).output
    decimals = acme("accounts", "edit", "acme-0001", "--credit-limit", "1.0000001", ok=False)
    assert "more than 6 decimals" in decimals.output
    nothing = acme("accounts", "edit", "acme-0001", ok=False)
    assert nothing.exit_code == 2 and "nothing to change" in nothing.output and "Traceback" not in nothing.output
    assert snapshot() == before
