"""Issue 10, item 6: amounts have bounds and are typed in ASCII digits; a refusal is one line and changes nothing.

The configured bounds are the settings max_amount (one recharge, adjustment or card value) and max_balance (the
balance a recharge or adjustment may leave); money.MAX_AMOUNT is the hard ceiling of any amount parsed, which
keeps every sum of a few amounts inside a signed 64-bit column of micro-units.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ASTERISKBILL = str(Path(sys.executable).with_name("asteriskbill"))
ARABIC_123 = "\u0661\u0662\u0663"  # Arabic-Indic digits: int() and a Unicode \d read them as 123


@pytest.fixture
def shop(cli):
    cli("tariff", "create", "t1", "--currency", "USD")
    cli("accounts", "create", "extension", "a1", "--tariff", "t1", "--extension", "100")
    cli("accounts", "create", "extension", "a2", "--tariff", "t1", "--extension", "101")
    return cli


def one_line(result, *hints: str) -> str:
    """The refused command's one error line (click puts a bad parameter's usage above it), naming every hint."""
    assert result.exit_code != 0, result.output
    assert "Traceback" not in result.output
    (line,) = [line for line in result.stderr.splitlines() if line.startswith("Error:")]
    assert result.stderr.strip().endswith(line)
    for hint in hints:
        assert hint in line, f"{hint!r} not in {line!r}"
    return line


def balance(cli, account: str) -> str:
    return json.loads(cli("accounts", "show", account, "--json").stdout)["balance"]


@pytest.mark.parametrize(
    "amount, hints",
    [
        ("99999999999999999999", ("more than the largest amount, 1000000000000",)),
        ("9223372036854", ("more than the largest amount, 1000000000000",)),
        ("1000000.01", ("more than the maximum amount, 1000000.00", "setting max_amount")),
        (ARABIC_123, ("not a decimal number",)),
    ],
)
def test_recharge_out_of_bounds_is_refused_in_one_line_and_changes_nothing(shop, snapshot, amount, hints):
    before = snapshot()
    one_line(shop("accounts", "recharge", "a1", amount, ok=False), *hints)
    assert snapshot() == before


def test_a_recharge_or_adjustment_that_would_pass_the_maximum_balance_is_refused(shop, snapshot, monkeypatch):
    monkeypatch.setenv("ASTERISKBILL_MAX_BALANCE", "100")
    shop("accounts", "recharge", "a1", "60")
    shop("accounts", "adjust", "a1", "40", "--note", "bonus")
    before = snapshot()
    one_line(
        shop("accounts", "recharge", "a1", "0.01", ok=False),
        "a1's balance would be 100.01, beyond the maximum balance, 100.00 (setting max_balance)",
    )
    one_line(shop("accounts", "adjust", "a1", "-200.01", "--note", "x", ok=False), "setting max_balance")
    assert snapshot() == before
    assert balance(shop, "a1") == "100.00"


def test_the_maximum_amount_is_a_setting(shop, monkeypatch):
    monkeypatch.setenv("ASTERISKBILL_MAX_AMOUNT", "50")
    one_line(shop("accounts", "adjust", "a1", "-50.01", "--note", "x", ok=False), "maximum amount, 50.00")
    shop("accounts", "recharge", "a1", "50")
    assert balance(shop, "a1") == "50.00"


@pytest.mark.parametrize("value", ["0", "-1", "1000000000001", "abc"])
def test_a_bad_maximum_is_named_at_load(shop, monkeypatch, value):
    monkeypatch.setenv("ASTERISKBILL_MAX_AMOUNT", value)
    one_line(shop("accounts", "show", "a1", ok=False), "setting max_amount=", "ASTERISKBILL_MAX_AMOUNT")


@pytest.mark.parametrize(
    "value, hint",
    [
        ("99999999999999", "more than the largest amount"),
        ("1000001", "more than the maximum amount, 1000000.00 (setting max_amount)"),
        (ARABIC_123, "not a decimal number"),
    ],
)
def test_cards_generate_with_a_value_out_of_bounds_is_refused(shop, snapshot, tmp_path, value, hint):
    before = snapshot()
    output = tmp_path / "c.csv"
    one_line(
        shop("cards", "generate", "--count", "1", "--value", value, "--tariff", "t1", "-o", output, ok=False), hint
    )
    assert snapshot() == before
    assert not list(tmp_path.glob("*c.csv"))


def test_a_card_recharge_out_of_bounds_is_refused(shop, snapshot, tmp_path, monkeypatch):
    shop("cards", "generate", "--count", "1", "--value", "5", "--tariff", "t1", "-o", tmp_path / "c.csv")
    number = (tmp_path / "c.csv").read_text().splitlines()[1].split(",")[0]
    monkeypatch.setenv("ASTERISKBILL_MAX_BALANCE", "10")
    before = snapshot()
    one_line(shop("cards", "recharge", number, "5.01", ok=False), f"{number}'s balance would be 10.01")
    one_line(shop("cards", "recharge", number, "1000001", ok=False), "setting max_amount")
    assert snapshot() == before


@pytest.mark.parametrize(
    "args, hint",
    [
        (("quote", "t1", "1555", "--seconds", "\u0661\u0662\u0660"), "--seconds"),
        (("quote", "t1", "1555", "--balance", ARABIC_123), "--balance"),
        (("cards", "generate", "--count", "\u0663", "--value", "1", "--tariff", "t1"), "--count"),
        (
            ("cards", "generate", "--count", "1", "--value", "1", "--tariff", "t1", "--pin-digits", "\u0666"),
            "--pin-digits",
        ),
        (("accounts", "create", "extension", "x", "--tariff", "t1", "--max-calls", "\u0662"), "--max-calls"),
        (("cdr", "list", "--limit", "\u0661\u0660"), "--limit"),
    ],
)
def test_whole_numbers_in_other_scripts_are_refused(shop, snapshot, args, hint):
    before = snapshot()
    one_line(shop(*args, ok=False), hint, "digits 0-9")
    assert snapshot() == before


def test_a_huge_rate_price_is_refused_with_its_line(shop, snapshot, tmp_path):
    (tmp_path / "big.csv").write_text("prefix,price\n1,0.10\n2,999999999999999999999\n")
    before = snapshot()
    result = shop("rates", "import", "t1", tmp_path / "big.csv", ok=False)
    assert "line 3: price '999999999999999999999' is more than the largest amount" in result.stderr
    assert snapshot() == before


def test_the_reported_case_in_a_real_process(db_url, tmp_path, shop):
    """The recharge that put a1 at the int64 maximum, then the one that crashed on it: both one line now."""

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [ASTERISKBILL, "--db", db_url, *args], capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL
        )

    for amount in ("9223372036854", "99999999999999999999"):
        result = run("accounts", "recharge", "a1", amount)
        assert result.returncode != 0 and "Traceback" not in result.stderr, result.stderr
        assert result.stderr.strip().splitlines()[-1] == (
            f"Error: Invalid value for 'AMOUNT': amount {amount!r} is more than the largest amount, 1000000000000.00"
        )
    assert run("accounts", "recharge", "a1", "1").returncode == 0
    assert balance(shop, "a1") == "1.00"


def test_a_caller_id_in_other_digits_is_refused(shop, snapshot, tmp_path):
    shop("cards", "generate", "--count", "1", "--value", "5", "--tariff", "t1", "-o", tmp_path / "c.csv")
    number = (tmp_path / "c.csv").read_text().splitlines()[1].split(",")[0]
    before = snapshot()
    one_line(shop("cards", "callerid", "add", number, "\u0665\u0665\u0665\u0661\u0662\u0663\u0664", ok=False), "digits")
    one_line(shop("cards", "list", "--search", "\u0665\u0665", ok=False), "digits")
    assert snapshot() == before


def test_a_batch_id_in_other_digits_is_not_read_as_the_id(shop, tmp_path):
    shop("cards", "generate", "--count", "1", "--value", "5", "--tariff", "t1", "-o", tmp_path / "c.csv")
    shop("batches", "show", "1")
    one_line(shop("batches", "show", "\u0661", ok=False), "no batch")
