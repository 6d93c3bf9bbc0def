"""`currency ...` and buy prices in a vendor's currency: rates by date, and the buy cost and margin of
calls converted into the tariff's currency with the rate valid on the call's day, on every backend.

The seed: tariff `leva` in BGN (Europe/Sofia) selling the USA at 0.50 BGN/min per second, bought at
0.10 USD/min; extension `booth-1` in BGN. USD BGN is 1.79 from 2026-12-01 and 1.80 from 2026-12-10.
"""

import csv
import json
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from asteriskbill.billing.settle import CallResult
from asteriskbill.money import parse_amount as m
from asteriskbill.services import lifecycle
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
    granted = lifecycle.authorize(engine, Settings(db=str(engine.url)), account_id, number, now=started)
    assert granted.session, granted.reason
    lifecycle.settle(
        engine,
        CallResult(
            granted.session,
            "ANSWER",
            seconds * 1000,
            started_at=started,
            answered_at=started,
            ended_at=started + timedelta(seconds=seconds),
        ),
    )
    return granted.session


def stored(engine, session: str) -> tuple:
    with engine.begin() as conn:
        return conn.execute(
            select(Cdr.cost, Cdr.buy_cost, Cdr.buy_currency, Cdr.currency).where(Cdr.session == session)
        ).one()


# --- rates by date ----------------------------------------------------------------------------------


def test_rates_by_date_listed_and_used_to_convert(cli, leva):
    assert json.loads(cli("currency", "list", "--json").stdout) == [
        {"base": "USD", "quote": "BGN", "rate": "1.79", "valid_from": "2026-12-01", "valid_until": "2026-12-09"},
        {"base": "USD", "quote": "BGN", "rate": "1.80", "valid_from": "2026-12-10", "valid_until": None},
    ]

    def convert(day: str) -> dict:
        return json.loads(cli("currency", "convert", "10", "USD", "BGN", "--date", day, "--json").stdout)

    assert (convert("2026-12-01")["converted"], convert("2026-12-09")["converted"]) == ("17.90", "17.90")
    assert (convert("2026-12-10")["converted"], convert("2027-03-01")["converted"]) == ("18.00", "18.00")
    assert (
        cli("currency", "convert", "0.000001", "USD", "BGN", "--date", "2026-12-05").stdout
        == "0.000001 USD = 0.000002 BGN (rate 1.79 from 2026-12-01)\n"
    )  # 1.79 micro-units: to the nearest
    early = cli("currency", "convert", "10", "USD", "BGN", "--date", "2026-11-30", ok=False)
    assert "no USD BGN rate on 2026-11-30: set one with `asteriskbill currency set-rate USD BGN RATE" in early.stderr
    inverse = cli("currency", "convert", "17.90", "BGN", "USD", "--date", "2026-12-05", ok=False)
    assert "no BGN USD rate on 2026-12-05" in inverse.stderr  # 1/1.79 is not assumed


def test_set_rate_replaces_the_rate_of_its_date_and_is_audited(cli, leva):
    assert (
        cli("currency", "set-rate", "usd", "bgn", "1.795", "--date", "2026-12-10").stdout
        == "1 USD = 1.795 BGN from 2026-12-10 (was 1.80)\n"
    )
    assert [r["rate"] for r in json.loads(cli("currency", "list", "--json").stdout)] == ["1.79", "1.795"]
    log = [e for e in json.loads(cli("audit", "list", "--json").stdout) if e["action"] == "currency.rate"]
    assert [(e["subject"], e["detail"]["rate"], e["detail"]["replaced"]) for e in log] == [
        ("USD BGN", "1.79", None),
        ("USD BGN", "1.80", None),
        ("USD BGN", "1.795", "1.80"),
    ]


@pytest.mark.parametrize(
    "args, message",
    [
        (("USD", "BGN", "0"), "rate '0' must be more than 0"),
        (("USD", "BGN", "1.7900001"), "more than 6 decimals"),
        (("USD", "BGN", "-1"), "must not be negative"),
        (("USD", "usd", "1"), "not USD into itself"),
        (("DOLLAR", "BGN", "1"), "currency 'DOLLAR' must be three letters"),
        (("USD", "BGN", "1.79", "--date", "2026-13-01"), "'2026-13-01' is not a date"),
    ],
)
def test_set_rate_refuses_bad_input_and_changes_nothing(cli, engine, snapshot, args, message):
    before = snapshot()
    error = cli("currency", "set-rate", *args, ok=False).stderr.splitlines()[-1]
    assert error.startswith("Error: ") and message in error
    assert snapshot() == before


