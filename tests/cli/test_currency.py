"""`currency ...` and buy prices in a vendor's currency: rates by date, and the buy cost and margin of
calls converted into the tariff's currency with the rate valid on the call's day, on every backend.

The seed: tariff `leva` in BGN (Europe/Sofia) selling the USA at 0.50 BGN/min per second, bought at
0.10 USD/min; extension `booth-1` in BGN. USD BGN is 1.79 from 2026-12-01 and 1.80 from 2026-12-10.
"""

import json
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from asteriskbill.billing.settle import CallResult
from asteriskbill.money import parse_amount as m
from asteriskbill.services import calls, settlement
from asteriskbill.settings import Settings
from asteriskbill.store.models import Account, Cdr

RATES = """prefix,destination,price,increments,buy_price,buy_currency
1,USA,0.50,1/1,0.10,USD
44,UK,0.80,1/1,0.30,
"""
SOFIA = timezone(timedelta(hours=2))


def at(day: str, clock: str = "12:00") -> datetime:
    return datetime.fromisoformat(f"{day}T{clock}").replace(tzinfo=SOFIA)


@pytest.fixture
def leva(cli, tmp_path):
    cli("tariff", "create", "leva", "--currency", "BGN", "--timezone", "Europe/Sofia")
    (tmp_path / "rates.csv").write_text(RATES)
    cli("rates", "import", "leva", tmp_path / "rates.csv")
    cli("routes", "add", "", "PJSIP/${NUMBER}@carrier")
    cli("accounts", "create", "extension", "booth-1", "--tariff", "leva", "--extension", "301")
    cli("accounts", "recharge", "booth-1", "100")
    cli("currency", "set-rate", "USD", "BGN", "1.79", "--date", "2026-12-01")
    cli("currency", "set-rate", "USD", "BGN", "1.80", "--date", "2026-12-10")
    return "booth-1"


def call(engine, account: str, started: datetime, seconds: int, number: str = "0015551234") -> str:
    """Authorize a call at ``started`` and settle it as answered for ``seconds``; its session."""
    with engine.begin() as conn:
        account_id = conn.execute(select(Account.id).where(Account.name == account)).scalar_one()
    granted = calls.authorize(engine, Settings(db=str(engine.url)), account_id, number, now=started)
    assert granted.session, granted.reason
    settlement.settle(engine, CallResult(granted.session, "ANSWER", seconds * 1000, started_at=started,
                                         answered_at=started, ended_at=started + timedelta(seconds=seconds)))
    return granted.session


def stored(engine, session: str) -> tuple:
    with engine.begin() as conn:
        return conn.execute(select(Cdr.cost, Cdr.buy_cost, Cdr.buy_currency, Cdr.currency)
                            .where(Cdr.session == session)).one()


# --- rates by date ----------------------------------------------------------------------------------

def test_rates_by_date_listed_and_used_to_convert(cli, leva):
    assert json.loads(cli("currency", "list", "--json").stdout) == [
        {"base": "USD", "quote": "BGN", "rate": "1.79", "valid_from": "2026-12-01", "valid_until": "2026-12-09"},
        {"base": "USD", "quote": "BGN", "rate": "1.80", "valid_from": "2026-12-10", "valid_until": None}]
    convert = lambda day: json.loads(cli("currency", "convert", "10", "USD", "BGN", "--date", day, "--json").stdout)
    assert (convert("2026-12-01")["converted"], convert("2026-12-09")["converted"]) == ("17.90", "17.90")
    assert (convert("2026-12-10")["converted"], convert("2027-03-01")["converted"]) == ("18.00", "18.00")
    assert cli("currency", "convert", "0.000001", "USD", "BGN", "--date", "2026-12-05").stdout == \
        "0.000001 USD = 0.000002 BGN (rate 1.79 from 2026-12-01)\n"  # 1.79 micro-units: to the nearest
    early = cli("currency", "convert", "10", "USD", "BGN", "--date", "2026-11-30", ok=False)
    assert "no USD BGN rate on 2026-11-30: set one with `asteriskbill currency set-rate USD BGN RATE" in early.stderr
    inverse = cli("currency", "convert", "17.90", "BGN", "USD", "--date", "2026-12-05", ok=False)
    assert "no BGN USD rate on 2026-12-05" in inverse.stderr  # 1/1.79 is not assumed


