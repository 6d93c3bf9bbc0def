"""`tariff` and `quote` through the real command, on every backend."""

import json
from datetime import time

from sqlalchemy import func, insert, select

from asteriskbill.money import parse_amount as m
from asteriskbill.rating.model import IntervalGroup, Rate, groups_from_increments
from asteriskbill.store.models import RateRow, Tariff
from asteriskbill.store.tariffs import rate_values


def add_rates(engine, tariff: str, *rates: Rate) -> None:
    with engine.begin() as conn:
        tid = conn.execute(select(Tariff.id).where(Tariff.name == tariff)).scalar_one()
        conn.execute(insert(RateRow), [{"tariff_id": tid, **rate_values(r)} for r in rates])


def test_tariff_create_list_show(cli):
    cli("tariff", "create", "retail", "--currency", "usd", "--rounding", "0.01", "--timezone", "Europe/Sofia")
    cli("tariff", "holiday", "add", "retail", "2026-12-25")
    cli("tariff", "holiday", "add", "retail", "2026-12-24", "--as", "sat")
    listed = json.loads(cli("tariff", "list", "--json").stdout)
    assert listed == [
        {
            "name": "retail",
            "currency": "USD",
            "rounding": "0.01",
            "timezone": "Europe/Sofia",
            "rates": 0,
            "holidays": {"2026-12-24": "sat", "2026-12-25": "sun"},
        }
    ]
    shown = cli("tariff", "show", "retail").stdout
    assert "2026-12-25 (priced as sun)" in shown


def test_tariff_errors_change_nothing(cli, engine):
    cli("tariff", "create", "retail", "--currency", "USD")
    for args, message in [
        (("tariff", "create", "retail", "--currency", "USD"), "exists already"),
        (("tariff", "create", "x", "--currency", "EURO"), "three letters"),
        (("tariff", "create", "x", "--currency", "EUR", "--timezone", "Mars/Olympus"), "unknown time zone"),
        (("tariff", "create", "x", "--currency", "EUR", "--rounding", "0.0000001"), "more than 6 decimals"),
        (("tariff", "create", "x", "--currency", "EUR", "--rounding", "0"), "more than 0"),
        (("tariff", "show", "nope"), "no tariff named 'nope'"),
        (("tariff", "holiday", "add", "retail", "25/12/2026"), "not a date"),
    ]:
        result = cli(*args, ok=False)
        assert message in result.output
    cli("tariff", "holiday", "add", "retail", "2026-12-25")
    assert "holiday of tariff" in cli("tariff", "holiday", "add", "retail", "2026-12-25", ok=False).output
    with engine.begin() as conn:
        assert conn.execute(select(func.count()).select_from(Tariff)).scalar_one() == 1


def test_quote_seconds_json_breakdown(cli, engine):
    cli("tariff", "create", "retail", "--currency", "USD")
    add_rates(
        engine,
        "retail",
        Rate(
            "44", groups_from_increments(m("0.60"), 60, 60), destination="UK peak", time_from=time(8), time_to=time(18)
        ),
        Rate("44", groups_from_increments(m("0.06")), destination="UK"),
    )
    data = json.loads(
        cli("quote", "retail", "+4420712345", "--seconds", "90", "--at", "2026-01-05T17:59:30", "--json").stdout
    )
    assert (data["prefix"], data["destination"], data["seconds"], data["cost"]) == ("44", "UK peak", 90, "0.63")
    assert [(s["destination"], s["start"], s["end"]) for s in data["spans"]] == [("UK peak", 0, 60), ("UK", 60, 90)]
    assert data["at"] == "2026-01-05T17:59:30+00:00"


def test_quote_balance(cli, engine):
    cli("tariff", "create", "retail", "--currency", "USD")
    add_rates(
        engine,
        "retail",
        Rate(
            "1",
            (IntervalGroup(0, m("0.20"), 60), IntervalGroup(60, m("0.10"), 1)),
            connect_fee=m("0.40"),
            destination="USA",
        ),
    )
    data = json.loads(cli("quote", "retail", "15551234", "--balance", "0.625", "--json").stdout)
    assert (data["max_seconds"], data["cost"], data["capped"]) == (75, "0.625", False)
    text = cli("quote", "retail", "15551234", "--balance", "0.625").stdout
    assert "0.625 USD pays for 75 s" in text
    capped = json.loads(cli("quote", "retail", "15551234", "--balance", "100000", "--json").stdout)
    assert (capped["max_seconds"], capped["capped"]) == (10800, True)


def test_quote_errors(cli, engine):
    cli("tariff", "create", "retail", "--currency", "USD")
    assert "no rate in tariff 'retail' for 4420" in cli("quote", "retail", "+4420", "--seconds", "5", ok=False).output
    assert "exactly one of" in cli("quote", "retail", "+4420", ok=False).output
    assert "not a phone number" in cli("quote", "retail", "44x", "--seconds", "5", ok=False).output
    assert "not a decimal" in cli("quote", "retail", "+4420", "--balance", "ten", ok=False).output
