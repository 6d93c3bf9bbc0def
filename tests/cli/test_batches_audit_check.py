"""`batches`, `audit list` and `check` through the real command, on every backend."""

import json
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import update

from asteriskbill.services import cards
from asteriskbill.store.models import Account, AuditEntry


def test_batches_list_and_show(cli, engine, tmp_path):
    cli("tariff", "create", "retail", "--currency", "BGN")
    cli(
        "cards",
        "generate",
        "--count",
        "3",
        "--value",
        "15",
        "--tariff",
        "retail",
        "--activation",
        "first-use",
        "--valid-days",
        "183",
        "--batch-name",
        "june",
        "-o",
        tmp_path / "june.csv",
    )
    cli("cards", "generate", "--count", "2", "--value", "5", "--tariff", "retail", "-o", tmp_path / "b.csv")
    number = (tmp_path / "june.csv").read_text().splitlines()[1].split(",")[0]
    with engine.begin() as conn:
        cards.record_use(conn, number)
    listed = json.loads(cli("batches", "list", "--json").stdout)
    assert [
        (
            b["id"],
            b["name"],
            b["count"],
            b["face_value"],
            b["currency"],
            b["used"],
            b["activation"],
            b["valid_days"],
            b["operator"],
        )
        for b in listed
    ] == [
        (1, "june", 3, "15.00", "BGN", 1, "first-use", 183, "tester"),
        (2, "batch-2", 2, "5.00", "BGN", 0, "now", None, "tester"),
    ]
    text = cli("batches", "list").stdout
    assert "june     " in text and "15.00 BGN" in text and "183 days from activation" in text
    assert json.loads(cli("batches", "show", "2", "--json").stdout)["name"] == "batch-2"
    shown = cli("batches", "show", "june").stdout
    assert "count:      3" in shown and "used:       1" in shown and "face_value: 15.00 BGN" in shown
    assert "no batch 'nope'" in cli("batches", "show", "nope", ok=False).output


def test_audit_list_records_who_did_what(cli, engine):
    cli("tariff", "create", "retail", "--currency", "USD")
    cli("accounts", "create", "company", "acme", "--tariff", "retail")
    cli("--operator", "maria", "accounts", "recharge", "acme", "12.5", "--order", "77")
    cli("accounts", "freeze", "acme")
    rows = json.loads(cli("audit", "list", "--json").stdout)
    assert [(r["operator"], r["action"], r["subject"]) for r in rows] == [
        ("tester", "tariff.create", "retail"),
        ("tester", "account.create", "acme"),
        ("maria", "account.recharge", "acme"),
        ("tester", "account.freeze", "acme"),
    ]
    assert rows[2]["detail"] == {
        "amount": "12.50",
        "balance_after": "12.50",
        "currency": "USD",
        "note": None,
        "reference": "77",
    }
    with engine.begin() as conn:  # the first action happened long ago
        conn.execute(
            update(AuditEntry)
            .where(AuditEntry.action == "account.create")
            .values(at=datetime(2026, 1, 1, 9, tzinfo=UTC))
        )
    recent = json.loads(cli("audit", "list", "--since", "2026-01-01T10:00", "--json").stdout)
    assert [r["action"] for r in recent] == ["tariff.create", "account.recharge", "account.freeze"]
    local = json.loads(cli("audit", "list", "--since", "2026-01-01T11:30+03:00", "--json").stdout)
    assert [r["action"] for r in local] == ["tariff.create", "account.create", "account.recharge", "account.freeze"]
    tomorrow = (datetime.now(UTC) + timedelta(days=1)).date().isoformat()
    assert cli("audit", "list", "--since", tomorrow).stdout.strip() == "(none)"
    assert "maria     account.recharge" in cli("audit", "list").stdout
    assert "not a date and time" in cli("audit", "list", "--since", "yesterday", ok=False).output


@pytest.mark.breaks_ledger
def test_check_passes_then_names_each_difference(cli, engine):
    cli("tariff", "create", "retail", "--currency", "USD")
    for name in ("a", "b"):
        cli("accounts", "create", "extension", name, "--tariff", "retail")
        cli("accounts", "recharge", name, "10")
    assert cli("check").stdout.strip() == "2 accounts checked: every balance equals the sum of its ledger entries"
    assert json.loads(cli("check", "--json").stdout) == {"accounts": 2, "differences": []}
    with engine.begin() as conn:
        conn.execute(update(Account).where(Account.name == "b").values(balance=9_000_000))
    result = cli("check", ok=False)
    assert result.exit_code == 1 and result.stdout == ""
    assert result.stderr.splitlines() == [
        "account b: balance 9.00 USD but ledger entries sum to 10.00 USD (difference -1.00)"
    ]
    report = json.loads(cli("check", "--json", ok=False).stdout)
    assert [d["account"] for d in report["differences"]] == ["b"]
