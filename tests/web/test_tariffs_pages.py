"""The tariff pages: create a tariff, upload its rates (all or nothing), browse and search them, export them,
add holidays and look up which rate applies — on every backend."""

from __future__ import annotations

import csv
import io
import re
import tempfile
from datetime import date
from pathlib import Path

import openpyxl
import pytest

from asteriskbill.services import rates, tariffs
from tests.helpers.console import admin, operator, post_form  # noqa: F401

GOOD = "prefix,destination,price,increments\n44,UK,0.60,60/6\n4420,London,0.40,60/6\n1,USA,0.10,1/1\n"
BAD = "prefix,destination,price\n44,UK,0.60\n4420,London,cheap\n1,USA,0.10\n"
PEAK = "prefix,destination,price,weekdays,time_from,time_to\n44,UK,0.10,,,\n4420,London peak,0.20,mon-fri,08:00,18:00\n"


@pytest.fixture
def retail(engine):
    tariffs.create_tariff(engine, "tester", "retail", "USD", 10_000, "Europe/Sofia")
    return "retail"


def upload(web, text: str, name: str = "rates.csv", **data):
    files = {"file": (name, text.encode(), "text/csv")}
    return post_form(web, "/tariffs/retail/rates", data, from_page="/tariffs/retail", files=files)


def errors(page_text: str) -> list[str]:
    return re.findall(r'<p class="error" role="alert">([^<]*)</p>', page_text)


def shown_prefixes(page_text: str) -> list[str]:
    body = page_text.split("<tbody>")[1].split("</tbody>")[0]
    return re.findall(r"<tr>\s*<td>(\d+)</td>", body)


def test_create_a_tariff_and_see_it_listed(engine, admin):  # noqa: F811
    answer = post_form(
        admin, "/tariffs", {"name": "retail", "currency": "usd", "rounding": "0.01", "timezone": "Europe/Sofia"}
    )
    assert answer.status_code == 303 and answer.headers["location"] == "/tariffs/retail"
    assert "tariff retail created" in admin.get(answer.headers["location"]).text
    created = tariffs.show_tariff(engine, "retail").tariff
    assert (created.currency, created.rounding, created.timezone) == ("USD", 10_000, "Europe/Sofia")
    page = admin.get("/tariffs").text
    assert 'href="/tariffs/retail"' in page and "Europe/Sofia" in page


def test_a_bad_currency_shows_one_error_and_creates_nothing(engine, admin):  # noqa: F811
    answer = post_form(
        admin, "/tariffs", {"name": "retail", "currency": "dollars", "rounding": "0.01", "timezone": "UTC"}
    )
    assert answer.status_code == 400
    assert errors(answer.text) == ["currency &#39;dollars&#39; must be three letters, e.g. USD, EUR or CRD (credits)"]
    assert 'value="retail"' in answer.text  # what was typed is kept
    assert tariffs.list_tariffs(engine) == []


def test_a_bad_rounding_is_refused(engine, admin):  # noqa: F811
    answer = post_form(admin, "/tariffs", {"name": "retail", "currency": "USD", "rounding": "0", "timezone": "UTC"})
    assert answer.status_code == 400 and len(errors(answer.text)) == 1
    assert tariffs.list_tariffs(engine) == []


def test_a_file_with_one_bad_line_imports_nothing_then_a_good_one_is_listed(engine, admin, retail):  # noqa: F811
    answer = upload(admin, BAD)
    assert answer.status_code == 400
    assert errors(answer.text) == ["rates.csv: 1 error(s), nothing was imported:"]
    assert re.search(r"<li>line 3: price &#39;cheap&#39; is not a decimal number", answer.text)
    assert tariffs.show_tariff(engine, "retail").rates == 0
    assert shown_prefixes(admin.get("/tariffs/retail").text) == []

    answer = upload(admin, GOOD)
    assert answer.status_code == 303
    page = admin.get(answer.headers["location"]).text
    assert "imported 3 rates into tariff retail" in page
    assert shown_prefixes(page) == ["1", "44", "4420"]
    assert "0.60 60/6" in page and "every day, all day" in page


