"""The administrator's statistics (charts and tables of today's calls) and the system page."""

from __future__ import annotations

import json
import re
import socket
from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from asteriskbill.billing.settle import CallResult
from asteriskbill.services import lifecycle
from asteriskbill.store.models import Account
from asteriskbill.store.types import utcnow
from tests.helpers.console import add_user, admin, client, log_in  # noqa: F401
from tests.helpers.world import make_world

USA, UK = "0015551234", "00442071234567"  # 0.10/min 1/1; 0.60/min 60/6
BOUGHT = """prefix,destination,price,increments,buy_price
44,UK,0.60,60/6,0.40
1,USA,0.10,1/1,
"""
CHART = re.compile(r'<script type="application/json" id="([^"]+)" data-chart="[^"]+">(.*?)</script>', re.S)


def charts(page: str) -> dict[str, dict]:
    """The chart data the page carries, by element id."""
    return {name: json.loads(text) for name, text in CHART.findall(page)}


def account_id(engine, name: str) -> int:
    with engine.begin() as conn:
        return conn.execute(select(Account.id).where(Account.name == name)).scalar_one()


def call(engine, settings, account: str, number: str, outcome: str, talked_ms: int) -> None:
    """A call authorized and settled now, as the AGI and the ARI listener would."""
    now = utcnow().replace(microsecond=0)
    held = lifecycle.authorize(engine, settings, account_id(engine, account), number, now=now)
    answered = now + timedelta(seconds=5) if outcome == "ANSWER" else None
    result = CallResult(held.session, outcome, talked_ms, started_at=now, answered_at=answered)
    assert lifecycle.settle(engine, result) is not None


@pytest.fixture
def today(engine, cli, tmp_path):
    """Four calls today: the card to the USA for 60 s and 30 s, acme-201 to the UK for 60 s (bought for 0.40),
    and a busy one."""
    world = make_world(cli, tmp_path, card_value="5.00", card_args=("--max-calls", "10"))
    (tmp_path / "bought.csv").write_text(BOUGHT)
    cli("rates", "import", "retail", tmp_path / "bought.csv", "--replace")
    call(engine, world.settings, world.card, USA, "ANSWER", 60_000)
    call(engine, world.settings, world.card, USA, "ANSWER", 30_000)
    call(engine, world.settings, "acme-201", UK, "ANSWER", 60_000)
    call(engine, world.settings, "acme-201", UK, "BUSY", 0)
    return world


def total(chart: dict, label: str) -> Decimal:
    [dataset] = [d for d in chart["datasets"] if d["label"] == label]
    return sum((Decimal(value) for value in dataset["data"] if value is not None), Decimal(0))


def test_the_statistics_of_today_chart_and_table_every_call(today, admin):  # noqa: F811
    answer = admin.get("/stats")
    assert answer.status_code == 200
    found = charts(answer.text)
    traffic = found["chart-traffic-data"]
    assert len(traffic["labels"]) == 24  # the hours of today
    assert (total(traffic, "calls"), total(traffic, "minutes")) == (4, Decimal("2.5"))
    money = found["chart-money-USD-data"]
    assert (total(money, "takings"), total(money, "margin")) == (Decimal("0.75"), Decimal("0.20"))
    classes = found["chart-classes-data"]
    assert classes["labels"] == ["local", "national", "international"] and total(classes, "minutes") == 2.5
    assert "<td>acme</td>" in answer.text and "<td>acme-201</td>" in answer.text
    assert f"<td>{today.card}</td>" in answer.text


def test_a_week_is_charted_per_day_and_an_unknown_account_is_one_error(today, admin):  # noqa: F811
    week = charts(admin.get("/stats", params={"period": "7days"}).text)["chart-traffic-data"]
    assert len(week["labels"]) == 7 and total(week, "calls") == 4
    acme = charts(admin.get("/stats", params={"period": "month", "account": "acme"}).text)
    assert total(acme["chart-traffic-data"], "calls") == 2
    answer = admin.get("/stats", params={"account": "nobody"})
    assert answer.status_code == 400 and "nobody" in answer.text and not charts(answer.text)
    answer = admin.get("/stats", params={"period": "custom", "since": "2026-12-02", "until": "2026-12-01"})
    assert answer.status_code == 400 and "the period is empty" in answer.text


def test_the_system_page_shows_the_database_and_what_status_finds(engine, settings):
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))  # FastAGI: a port that refuses at once
        add_user(engine, "adam", "admin")
        web = client(engine, settings.replace(fastagi_port=closed.getsockname()[1]))
        assert log_in(web, "adam").status_code == 303
        page = web.get("/system").text
    assert f"{engine.dialect.name} <code>" in page
    assert "DOES NOT ANSWER" in page and "No Asterisk server is configured" in page
    assert ("in the database&#39;s folder" in page) == (engine.dialect.name == "sqlite")
    assert "0 open reservations holding nothing" in page
