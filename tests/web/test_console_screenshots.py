"""The README's screenshots of the console, taken from the real pages of a busy day at 1366x768.

`make screenshots` sets ASTERISKBILL_SCREENSHOTS=1 and they replace docs/console/*.png; otherwise (`make test`)
they go under the test's tmp_path and are only checked to be PNG images, so a test run never changes the
repository.
"""

from __future__ import annotations

import os
from datetime import datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from playwright.sync_api import Page, expect

from asteriskbill.billing.settle import CallResult
from asteriskbill.services import accounts, callshop, lifecycle
from asteriskbill.store.types import utcnow
from tests.helpers import ROOT
from tests.helpers.browser import VIEWPORT, assert_no_console_errors
from tests.helpers.console_world import ADMIN, BOOTH, UK, Shop, log_in, shop  # noqa: F401
from tests.helpers.waiting import wait_for

DOCS = ROOT / "docs" / "console"
PNG = b"\x89PNG\r\n\x1a\n"
RATES = """prefix,destination,price,increments,buy_price
44,United Kingdom,0.60,60/6,0.31
4420,UK London,0.40,60/6,0.19
1,USA,0.10,60/6,0.04
49,Germany,0.20,60/60,0.08
33,France,0.25,60/60,0.12
359,Bulgaria,0.15,60/60,0.05
"""
NUMBERS = ("00442071234567", "0015551234", "00493012345678", "0033142345678", "0035929876543", "00447700900123")
CALLERS = ("acme-201", "acme-202", "globex-401", "acme-201", "globex-401")
OUTCOMES = ("ANSWER", "ANSWER", "ANSWER", "BUSY", "ANSWER", "ANSWER", "NOANSWER", "ANSWER")
DAY_CALLS = 60


def folder(tmp_path: Path) -> Path:
    """docs/console when retaking the README's screenshots, else the test's own folder."""
    return DOCS if os.environ.get("ASTERISKBILL_SCREENSHOTS") == "1" else tmp_path


def busy_day(served: Shop, tmp_path: Path) -> None:
    """Rates with buy prices, two companies, calls all day so far, and five booths: one in a call, one postpaid
    that has spent, one prepaid and waiting, one stopped (its receipt given) and one never used."""
    cli = served.cli
    (tmp_path / "day-rates.csv").write_text(RATES)
    cli("rates", "import", "retail", tmp_path / "day-rates.csv", "--replace")
    cli("accounts", "create", "extension", "acme-202", "--parent", "acme", "--extension", "202")
    cli("accounts", "create", "company", "globex", "--tariff", "retail", "--currency", "USD")
    cli("accounts", "create", "extension", "globex-401", "--parent", "globex", "--extension", "401")
    for name in ("acme-201", "acme-202", "globex-401"):
        cli("accounts", "recharge", name, "80")
    _calls_so_far_today(served)
    for n in range(2, 6):
        cli("accounts", "create", "extension", f"booth-30{n}", "--tariff", "retail", "--extension", f"30{n}", "--booth")
    cli("callshop", "start", BOOTH, "--prepaid", "5")
    cli("callshop", "start", "booth-302", "--credit-limit", "20")
    cli("callshop", "start", "booth-303", "--prepaid", "10")
    cli("callshop", "start", "booth-304", "--prepaid", "5")
    for extension in ("302", "304"):
        call = served.dial(NUMBERS[2], extension)
        served.asterisk.hang_up(call["BILL_SESSION"], int(call["BILL_MAX_MS"]))
    wait_for(lambda: not any(b.call_number for b in callshop.status(served.engine)), "the listener to settle them")
    cli("callshop", "stop", "booth-304")
    served.dial(UK, "301")  # up now, as the next one
    served.dial(NUMBERS[1], "201")


def _calls_so_far_today(served: Shop) -> None:
    """DAY_CALLS calls spread from midnight (the timezone setting's) to now, settled as the listener would."""
    now, zone = utcnow(), ZoneInfo(served.world.settings.timezone)
    midnight = datetime.combine(now.astimezone(zone).date(), time.min, tzinfo=zone)
    day = max(now - midnight - timedelta(minutes=10), timedelta(0))  # the last one over before the booths' calls
    for i in range(DAY_CALLS):
        began = midnight + day * (i + 0.5) / DAY_CALLS
        account = accounts.show(served.engine, CALLERS[i % len(CALLERS)]).id
        held = lifecycle.authorize(served.engine, served.world.settings, account, NUMBERS[i % len(NUMBERS)], now=began)
        outcome = OUTCOMES[i % len(OUTCOMES)]
        talked = (20 + (i * 47) % 420) * 1000 if outcome == "ANSWER" else 0
        answered = began + timedelta(seconds=6) if talked else None
        ended = began + timedelta(seconds=6 + talked // 1000)
        result = CallResult(held.session, outcome, talked, started_at=began, answered_at=answered, ended_at=ended)
        assert lifecycle.settle(served.engine, result) is not None


def shoot(page: Page, path: Path) -> None:
    page.screenshot(path=path)
    data = path.read_bytes()
    assert data.startswith(PNG) and len(data) > 10_000, path


def test_the_readme_screenshots_of_the_dashboard_the_callshop_and_the_statistics(page, shop, tmp_path):  # noqa: F811
    busy_day(shop, tmp_path)
    out = folder(tmp_path)
    out.mkdir(parents=True, exist_ok=True)
    assert page.viewport_size == VIEWPORT
    log_in(page, shop.url, ADMIN)
    expect(page.locator("table.live tbody tr")).to_have_count(2)
    shoot(page, out / "dashboard.png")

    page.get_by_role("link", name="Callshop").click()
    states = page.locator("article.booth mark.state")
    expect(states).to_have_text(["in a call", "postpaid", "prepaid", "idle", "idle"])
    shoot(page, out / "callshop.png")

    page.get_by_role("link", name="Statistics").click()
    page.wait_for_function(
        "() => { const all = [...document.querySelectorAll('canvas')]; return typeof Chart !== 'undefined'"
        " && all.length > 0 && all.every(canvas => Chart.getChart(canvas) !== undefined); }"
    )
    shoot(page, out / "statistics.png")
    assert_no_console_errors(page)