def test_replace_retires_the_old_rates(engine, admin, retail):  # noqa: F811
    assert upload(admin, GOOD).status_code == 303
    answer = upload(admin, "prefix,price\n46,0.2\n", replace="yes")
    assert answer.status_code == 303
    assert "imported 1 rate into tariff retail (replaced 3)" in admin.get("/tariffs/retail").text
    assert shown_prefixes(admin.get("/tariffs/retail").text) == ["46"]


def test_the_same_rates_again_without_replace_are_refused(engine, admin, retail):  # noqa: F811
    assert upload(admin, GOOD).status_code == 303
    answer = upload(admin, GOOD)
    assert answer.status_code == 400 and "is a rate of tariff" in answer.text
    assert tariffs.show_tariff(engine, "retail").rates == 3


def test_an_xlsx_file_as_exported_imports(engine, admin, retail, tmp_path):  # noqa: F811
    source = tmp_path / "rates.csv"
    source.write_text(GOOD)
    rates.import_rates(engine, "retail", source)
    exported = admin.get("/tariffs/retail", params={"format": "xlsx"}).content
    tariffs.create_tariff(engine, "tester", "copy", "USD", 10_000, "UTC")
    files = {"file": ("retail.xlsx", exported, "application/octet-stream")}
    answer = post_form(admin, "/tariffs/copy/rates", {}, from_page="/tariffs/copy", files=files)
    assert answer.status_code == 303
    assert tariffs.show_tariff(engine, "copy").rates == 3


def test_an_upload_that_is_not_a_sheet_is_refused(admin, retail):  # noqa: F811
    answer = upload(admin, GOOD, name="rates.txt")
    assert answer.status_code == 400 and errors(answer.text) == ["rates.txt: upload a .csv or .xlsx file"]


def test_search_by_prefix_and_keyset_pages(engine, admin, retail, tmp_path, monkeypatch):  # noqa: F811
    source = tmp_path / "rates.csv"
    source.write_text(
        "prefix,price,weekdays\n" + "".join(f"{p},0.1,{d}\n" for p in ("1", "44", "4420", "45") for d in ("mon", "tue"))
    )
    rates.import_rates(engine, "retail", source)
    assert shown_prefixes(admin.get("/tariffs/retail", params={"prefix": "44"}).text) == ["44", "44", "4420", "4420"]
    monkeypatch.setattr("asteriskbill.web.pages.tariffs.PAGE_SIZE", 3)
    seen: list[str] = []
    url = "/tariffs/retail?prefix=4"
    while url:
        page = admin.get(url).text
        seen += shown_prefixes(page)
        following = re.search(r'href="(/tariffs/retail\?prefix=4&amp;after=[^"]+)">Next page', page)
        url = following.group(1).replace("&amp;", "&") if following else ""
    assert seen == ["44", "44", "4420", "4420", "45", "45"]
    answer = admin.get("/tariffs/retail", params={"prefix": "+44"})
    assert answer.status_code == 400 and errors(answer.text) == ["prefix &#39;+44&#39; must be digits, e.g. 44"]


def test_rates_page_keeps_every_rate_of_a_prefix(engine, retail, tmp_path):
    source = tmp_path / "rates.csv"
    source.write_text(
        "prefix,price,weekdays\n" + "".join(f"{p},0.1,{d}\n" for p in ("1", "2", "22", "3") for d in ("mon", "tue"))
    )
    rates.import_rates(engine, "retail", source)
    for size in (1, 2, 3, 8, 9):
        seen, after = [], ("", 0)
        while True:
            page = rates.rates_page(engine, "retail", "2", after, size)
            seen += [(r.prefix, min(r.weekdays)) for r in page.rates]
            assert len(page.rates) <= size
            if page.after is None:
                break
            after = page.after
        assert seen == [("2", 0), ("2", 1), ("22", 0), ("22", 1)], size


