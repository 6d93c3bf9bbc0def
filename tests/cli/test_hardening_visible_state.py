"""What an operator sees: a card's PIN lock (show, reset-pin, unlock), times in the configured zone with
their offset, and a listing that says when it stops short. Through the real command, on every backend."""

from __future__ import annotations

import csv
import json
import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import insert, select

from asteriskbill.billing.authorize import BillStatus, PinGuard, PinPolicy
from asteriskbill.services import calls
from asteriskbill.settings import load
from asteriskbill.store.models import Account, AuditEntry, Card, Cdr
from asteriskbill.store.types import utcnow

ZONE = "Europe/Sofia"
LOCAL = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d [+-]\d\d:\d\d")


@pytest.fixture(autouse=True)
def sofia(monkeypatch):
    monkeypatch.setenv("ASTERISKBILL_TIMEZONE", ZONE)


@pytest.fixture
def card(cli, tmp_path) -> str:
    cli("tariff", "create", "retail", "--currency", "USD")
    cli("cards", "generate", "--count", "1", "--value", "5", "--tariff", "retail", "-o", tmp_path / "card.csv")
    return next(csv.DictReader((tmp_path / "card.csv").open()))["number"]


def wrong_pins(cli, engine, number: str, times: int) -> calls.Login:
    """Wrong PINs typed at the IVR, through the very service the card app calls."""
    for _ in range(times):
        login = calls.card_login(engine, load(db=cli.db), number, "000000")
    return login


def local(moment: datetime) -> str:
    text = moment.astimezone(ZoneInfo(ZONE)).isoformat(sep=" ", timespec="seconds")
    return f"{text[:19]} {text[19:]}"


def locked_until(engine, number: str) -> datetime:
    with engine.begin() as conn:
        return conn.execute(select(Card.pin_locked_until).where(Card.number == number)).scalar_one()


# --- the PIN lock ---------------------------------------------------------------------------------------


def test_a_lock_keeps_the_count_of_wrong_pins():
    policy = PinPolicy(max_failures=3)
    now = datetime(2026, 11, 30, 12, tzinfo=UTC)
    guard = PinGuard().after_failure(now, policy).after_failure(now, policy).after_failure(now, policy)
    assert guard.locked(now) and guard.failures == 3
    assert guard.after_failure(now + 2 * policy.lock, policy).failures == 1  # after the lock: a new count


def test_cards_show_tells_a_pin_lock_with_its_local_time_and_count(cli, engine, card):
    assert "pin:" not in cli("cards", "show", card).stdout
    assert wrong_pins(cli, engine, card, 2).status is BillStatus.WRONG_PIN
    shown = json.loads(cli("cards", "show", card, "--json").stdout)
    assert (shown["pin_failures"], shown["pin_locked_until"]) == (2, "")
    assert re.search(r"^pin:\s+2 wrong PINs since " + LOCAL.pattern, cli("cards", "show", card).stdout, re.M)

    assert wrong_pins(cli, engine, card, 3).status is BillStatus.LOCKED
    until = locked_until(engine, card)
    shown = json.loads(cli("cards", "show", card, "--json").stdout)
    assert (shown["pin_failures"], shown["pin_locked_until"]) == (5, until.isoformat(timespec="seconds"))
    text = cli("cards", "show", card).stdout
    assert f"locked until {local(until)} after 5 wrong PINs" in text
    assert f"asteriskbill cards unlock {card}" in text
    assert local(until).endswith(("+02:00", "+03:00"))


def test_reset_pin_keeps_the_lock_and_says_so(cli, engine, card):
    wrong_pins(cli, engine, card, 5)
    until = locked_until(engine, card)
    out = cli("cards", "reset-pin", card).stdout
    assert f"card {card}: new PIN " in out
    assert f"still locked until {local(until)}" in out and f"asteriskbill cards unlock {card}" in out
    assert locked_until(engine, card) == until
    new_pin = re.search(r"new PIN (\d+)", out).group(1)
    assert calls.card_login(engine, load(db=cli.db), card, new_pin).status is BillStatus.LOCKED


def test_unlock_clears_the_lock_audited_and_refuses_an_unlocked_card(cli, engine, card, tmp_path, snapshot):
    refused = cli("cards", "unlock", card, ok=False)
    assert refused.output.strip().splitlines() == [f"Error: card {card} is not locked"]
    wrong_pins(cli, engine, card, 5)
    out = cli("cards", "unlock", card).stdout
    assert out.strip() == f"card {card} unlocked: 5 wrong PINs forgotten"
    assert locked_until(engine, card) is None
    assert json.loads(cli("cards", "show", card, "--json").stdout)["pin_failures"] == 0
    with engine.begin() as conn:
        last = conn.execute(select(AuditEntry.__table__).order_by(AuditEntry.id.desc()).limit(1)).one()
    assert (last.operator, last.action, last.subject) == ("tester", "card.unlock", card)
    pin = next(csv.DictReader((tmp_path / "card.csv").open()))["pin"]
    assert calls.card_login(engine, load(db=cli.db), card, pin).status is BillStatus.OK
    before = snapshot()
    cli("cards", "unlock", card, ok=False)
    assert snapshot() == before


