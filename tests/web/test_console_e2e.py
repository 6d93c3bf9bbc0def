"""The console end to end, as people use it: Debian's chromium on the pages of a real `serve` process over a real
SQLite file, calls placed on its FastAGI server and settled by its ARI listener from a fake Asterisk's events.
Every wait is on what the page shows (Playwright's expect); every test ends with a clean browser console."""

from __future__ import annotations

import csv
import re

from playwright.sync_api import Page, expect

from asteriskbill.money import parse_amount as m
from asteriskbill.services import cards, tariffs, users
from asteriskbill.web.render import NAV
from tests.helpers.browser import assert_no_console_errors
from tests.helpers.console_world import (  # noqa: F401
    ADMIN,
    BOOTH,
    OPERATOR,
    PASSWORD,
    UK,
    log_in,
    shop,
)
from tests.helpers.world import RATES

BAD_RATES = "prefix,destination,price\n44,UK,0.60\n4420,London,cheap\n1,USA,0.10\n"


def recharge(page: Page, amount: str, order: str) -> None:
    page.get_by_role("textbox", name="Amount").fill(amount)
    page.get_by_role("textbox", name="Order number").fill(order)
    page.get_by_role("button", name="Recharge").click()


def try_login(page: Page, password: str) -> None:
    """The operator's name and ``password`` in the login form, and its answer loaded."""
    page.get_by_label("User").fill(OPERATOR)
    page.get_by_label("Password").fill(password)
    with page.expect_response(lambda answer: answer.request.method == "POST"):
        page.get_by_role("button", name="Log in").click()
    page.wait_for_load_state()


def test_an_operator_finds_a_card_and_recharges_it_with_an_order_number(page, shop):  # noqa: F811
    number = shop.world.card
    log_in(page, shop.url, OPERATOR)
    page.get_by_role("search").get_by_role("searchbox").fill(number)
    page.get_by_role("button", name="Find").click()
    expect(page.get_by_role("heading", name=f"Card {number}")).to_be_visible()
    recharge(page, "5.25", "INV-77")
    expect(page.get_by_role("status")).to_have_text(
        f"recharged card {number} with 5.25 USD (order INV-77): balance 6.25 USD"
    )
    first = page.locator("table.history tbody tr").first
    for cell in ("recharge", "5.25 USD", "6.25 USD", "INV-77", OPERATOR):
        expect(first).to_contain_text(cell)
    expect(page.locator("article", has_text="Balance").locator(".figure")).to_have_text("6.25 USD")
    assert cards.show(shop.engine, number)[0].balance == m("6.25")
    assert_no_console_errors(page)


def test_a_booth_call_shows_live_is_settled_listed_and_the_receipt_gives_the_change(page, shop):  # noqa: F811
    log_in(page, shop.url, OPERATOR)
    page.get_by_role("link", name="Callshop").click()
    booth = page.locator("article.booth", has_text=BOOTH)
    booth.get_by_label("Prepaid amount").fill("5.00")
    booth.get_by_role("button", name="Start prepaid").click()
    expect(page.get_by_role("status")).to_have_text(f"booth {BOOTH} started: prepaid 5.00 USD")

    page.get_by_role("link", name="Dashboard").click()
    live = page.locator("table.live")
    expect(live).to_contain_text("No calls up now")  # drawn before the call: what follows came live
    call = shop.dial(UK)
    assert call["BILL_STATUS"] == "OK", call
    row = live.locator("tbody tr", has_text=BOOTH)
    expect(row).to_contain_text("UK")

    page.get_by_role("link", name="Callshop").click()
    expect(booth.locator("mark.state")).to_have_text("in a call")
    expect(booth.get_by_role("button", name="Stop and give the receipt")).to_be_disabled()
    shop.asterisk.hang_up(call["BILL_SESSION"], int(call["BILL_MAX_MS"]))  # answered 3.5 s: billed 60 s, 0.60
    expect(booth.locator("mark.state")).to_have_text("prepaid")  # the listener settled it: the card came live
    expect(booth).to_contain_text("0.60 USD")
    expect(booth).to_contain_text("4.40 USD")

    page.get_by_role("link", name="Calls", exact=True).click()
    cdr = page.locator("tbody tr", has_text=BOOTH)
    for cell in ("UK", "0:04", "0.60 USD", "ANSWER"):  # 3.5 s of talk, charged a first minute
        expect(cdr).to_contain_text(cell)

    page.get_by_role("link", name="Callshop").click()
    booth.get_by_role("button", name="Stop and give the receipt").click()
    expect(page.locator(".settlement")).to_have_text(re.compile(r"Change\s+4\.40 USD"))
    expect(page.locator("article.receipt pre")).to_contain_text("Paid")
    assert_no_console_errors(page)


