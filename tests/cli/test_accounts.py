"""`accounts ...` through the real command, on every backend; every refusal changes nothing."""

import json

import pytest
from sqlalchemy import insert, select

from asteriskbill.money import parse_amount as m
from asteriskbill.rating.model import Rate, groups_from_increments
from asteriskbill.services import accounts
from asteriskbill.store.models import RateRow, Tariff
from asteriskbill.store.tariffs import rate_values


@pytest.fixture
def acme(cli):
    """A company on tariff retail (USD) with an extension, and a tariff in EUR."""
    cli("tariff", "create", "retail", "--currency", "USD")
    cli("tariff", "create", "euro", "--currency", "EUR")
    cli("accounts", "create", "company", "acme", "--tariff", "retail", "--accountcode", "ACME")
    cli(
        "accounts",
        "create",
        "extension",
        "acme-0001",
        "--parent",
        "acme",
        "--extension",
        "0001",
        "--max-calls",
        "2",
        "--credit-limit",
        "5",
    )
    return cli


def test_create_list_show(acme):
    acme("accounts", "create", "gateway", "trunk-1", "--parent", "acme", "--tariff", "retail")
    acme("accounts", "create", "extension", "solo", "--tariff", "euro", "--extension", "200")
    listed = json.loads(acme("accounts", "list", "--json").stdout)
    assert [(a["name"], a["kind"], a["parent"], a["effective_tariff"], a["currency"]) for a in listed] == [
        ("acme", "company", None, "retail", "USD"),
        ("acme-0001", "extension", "acme", "retail", "USD"),
        ("solo", "extension", None, "euro", "EUR"),
        ("trunk-1", "gateway", "acme", "retail", "USD"),
    ]
    shown = json.loads(acme("accounts", "show", "acme-0001", "--json").stdout)
    assert {
        k: shown[k]
        for k in ("tariff", "effective_tariff", "balance", "credit_limit", "status", "max_calls", "extension")
    } == {
        "tariff": None,
        "effective_tariff": "retail",
        "balance": "0.00",
        "credit_limit": "5.00",
        "status": "active",
        "max_calls": 2,
        "extension": "0001",
    }
    text = " ".join(acme("accounts", "show", "acme-0001").stdout.split())  # aligned as wide as its longest field
    assert "tariff: retail (its company's)" in text and "balance: 0.00 USD" in text

    def names(*args: str) -> list[str]:
        return [a["name"] for a in json.loads(acme("accounts", "list", "--json", *args).stdout)]

    assert names("--parent", "acme") == ["acme-0001", "trunk-1"]
    assert names("--kind", "extension") == ["acme-0001", "solo"]
    assert names("--search", "00") == ["acme-0001", "solo"]  # the extension 200 matches too
    assert names("--search", "ACM") == ["acme", "acme-0001"]
    assert "acme-0001  extension  acme" in acme("accounts", "list").stdout


def test_freezing_a_company_stops_its_children(acme, engine):
    acme("accounts", "freeze", "acme")
    child = json.loads(acme("accounts", "show", "acme-0001", "--json").stdout)
    assert (child["status"], child["effective_status"], child["reason"]) == (
        "active",
        "frozen",
        "company acme is frozen",
    )
    assert "active, frozen by its company" in acme("accounts", "list").stdout
    with engine.begin() as conn:
        assert accounts.standing(conn, child_id(conn)).status == "frozen"
    acme("accounts", "recharge", "acme-0001", "10")  # money may still come in
    acme("accounts", "unfreeze", "acme")
    with engine.begin() as conn:
        assert accounts.standing(conn, child_id(conn)).usable


def child_id(conn) -> int:
    return accounts.find(conn, "acme-0001").id


def test_close_company_only_after_its_accounts(acme):
    assert "still has open accounts (acme-0001): close them first" in acme("accounts", "close", "acme", ok=False).output
    acme("accounts", "close", "acme-0001")
    assert "closed for good" in acme("accounts", "close", "acme").output
    assert "cannot unfreeze company acme: it is closed" in acme("accounts", "unfreeze", "acme", ok=False).output


def test_recharge_adjust_history(acme):
    out = acme("accounts", "recharge", "acme-0001", "300", "--order", "ORD-7", "--note", "cash").stdout
    assert out.strip() == "recharged acme-0001 with 300.00 USD (order ORD-7): balance 300.00 USD"
    assert "balance 297.50 USD" in acme("accounts", "adjust", "acme-0001", "-2.50", "--note", "typo").stdout
    history = json.loads(acme("accounts", "history", "acme-0001", "--json").stdout)
    assert history["balance"] == "297.50"
    assert [
        (e["kind"], e["amount"], e["balance_after"], e["reference"], e["note"], e["operator"])
        for e in history["entries"]
    ] == [
        ("adjustment", "-2.50", "297.50", None, "typo", "tester"),
        ("recharge", "300.00", "300.00", "ORD-7", "cash", "tester"),
    ]
    text = acme("accounts", "history", "acme-0001").stdout
    assert "recharge    300.00 USD  300.00 USD     ORD-7" in text