def test_export_csv_and_xlsx(engine, admin, retail, tmp_path):  # noqa: F811
    source = tmp_path / "rates.csv"
    source.write_text(GOOD)
    rates.import_rates(engine, "retail", source)
    answer = admin.get("/tariffs/retail", params={"format": "csv"})
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/csv")
    assert "rates-retail.csv" in answer.headers["content-disposition"]
    exported = list(csv.DictReader(io.StringIO(answer.text)))
    assert [(r["prefix"], r["price"], r["increments"]) for r in exported] == [
        ("1", "0.10", "1/1"),
        ("44", "0.60", "60/6"),
        ("4420", "0.40", "60/6"),
    ]
    book = openpyxl.load_workbook(io.BytesIO(admin.get("/tariffs/retail", params={"format": "xlsx"}).content))
    assert [row[0] for row in book.active.iter_rows(values_only=True)] == ["prefix", "1", "44", "4420"]
    exports = set(Path(tempfile.gettempdir()).glob("asteriskbill-export-*"))
    assert admin.get("/tariffs/retail", params={"format": "pdf"}).status_code == 400
    assert set(Path(tempfile.gettempdir()).glob("asteriskbill-export-*")) <= exports  # a refused one leaves nothing


def test_holidays_are_added_and_listed(engine, admin, retail):  # noqa: F811
    answer = post_form(
        admin, "/tariffs/retail/holidays", {"day": "2026-12-25", "as": "sun"}, from_page="/tariffs/retail"
    )
    assert answer.status_code == 303
    page = admin.get("/tariffs/retail").text
    assert "2026-12-25 is now priced as sun" in page and "<li>2026-12-25: priced as sun</li>" in page
    again = post_form(
        admin, "/tariffs/retail/holidays", {"day": "2026-12-25", "as": "sat"}, from_page="/tariffs/retail"
    )
    assert again.status_code == 400 and "is a holiday of tariff" in again.text
    bad = post_form(admin, "/tariffs/retail/holidays", {"day": "25/12", "as": "sun"}, from_page="/tariffs/retail")
    assert bad.status_code == 400 and errors(bad.text) == ["day &#39;25/12&#39; is not a date like 2026-12-25"]
    assert tariffs.show_tariff(engine, "retail").tariff.holidays == {date(2026, 12, 25): 6}


def test_lookup_shows_the_winning_rate_and_why(engine, admin, retail, tmp_path):  # noqa: F811
    source = tmp_path / "rates.csv"
    source.write_text(PEAK)
    rates.import_rates(engine, "retail", source)
    page = admin.get("/tariffs/retail/lookup", params={"number": "442071234567", "at": "2026-12-01T09:30"})
    assert page.status_code == 200
    assert "442071234567 in tariff retail at 2026-12-01T09:30:00+02:00 (tue)" in page.text
    chosen = re.search(r'<tr aria-current="true" class="chosen">(.*?)</tr>', page.text, re.S)
    assert chosen and "London peak" in chosen.group(1)
    assert "applies: prefix 4420 London peak: the longest prefix of the number with a rate valid at that moment" in (
        page.text
    )
    evening = admin.get("/tariffs/retail/lookup", params={"number": "442071234567", "at": "2026-12-01T19:30"}).text
    assert "applies: prefix 44 UK: the longest prefix" in evening and "longer prefix 4420 has rates" in evening
    assert "not at 19:30" in evening


def test_lookup_errors_are_one_line(admin, retail):  # noqa: F811
    assert admin.get("/tariffs/retail/lookup").status_code == 200  # the form alone
    answer = admin.get("/tariffs/retail/lookup", params={"number": "99"})
    assert answer.status_code == 400 and errors(answer.text) == [
        "no rate in tariff &#39;retail&#39; for 99: no prefix of it has a rate"
    ]
    answer = admin.get("/tariffs/retail/lookup", params={"number": "44", "at": "tomorrow"})
    assert answer.status_code == 400 and len(errors(answer.text)) == 1


def test_an_unknown_tariff_is_one_error(admin):  # noqa: F811
    answer = admin.get("/tariffs/nosuch")
    assert answer.status_code == 400 and errors(answer.text) == [
        "no tariff named &#39;nosuch&#39; (see `asteriskbill tariff list`)"
    ]


def test_an_operator_is_refused_the_tariff_pages(operator, retail):  # noqa: F811
    for path in ("/tariffs", "/tariffs/retail", "/tariffs/retail/lookup?number=44", "/tariffs/retail?format=csv"):
        assert operator.get(path).status_code == 403, path
    answer = post_form(operator, "/tariffs/retail/rates", {}, files={"file": ("rates.csv", GOOD.encode(), "text/csv")})
    assert answer.status_code == 403
