"""The card batches page: the list with used and unused cards, generating a batch, and its PIN file downloaded
once — on every backend."""

from __future__ import annotations

import csv
import io
import re
import stat

import pytest

from asteriskbill.billing.authorize import BillStatus
from asteriskbill.services import calls, card_batches, tariffs
from asteriskbill.settings import Settings
from asteriskbill.web.pages.batches import PinFiles
from tests.helpers.console import admin, operator, post_form  # noqa: F401

BATCH = {"count": "3", "value": "5", "tariff": "retail", "activation": "now", "valid_days": "30", "name": "promo"}


@pytest.fixture
def settings(db_url, secret_file) -> Settings:
    """The console's settings, the installation secret (PIN hashes) in the test's own directory."""
    return Settings(db=db_url, secret_file=str(secret_file))


@pytest.fixture
def retail(engine):
    tariffs.create_tariff(engine, "tester", "retail", "USD", 10_000, "UTC")
    return "retail"


def generate(web, **changes):
    return post_form(web, "/batches", {**BATCH, **changes}, from_page="/batches")


def errors(page_text: str) -> list[str]:
    return re.findall(r'<p class="error" role="alert">([^<]*)</p>', page_text)


def pins_link(page_text: str) -> str:
    found = re.search(r'href="(/batches/pins/[^"]+)"', page_text)
    assert found, "no link to the PIN file"
    return found.group(1)


def test_generate_then_download_the_pins_once(engine, settings, admin, retail, snapshot):  # noqa: F811
    answer = generate(admin)
    assert answer.status_code == 303 and answer.headers["location"].startswith("/batches?pins=")
    page = admin.get(answer.headers["location"]).text
    assert "batch promo: 3 cards of 5.00 USD generated" in page
    link = pins_link(page)

    sent = admin.get(link)
    assert sent.status_code == 200 and sent.headers["content-type"].startswith("text/csv")
    assert 'filename="promo-pins.csv"' in sent.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(sent.text)))
    assert len(rows) == 3
    assert {(r["value"], r["currency"], r["batch"], r["validity"]) for r in rows} == {
        ("5.00", "USD", "promo", "30 days from activation")
    }
    for row in rows:
        assert calls.card_login(engine, settings, row["number"], row["pin"]).status == BillStatus.OK

    again = admin.get(link)
    assert again.status_code == 404 and "already downloaded or expired" in again.text
    assert "pins=" not in admin.get("/batches").text  # the list no longer offers it

    stored = {str(value) for rows_ in snapshot().values() for row in rows_ for value in row}
    assert not {row["pin"] for row in rows} & stored  # no PIN in clear anywhere in the database


def test_the_pin_file_is_private_and_removed_once_sent(admin, retail):  # noqa: F811
    page = admin.get(generate(admin).headers["location"]).text
    token = pins_link(page).rsplit("/", 1)[1]
    waiting = PinFiles.of(admin.app).peek(token)
    assert waiting is not None
    assert stat.S_IMODE(waiting.path.stat().st_mode) == 0o600
    assert stat.S_IMODE(waiting.path.parent.stat().st_mode) == 0o700
    assert admin.get(f"/batches/pins/{token}").status_code == 200
    assert not waiting.path.exists() and not waiting.path.parent.exists()


def test_an_unfetched_pin_file_expires(admin, retail, monkeypatch):  # noqa: F811
    monkeypatch.setattr("asteriskbill.web.pages.batches.PIN_FILE_MINUTES", 0)
    page = admin.get(generate(admin).headers["location"]).text
    assert "/batches/pins/" not in page  # already out of time: no link
    token = re.search(r"pins=([^\"&]+)", generate(admin, name="second").headers["location"])
    assert token
    path = PinFiles.of(admin.app).waiting[token.group(1)].path
    answer = admin.get(f"/batches/pins/{token.group(1)}")
    assert answer.status_code == 404 and "already downloaded or expired" in answer.text
    assert not path.exists() and not path.parent.exists()


def test_the_list_shows_used_and_unused_cards(engine, admin, retail):  # noqa: F811
    admin.get(generate(admin).headers["location"])
    page = admin.get("/batches").text
    row = re.search(r"<td>promo</td>(.*?)</tr>", page, re.S)
    assert row
    cells = re.findall(r"<td[^>]*>([^<]*)</td>", row.group(1))
    assert "5.00 USD" in cells and "30 days from activation" in cells
    assert cells[-4:-1] == ["0", "3", "0"]  # used, unused, deleted
    assert card_batches.list_batches(engine)[0].unused == 3


def test_a_bad_value_shows_one_error_and_generates_nothing(engine, admin, retail):  # noqa: F811
    answer = generate(admin, value="five")
    assert answer.status_code == 400
    assert errors(answer.text) == [
        "value &#39;five&#39; is not a decimal number (use digits 0-9 and an optional &#39;.&#39;, e.g. 10.50)"
    ]
    assert 'value="five"' in answer.text and 'value="promo"' in answer.text  # what was typed is kept
    for changes, words in (
        ({"count": "many"}, "count &#39;many&#39; is not a whole number"),
        ({"count": "0"}, "--count must be at least 1"),
        ({"valid_days": "30", "expires": "2099-01-01"}, "give --valid-days or --expires, not both"),
        ({"tariff": "nosuch"}, "no tariff named &#39;nosuch&#39;"),
    ):
        answer = generate(admin, **changes)
        assert answer.status_code == 400 and len(errors(answer.text)) == 1 and words in errors(answer.text)[0]
    assert card_batches.list_batches(engine) == []
    assert PinFiles.of(admin.app).waiting == {}


def test_without_a_tariff_the_page_says_to_create_one(admin):  # noqa: F811
    assert 'href="/tariffs">create one</a>' in admin.get("/batches").text


def test_an_operator_is_refused_the_batch_pages(operator, admin, retail):  # noqa: F811
    link = pins_link(admin.get(generate(admin).headers["location"]).text)
    assert operator.get("/batches").status_code == 403
    assert operator.get(link).status_code == 403
    assert post_form(operator, "/batches", BATCH).status_code == 403
    assert admin.get(link).status_code == 200  # the operator's try did not use it up