def test_set_rate_date_defaults_to_today_in_the_timezone_setting(cli, monkeypatch):
    monkeypatch.setenv("ASTERISKBILL_TIMEZONE", "Pacific/Kiritimati")  # UTC+14: often a day ahead of UTC

    def today() -> str:
        return datetime.now(ZoneInfo("Pacific/Kiritimati")).date().isoformat()

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
    (tmp_path / "mixed.csv").write_text(
        "prefix,price,time_from,time_to,buy_price,buy_currency\n1,0.50,08:00,18:00,0.10,USD\n1,0.30,,,0.05,EUR\n"
    )
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


# --- margin reports: cdr list, export and stats in the tariff's currency -------------------------------------


def cdrs_by_session(cli) -> dict[str, dict]:
    return {c["session"]: c for c in json.loads(cli("cdr", "list", "--json", "--limit", "0").stdout)}


def stats_total(cli) -> dict:
    (row,) = json.loads(cli("cdr", "stats", "--json").stdout)
    assert (row["key"], row["currency"]) == ("booth-1", "BGN")
    return row["total"]


@pytest.fixture
def margins(cli, engine, leva):
    """0.50 BGN sold for each of three calls of 60 s: on the 5th (1.79), the 12th (1.80), and a day with no
    rate yet (00:30 in Sofia on 20 November, still the 19th in UTC)."""
    return [
        call(engine, leva, at(day, clock), 60)
        for day, clock in (("2026-12-05", "12:00"), ("2026-12-12", "12:00"), ("2026-11-20", "00:30"))
    ]


def test_list_and_export_show_buy_cost_and_margin_in_the_tariffs_currency(cli, margins, tmp_path):
    first, second, unknown = margins
    found = cdrs_by_session(cli)
    assert [
        (found[s]["buy_cost"], found[s]["margin"], found[s]["buy_note"], found[s]["currency"]) for s in (first, second)
    ] == [("0.179", "0.321", None, "BGN"), ("0.18", "0.32", None, "BGN")]
    assert (found[unknown]["buy_cost"], found[unknown]["margin"]) == (None, None)
    assert found[unknown]["buy_note"] == (
        "0.10 USD: no USD BGN rate for the call's day (asteriskbill currency set-rate)"
    )
    cli("cdr", "export", "-o", tmp_path / "cdrs.csv")
    exported = {row["session"]: row for row in csv.DictReader((tmp_path / "cdrs.csv").open())}
    assert (exported[first]["buy_cost"], exported[first]["margin"]) == ("0.179", "0.321")
    assert (exported[unknown]["margin"], exported[unknown]["buy_note"]) == ("", found[unknown]["buy_note"])
    text = cli("cdr", "list").stdout.splitlines()
    assert text[1].endswith("0.50 BGN  0.32 BGN") and text[3].endswith("0.50 BGN  ? no USD rate")
    assert text[-1].startswith("? a buy cost in a vendor's currency with no rate for the call's day")


def test_stats_sum_margins_in_the_tariffs_currency_and_count_calls_with_no_rate(cli, margins):
    total = stats_total(cli)
    assert (total["calls"], total["cost"], total["buy_cost"], total["margin"], total["no_rate_calls"]) == (
        3,
        "1.50",
        "0.359",
        "0.641",
        1,
    )  # 1.00 - 0.179 - 0.18: the third call is left out, and counted
    lines = cli("cdr", "stats").stdout.splitlines()
    assert lines[0].split()[-4:] == ["cost", "buy_cost", "margin", "no_rate"]
    assert lines[1].split()[-4:] == ["1.50", "0.359", "0.641", "1"]
    assert lines[-1].startswith("no_rate: calls whose buy cost is in a vendor's currency with no rate")


def test_a_rate_set_later_converts_in_reports_with_the_calls_day(cli, engine, margins):
    unknown = margins[2]
    cli("currency", "set-rate", "USD", "BGN", "1.70", "--date", "2026-11-20")  # Sofia's day: the 20th
    found = cdrs_by_session(cli)[unknown]
    assert (found["buy_cost"], found["margin"], found["buy_note"]) == ("0.17", "0.33", None)
    total = stats_total(cli)
    assert (total["buy_cost"], total["margin"], total["no_rate_calls"]) == ("0.529", "0.971", 0)
    assert "no_rate" not in cli("cdr", "stats").stdout
    assert stored(engine, unknown)[1:3] == (m("0.10"), "USD")  # the CDR itself is as settlement wrote it