def test_set_rate_replaces_the_rate_of_its_date_and_is_audited(cli, leva):
    assert cli("currency", "set-rate", "usd", "bgn", "1.795", "--date", "2026-12-10").stdout == \
        "1 USD = 1.795 BGN from 2026-12-10 (was 1.80)\n"
    assert [r["rate"] for r in json.loads(cli("currency", "list", "--json").stdout)] == ["1.79", "1.795"]
    log = [e for e in json.loads(cli("audit", "list", "--json").stdout) if e["action"] == "currency.rate"]
    assert [(e["subject"], e["detail"]["rate"], e["detail"]["replaced"]) for e in log] == [
        ("USD BGN", "1.79", None), ("USD BGN", "1.80", None), ("USD BGN", "1.795", "1.80")]


@pytest.mark.parametrize("args, message", [
    (("USD", "BGN", "0"), "rate '0' must be more than 0"),
    (("USD", "BGN", "1.7900001"), "more than 6 decimals"),
    (("USD", "BGN", "-1"), "must not be negative"),
    (("USD", "usd", "1"), "not USD into itself"),
    (("DOLLAR", "BGN", "1"), "currency 'DOLLAR' must be three letters"),
    (("USD", "BGN", "1.79", "--date", "2026-13-01"), "'2026-13-01' is not a date"),
])
def test_set_rate_refuses_bad_input_and_changes_nothing(cli, engine, snapshot, args, message):
    before = snapshot()
    error = cli("currency", "set-rate", *args, ok=False).stderr.splitlines()[-1]
    assert error.startswith("Error: ") and message in error
    assert snapshot() == before


def test_set_rate_date_defaults_to_today_in_the_timezone_setting(cli, monkeypatch):
    monkeypatch.setenv("ASTERISKBILL_TIMEZONE", "Pacific/Kiritimati")  # UTC+14: often a day ahead of UTC
    today = lambda: datetime.now(ZoneInfo("Pacific/Kiritimati")).date().isoformat()
    before = today()
    cli("currency", "set-rate", "EUR", "BGN", "1.95583")
    (rate,) = json.loads(cli("currency", "list", "--json").stdout)
    assert rate["valid_from"] in (before, today())  # either side of a midnight


# --- settlement: the buy cost in the tariff's currency -------------------------------------------------

def test_settlement_converts_the_buy_cost_with_the_rate_of_the_calls_day(cli, engine, leva):
    first = call(engine, leva, at("2026-12-05"), 60)
    second = call(engine, leva, at("2026-12-12"), 60)
    # 0.50 BGN sold; 0.10 USD bought = 0.179 BGN on the 5th, 0.18 BGN on the 12th
    assert stored(engine, first) == (m("0.50"), m("0.179"), None, "BGN")
    assert stored(engine, second) == (m("0.50"), m("0.18"), None, "BGN")


def test_the_calls_day_is_in_its_tariffs_time_zone(cli, engine, leva):
    # 00:30 in Sofia on the 10th is still the 9th in UTC: the 10th's rate applies
    session = call(engine, leva, at("2026-12-10", "00:30"), 60)
    assert stored(engine, session)[1] == m("0.18")


def test_a_buy_cost_with_no_rate_for_its_day_is_kept_in_its_currency(cli, engine, leva):
    session = call(engine, leva, at("2026-11-20"), 60)
    assert stored(engine, session) == (m("0.50"), m("0.10"), "USD", "BGN")


def test_a_buy_price_in_the_tariffs_currency_needs_no_rate(cli, engine, leva):
    session = call(engine, leva, at("2026-11-20"), 30, number="00442071234567")
    assert stored(engine, session) == (m("0.40"), m("0.15"), None, "BGN")


def test_a_call_across_rates_bought_in_two_currencies(cli, engine, leva, tmp_path):
    (tmp_path / "mixed.csv").write_text("prefix,price,time_from,time_to,buy_price,buy_currency\n"
                                        "1,0.50,08:00,18:00,0.10,USD\n1,0.30,,,0.05,EUR\n")
    cli("tariff", "create", "mixed", "--currency", "BGN", "--timezone", "Europe/Sofia")
    cli("rates", "import", "mixed", tmp_path / "mixed.csv")
    cli("accounts", "create", "extension", "two", "--tariff", "mixed", "--extension", "302")
    cli("accounts", "recharge", "two", "10")
    # 60 s at the USD-bought rate, 60 s at the EUR-bought one: without an EUR BGN rate no sum means anything
    unknown = call(engine, "two", at("2026-12-05", "17:59"), 120)
    assert stored(engine, unknown) == (m("0.80"), None, None, "BGN")
    cli("currency", "set-rate", "EUR", "BGN", "1.95583", "--date", "2026-12-01")
    known = call(engine, "two", at("2026-12-06", "17:59"), 120)
    assert stored(engine, known) == (m("0.80"), m("0.179") + m("0.097792"), None, "BGN")  # 0.0977915 rounds up