def test_unlock_has_an_example_in_its_help(cli):
    assert "Example:" in cli("cards", "unlock", "--help").stdout


# --- local times and a listing that stops short ------------------------------------------------------------


def add_cdrs(engine, count: int, start: datetime) -> None:
    with engine.begin() as conn:
        account = conn.execute(select(Account.id, Account.currency)).first()
        conn.execute(
            insert(Cdr),
            [
                {
                    "session": f"s{i:04d}",
                    "account_id": account.id,
                    "server": "pbx1",
                    "uniqueid": f"{i}.1",
                    "linkedid": f"{i}.1",
                    "callerid": "100",
                    "dialled": "0044207",
                    "number": "44207",
                    "destination": "UK",
                    "prefix": "44",
                    "call_class": "international",
                    "started_at": start + timedelta(minutes=i),
                    "answered_at": None,
                    "ended_at": start + timedelta(minutes=i, seconds=5),
                    "billable_ms": 0,
                    "billed_seconds": 0,
                    "outcome": "NOANSWER",
                    "hangup_cause": "19",
                    "cost": 0,
                    "buy_cost": None,
                    "currency": account.currency,
                }
                for i in range(count)
            ],
        )


WINTER = datetime(2026, 11, 30, 13, 2, 5, tzinfo=UTC)  # 15:02:05 in Sofia


def test_cdr_list_shows_the_configured_zone_with_its_offset(cli, engine, card):
    add_cdrs(engine, 1, WINTER)
    rows = cli("cdr", "list").stdout.splitlines()
    assert rows[1].startswith("2026-11-30 15:02:05 +02:00  ")
    assert json.loads(cli("cdr", "list", "--json").stdout)[0]["started_at"] == "2026-11-30T13:02:05+00:00"
    # --since reads the same local time it shows
    assert len(json.loads(cli("cdr", "list", "--json", "--since", "2026-11-30T15:02:05").stdout)) == 1
    assert json.loads(cli("cdr", "list", "--json", "--since", "2026-11-30T15:02:06").stdout) == []


def test_cdr_list_says_when_it_stops_at_its_limit(cli, engine, card):
    add_cdrs(engine, 105, WINTER)
    rows = cli("cdr", "list").stdout.splitlines()
    assert len(rows) == 1 + 100 + 1 and rows[-1] == "100 of 105 CDRs; --limit 0 shows all"  # as `calls flagged`
    rows = cli("cdr", "list", "--limit", "0").stdout.splitlines()
    assert len(rows) == 1 + 105 and "of 105" not in rows[-1]
    assert len(cli("cdr", "list", "--limit", "105").stdout.splitlines()) == 1 + 105
    result = cli("cdr", "list", "--json", "--limit", "3")
    assert len(json.loads(result.stdout)) == 3  # scripts read the same list of CDRs as before
    assert result.stderr == "3 of 105 CDRs; --limit 0 shows all\n"


def test_ledger_and_audit_listings_show_local_times(cli, engine, card):
    cli("accounts", "create", "company", "acme", "--tariff", "retail")
    cli("accounts", "recharge", "acme", "3")
    now = utcnow()
    history = cli("accounts", "history", "acme").stdout.splitlines()
    assert LOCAL.match(history[2]) and abs(_parsed(history[2]) - now) < timedelta(minutes=1)
    shown = cli("cards", "show", card).stdout
    assert re.search(r"^" + LOCAL.pattern + r"\s+face", shown, re.M)
    assert LOCAL.search(re.search(r"^created_at:.*$", shown, re.M).group(0))
    audit_rows = cli("audit", "list").stdout.splitlines()
    assert all(LOCAL.match(row) for row in audit_rows[1:]) and len(audit_rows) > 2
    assert _parsed(audit_rows[-1]).utcoffset() in (timedelta(hours=2), timedelta(hours=3))
    entries = json.loads(cli("audit", "list", "--json").stdout)
    assert datetime.fromisoformat(entries[-1]["at"]).utcoffset() == timedelta(0)  # scripts keep ISO 8601


def _parsed(row: str) -> datetime:
    day, time, offset = row.split()[:3]
    return datetime.fromisoformat(f"{day}T{time}{offset}")
