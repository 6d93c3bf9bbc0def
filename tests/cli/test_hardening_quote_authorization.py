"""Issue 10, item 12: `quote` answers what a call would get: the same number, the same limit, the same refusal."""

from __future__ import annotations

import json

import pytest

from asteriskbill.money import format_amount
from asteriskbill.services import lifecycle
from asteriskbill.settings import load
from tests.helpers.world import extension_account_id

DIALLED = "0035921234567"  # dialled as a caller would: the international prefix first
RATES = {
    # a 3 s grace: a balance that pays for no more than the grace is no credit
    "grace": "prefix,destination,price,increments,connect_fee,grace\n359,Bulgaria,0.60,60/6,,3\n",
    # a connect fee: a balance below it pays for nothing
    "connect fee": "prefix,destination,price,increments,connect_fee,grace\n359,Bulgaria,0.60,1/1,0.10,\n",
}


def tariff(cli, tmp_path, rates: str) -> None:
    cli("tariff", "create", "t1", "--currency", "USD")
    (tmp_path / "rates.csv").write_text(rates)
    cli("rates", "import", "t1", tmp_path / "rates.csv")


@pytest.mark.parametrize("rates", RATES)
@pytest.mark.parametrize("balance", ["0", "0.01", "0.10", "0.14", "0.60", "0.70", "1.00", "50"])
def test_quote_balance_gives_what_an_authorization_gives(cli, engine, tmp_path, monkeypatch, rates, balance):
    monkeypatch.setenv("ASTERISKBILL_MAX_CALL_SECONDS", "600")  # 50.00 reaches the per-call cap
    tariff(cli, tmp_path, RATES[rates])
    cli("routes", "add", "", "PJSIP/${NUMBER}@carrier")
    cli("accounts", "create", "extension", "e1", "--tariff", "t1", "--extension", "201")
    if balance != "0":
        cli("accounts", "recharge", "e1", balance)
    quoted = json.loads(cli("quote", "t1", DIALLED, "--balance", balance, "--json").stdout)
    auth = lifecycle.authorize(engine, load(db=cli.db), extension_account_id(engine, "201"), DIALLED)
    assert (quoted["max_seconds"], quoted.get("status")) == (auth.max_seconds, auth.status)
    assert quoted["cost"] == format_amount(auth.amount)
    assert quoted["capped"] == (auth.max_seconds == 600)
    text = cli("quote", "t1", DIALLED, "--balance", balance).stdout
    if auth.status == "OK":
        assert f"{quoted['balance']} USD pays for {auth.max_seconds} s" in text
    else:
        assert auth.status == "NO_CREDIT" and "NO_CREDIT" in text and "pays for" not in text
    lifecycle.release(engine, auth.session, "test over")


def test_quote_normalises_the_number_as_a_call_does(cli, tmp_path):
    tariff(cli, tmp_path, RATES["grace"])
    for dialled in (DIALLED, "+35921234567", "00 359 2 123 4567"):
        data = json.loads(cli("quote", "t1", dialled, "--seconds", "60", "--json").stdout)
        assert (data["dialled"], data["number"], data["call_class"], data["cost"]) == (
            dialled,
            "35921234567",
            "international",
            "0.60",
        )
    assert cli("quote", "t1", DIALLED, "--seconds", "60").stdout.startswith(
        "0035921234567 -> 35921234567 (international) -> prefix 359 Bulgaria at "
    )
    # an account's company plan: its users dial 9 for an outside line; the global plan has none
    cli("accounts", "create", "company", "acme", "--tariff", "t1", "--currency", "USD")
    cli("accounts", "create", "extension", "e1", "--parent", "acme", "--extension", "201")
    cli("numbers", "plan", "set", "--company", "acme", "--outside-line", "9")
    data = json.loads(cli("quote", "t1", "9" + DIALLED, "--seconds", "60", "--account", "e1", "--json").stdout)
    assert (data["number"], data["cost"]) == ("35921234567", "0.60")
    # the global plan makes it a local number: the refusal says so
    assert cli("quote", "t1", "9" + DIALLED, "--seconds", "60", ok=False).stderr == (
        "Error: no rate in tariff 't1' for 190035921234567 "
        "(dialled 90035921234567: local; see `asteriskbill numbers normalize`)\n"
    )
    bad = cli("quote", "t1", "44x", "--seconds", "5", ok=False)
    assert bad.exit_code == 1 and bad.stderr == "Error: '44x' is not a phone number (digits only)\n"
    assert "no account named" in cli("quote", "t1", DIALLED, "--seconds", "5", "--account", "nope", ok=False).stderr