@pytest.mark.parametrize(
    "args, message",
    [
        (("accounts", "recharge", "nobody", "5"), "no account named 'nobody'"),
        (("accounts", "recharge", "acme-0001", "-5"), "amount '-5' must not be negative"),
        (("accounts", "recharge", "acme-0001", "5,00"), "is not a decimal number"),
        (("accounts", "recharge", "acme-0001", "0.0000001"), "more than 6 decimals"),
        (("accounts", "recharge", "acme-0001", "0"), "a recharge of 0.00 is refused"),
        (("accounts", "recharge", "closed-1", "5"), "account closed-1 is closed: no recharge is accepted"),
        (("accounts", "adjust", "acme-0001", "3"), "Missing option '--note'"),
        (
            ("accounts", "create", "extension", "x", "--parent", "acme", "--extension", "0001"),
            "extension 0001 exists already (account acme-0001)",
        ),
        (
            ("accounts", "create", "extension", "acme-0001", "--tariff", "retail"),
            "an account named acme-0001 exists already",
        ),
        (
            ("accounts", "create", "gateway", "g", "--tariff", "retail", "--accountcode", "ACME"),
            "accountcode ACME exists already (account acme)",
        ),
        (
            ("accounts", "create", "extension", "x", "--tariff", "euro", "--currency", "USD"),
            "tariff euro is in EUR, account x is in USD",
        ),
        (
            ("accounts", "create", "extension", "x", "--parent", "acme", "--tariff", "euro"),
            "x is in EUR but company acme is in USD",
        ),
        (("accounts", "create", "extension", "x", "--tariff", "nope"), "no tariff named 'nope'"),
        (("accounts", "create", "extension", "x", "--currency", "USD"), "needs a tariff"),
        (("accounts", "create", "extension", "x", "--parent", "acme-0001"), "acme-0001 is not a company"),
        (("accounts", "create", "company", "x", "--parent", "acme"), "a company account cannot belong"),
        (
            ("accounts", "create", "card", "x", "--tariff", "retail"),
            "cards are created by `asteriskbill cards generate`",
        ),
        (("accounts", "create", "company", "x", "--currency", "dollars"), "must be three letters"),
        (("accounts", "create", "company", "x"), "give a currency, or a tariff or company"),
        (
            ("accounts", "create", "gateway", "x", "--tariff", "retail", "--extension", "9"),
            "an extension number is for extension accounts",
        ),
        (("accounts", "create", "company", "x", "--currency", "USD", "--credit-limit", "-1"), "must not be negative"),
        (("accounts", "create", "company", "x", "--currency", "USD", "--max-calls", "0"), "0 is not in the range x>=1"),
        (("accounts", "create", "booth", "x"), "'booth' is not one of"),
        (("accounts", "freeze", "closed-1"), "cannot freeze extension closed-1: it is closed"),
        (("accounts", "unfreeze", "acme"), "cannot unfreeze company acme: it is active"),
        (("accounts", "show", "nobody"), "no account named 'nobody'"),
        (("accounts", "list", "--parent", "nobody"), "no account named 'nobody'"),
        (("accounts", "history", "nobody"), "no account named 'nobody'"),
    ],
)
def test_bad_input_is_refused_and_changes_nothing(acme, snapshot, args, message):
    acme("accounts", "create", "extension", "closed-1", "--tariff", "retail")
    acme("accounts", "recharge", "closed-1", "1")
    acme("accounts", "close", "closed-1")
    before = snapshot()
    result = acme(*args, ok=False)
    assert message in result.output
    if result.exit_code == 1:  # a refusal by asteriskbill: one line
        assert result.stderr.count("\n") == 1 and result.stderr.startswith("Error: ")
    assert snapshot() == before


def test_extension_in_credits_one_minute_three_credits(cli, engine):
    """The seed: an extension's credit in CRD, "1 minute = 3 credits", "300 credits = 100 minutes"."""
    cli("tariff", "create", "credits", "--currency", "CRD")
    with engine.begin() as conn:
        tid = conn.execute(select(Tariff.id).where(Tariff.name == "credits")).scalar_one()
        conn.execute(
            insert(RateRow).values(
                tariff_id=tid, **rate_values(Rate("1", groups_from_increments(m("3"), 60, 60), destination="national"))
            )
        )
    cli("accounts", "create", "company", "cliente-1", "--tariff", "credits")
    cli("accounts", "create", "extension", "extension 1", "--parent", "cliente-1", "--extension", "0001")
    assert (
        "USD"
        in cli("accounts", "create", "extension", "x", "--parent", "cliente-1", "--currency", "USD", ok=False).output
    )
    cli("accounts", "recharge", "extension 1", "300", "--order", "recarga 1")
    shown = json.loads(cli("accounts", "show", "extension 1", "--json").stdout)
    assert (shown["currency"], shown["balance"], shown["effective_tariff"]) == ("CRD", "300.00", "credits")
    lasts = json.loads(cli("quote", "credits", "0212345678", "--balance", shown["balance"], "--json").stdout)
    assert (lasts["max_seconds"], lasts["currency"]) == (100 * 60, "CRD")
    minute = json.loads(cli("quote", "credits", "0212345678", "--seconds", "60", "--json").stdout)
    assert minute["cost"] == "3.00"