def test_a_rates_file_with_a_bad_line_imports_nothing_then_a_good_one_is_listed(page, shop):  # noqa: F811
    shop.cli("tariff", "create", "wholesale", "--currency", "USD")
    log_in(page, shop.url, ADMIN)
    page.get_by_role("link", name="Tariffs").click()
    page.get_by_role("link", name="wholesale").click()
    upload = page.get_by_label("Rates file")
    upload.set_input_files(files=[{"name": "rates.csv", "mimeType": "text/csv", "buffer": BAD_RATES.encode()}])
    page.get_by_role("button", name="Import", exact=True).click()
    expect(page.locator("p.error")).to_have_text("rates.csv: 1 error(s), nothing was imported:")
    expect(page.locator("ul.problems li")).to_have_count(1)
    expect(page.locator("ul.problems li")).to_contain_text("line 3: price 'cheap' is not a decimal number")
    expect(page.get_by_text("No rates yet")).to_be_visible()
    assert tariffs.show_tariff(shop.engine, "wholesale").rates == 0

    upload.set_input_files(files=[{"name": "good.csv", "mimeType": "text/csv", "buffer": RATES.encode()}])
    page.get_by_role("button", name="Import", exact=True).click()
    expect(page.get_by_role("status")).to_contain_text("imported 2 rates into tariff wholesale")
    prefixes = page.locator("table.striped tbody tr td:first-child")
    expect(prefixes).to_have_text(["1", "44"])
    assert tariffs.show_tariff(shop.engine, "wholesale").rates == 2
    assert_no_console_errors(page)


def test_the_pins_of_a_new_batch_download_once(page, shop):  # noqa: F811
    log_in(page, shop.url, ADMIN)
    page.get_by_role("link", name="Cards").click()
    page.get_by_label("Cards").fill("3")
    page.get_by_label("Face value").fill("10")
    page.get_by_label("Batch name").fill("shop-tens")
    page.get_by_role("button", name="Generate").click()
    expect(page.get_by_role("status")).to_contain_text("batch shop-tens: 3 cards of 10.00 USD generated")
    link = page.get_by_role("button", name="Download the PINs of shop-tens (CSV)")
    with page.expect_download() as downloading:
        link.click()
    download = downloading.value
    assert download.suggested_filename == "shop-tens-pins.csv"
    rows = list(csv.DictReader(download.path().read_text().splitlines()))
    assert len(rows) == 3 and all(row["number"] and row["pin"] for row in rows)

    again = page.goto(f"{shop.url}{link.get_attribute('href')}")
    assert again is not None and again.status == 404
    expect(page.locator("p.error")).to_contain_text("these PINs were already downloaded or expired")
    page.go_back()
    page.reload()
    expect(page.get_by_role("heading", name="Card batches")).to_be_visible()
    expect(page.locator("article.pins")).to_have_count(0)  # the page offers the file no more
    assert_no_console_errors(page)


def test_an_operator_is_refused_every_administrator_page(page, shop):  # noqa: F811
    log_in(page, shop.url, OPERATOR)
    admin_pages = [(label, path) for label, path, role in NAV if role == "admin"]
    assert admin_pages
    nav = page.locator("header nav")
    for label, path in admin_pages:
        expect(nav.get_by_role("link", name=label, exact=True)).to_have_count(0)
        answer = page.goto(f"{shop.url}{path}")
        assert answer is not None and answer.status == 403, path
        expect(page.locator("p.error")).to_have_text("this page is for administrators")
    assert_no_console_errors(page)


def test_the_sixth_try_is_refused_even_with_the_right_password_and_the_log_shows_all_six(page, shop):  # noqa: F811
    page.goto(f"{shop.url}/login")
    for password in [f"wrong {n}" for n in range(5)]:
        try_login(page, password)
        expect(page.locator("p.error")).to_have_text("wrong user name or password")
    try_login(page, PASSWORD)
    expect(page.locator("p.error")).to_contain_text("too many wrong passwords: this user is locked")
    expect(page.get_by_role("heading", name="Log in")).to_be_visible()

    log_in(page, shop.url, ADMIN)
    page.get_by_role("link", name="Users").click()
    page.get_by_role("link", name="Login log").click()
    page.get_by_label("User").fill(OPERATOR)
    page.get_by_role("button", name="Show").click()
    rows = page.locator("tbody tr")
    expect(rows).to_have_count(6)
    expect(rows.first).to_contain_text("locked")
    expect(rows.filter(has_text="wrong password")).to_have_count(5)
    assert [a.reason for a in users.logins(shop.engine, OPERATOR)] == ["locked"] + ["wrong password"] * 5
    assert_no_console_errors(page)


def test_a_recharge_without_its_csrf_token_changes_nothing(page, shop):  # noqa: F811
    number = shop.world.card
    log_in(page, shop.url, OPERATOR)
    page.goto(f"{shop.url}/card/{number}")
    page.evaluate("document.querySelector('form[action$=\"/recharge\"] input[name=csrf]').remove()")
    recharge(page, "5", "INV-78")
    expect(page.locator("p.error")).to_have_text("this form has expired: reload the page and try again")
    assert cards.show(shop.engine, number)[0].balance == m("1")
    page.goto(f"{shop.url}/card/{number}")
    expect(page.locator("table.history")).not_to_contain_text("INV-78")
    assert_no_console_errors(page)
