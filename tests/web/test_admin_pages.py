"""The administrator's pages: accounts (create, edit, freeze, import, export), routes and number plans, servers
and currency rates — on every backend; a refused form shows one error line and changes nothing."""

from __future__ import annotations

import csv
import io
import re
import socket
from datetime import date

import openpyxl
import pytest

from asteriskbill.money import parse_amount as m
from asteriskbill.services import accounts, audit, currency, numbers, routes, servers, tariffs
from tests.helpers.console import admin, operator, post_form  # noqa: F401

ARI_PASSWORD = "s3cret-ari-pw"
AMI_SECRET = "s3cret-ami-pw"


@pytest.fixture
def acme(engine):
    """Tariff retail (USD), company acme on it, and its extension acme-201 (ext 201)."""
    tariffs.create_tariff(engine, "tester", "retail", "USD", 10_000, "UTC")
    accounts.create(engine, "tester", accounts.NewAccount("company", "acme", tariff="retail"))
    accounts.create(engine, "tester", accounts.NewAccount("extension", "acme-201", parent="acme", extension="201"))


def errors(page_text: str) -> list[str]:
    return re.findall(r'<p class="error" role="alert">([^<]*)</p>', page_text)


def names_listed(page_text: str) -> list[str]:
    body = page_text.split("<tbody>")[1].split("</tbody>")[0]
    return re.findall(r'<td><a href="/account/[^"]*">([^<]*)</a></td>', body)


def upload(web, text: str, name: str = "accounts.csv"):
    files = {"file": (name, text.encode(), "text/csv")}
    return post_form(web, "/accounts/import", {}, from_page="/accounts", files=files)


# --- accounts ----------------------------------------------------------------------------------------------


def test_create_an_extension_under_a_company_and_find_it_listed(engine, admin, acme):  # noqa: F811
    form = {"kind": "extension", "name": "acme-202", "company": "acme", "extension": "202", "max_calls": "2"}
    answer = post_form(admin, "/accounts", form, from_page="/accounts")
    assert answer.status_code == 303
    created = accounts.show(engine, "acme-202")
    assert (created.parent, created.extension, created.max_calls, created.currency) == ("acme", "202", 2, "USD")
    page = admin.get(answer.headers["location"]).text
    assert "extension acme-202 of company acme created in USD" in page
    assert names_listed(page) == ["acme-202"]
    assert names_listed(admin.get("/accounts?company=acme").text) == ["acme-201", "acme-202"]
    assert names_listed(admin.get("/accounts?kind=company").text) == ["acme"]


def test_a_refused_create_shows_one_error_and_keeps_what_was_typed(engine, admin, acme):  # noqa: F811
    form = {"kind": "extension", "name": "acme-202", "company": "acme", "extension": "201"}
    answer = post_form(admin, "/accounts", form, from_page="/accounts")
    assert answer.status_code == 400
    assert errors(answer.text) == ["extension 201 exists already (account acme-201)"]
    assert 'value="acme-202"' in answer.text
    answer = post_form(admin, "/accounts", {**form, "extension": "", "credit_limit": "ten"}, from_page="/accounts")
    assert errors(answer.text) == [
        "credit limit &#39;ten&#39; is not a decimal number (use digits 0-9 and an optional &#39;.&#39;, e.g. 10.50)"
    ]
    assert [a.name for a in accounts.list_accounts(engine)] == ["acme", "acme-201"]


def test_edit_the_credit_limit_audits_old_to_new_and_leaves_the_balance(engine, admin, acme):  # noqa: F811
    accounts.post(engine, "tester", "acme-201", "recharge", m("10"))
    form = admin.get("/accounts/acme-201/edit").text
    assert 'name="credit_limit" value="0.00"' in form and 'name="extension" value="201"' in form
    fields = {
        "tariff": "",
        "credit_limit": "25.50",
        "max_calls": "",
        "extension": "201",
        "accountcode": "",
        "booth": "no",
    }
    answer = post_form(admin, "/accounts/acme-201/edit", fields, from_page="/accounts/acme-201/edit")
    assert answer.status_code == 303 and answer.headers["location"] == "/accounts/acme-201/edit"
    after = accounts.show(engine, "acme-201")
    assert (after.credit_limit, after.balance) == (m("25.50"), m("10"))
    [entry] = [e for e in audit.entries(engine) if e.action == "account.edit"]
    assert (entry.operator, entry.subject, entry.detail) == ("adam", "acme-201", {"credit_limit": "0.00 → 25.50"})
    assert "extension acme-201 saved" in admin.get("/accounts/acme-201/edit").text
    company = admin.get("/accounts/acme/edit").text  # only the fields its kind has
    assert 'name="tariff" value="retail"' in company and 'name="extension"' not in company and "booth" not in company


def test_edit_with_a_taken_extension_shows_one_error_and_changes_nothing(engine, admin, acme, snapshot):  # noqa: F811
    accounts.create(engine, "tester", accounts.NewAccount("extension", "acme-202", parent="acme", extension="202"))
    before = snapshot()
    fields = {"tariff": "", "credit_limit": "5", "max_calls": "3", "extension": "202", "accountcode": "", "booth": "no"}
    answer = post_form(admin, "/accounts/acme-201/edit", fields, from_page="/accounts/acme-201/edit")
    assert answer.status_code == 400
    assert errors(answer.text) == ["extension 202 exists already (account acme-202)"]
    assert 'name="extension" value="202"' in answer.text  # as typed, to correct
    assert snapshot() == before


def test_freeze_unfreeze_and_close_return_to_the_list_as_it_was(engine, admin, acme):  # noqa: F811
    back = "/accounts?company=acme"
    answer = post_form(admin, "/accounts/acme-201/status", {"action": "freeze", "back": back}, from_page=back)
    assert answer.status_code == 303 and answer.headers["location"] == back
    assert accounts.show(engine, "acme-201").status == "frozen"
    assert "extension acme-201 is frozen" in admin.get(back).text
    assert names_listed(admin.get("/accounts?status=frozen").text) == ["acme-201"]
    answer = post_form(admin, "/accounts/acme-201/status", {"action": "unfreeze", "back": "https://elsewhere.example"})
    assert answer.headers["location"] == "/accounts"  # never another site
    assert accounts.show(engine, "acme-201").status == "active"
    answer = post_form(admin, "/accounts/acme/status", {"action": "close"})
    assert answer.status_code == 400 and "still has open accounts (acme-201)" in errors(answer.text)[0]
    assert accounts.show(engine, "acme").status == "active"


def test_import_with_a_bad_line_names_it_and_imports_nothing(engine, admin, acme):  # noqa: F811
    text = "kind,name,parent,extension\nextension,acme-301,acme,301\nextension,acme-302,nowhere,302\n"
    answer = upload(admin, text)
    assert answer.status_code == 400
    assert errors(answer.text) == ["accounts.csv: 1 error(s), nothing was imported:"]
    assert "<li>line 3: no company named &#39;nowhere&#39; in the file or the database</li>" in answer.text
    assert [a.name for a in accounts.list_accounts(engine)] == ["acme", "acme-201"]
    answer = upload(admin, text.replace("nowhere", "acme"))
    assert answer.status_code == 303
    assert "imported 2 accounts from accounts.csv" in admin.get("/accounts").text
    assert [a.name for a in accounts.list_accounts(engine, parent="acme")] == ["acme-201", "acme-301", "acme-302"]


def test_export_opens_as_csv_and_xlsx(admin, acme):  # noqa: F811
    answer = admin.get("/accounts?format=csv&company=acme")
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(answer.text)))
    assert [(r["kind"], r["name"], r["extension"]) for r in rows] == [
        ("company", "acme", ""),
        ("extension", "acme-201", "201"),
    ]
    answer = admin.get("/accounts?format=xlsx")
    book = openpyxl.load_workbook(io.BytesIO(answer.content))
    assert [row[1] for row in book.active.iter_rows(values_only=True)] == ["name", "acme", "acme-201"]


def test_the_list_is_paged_by_name(engine, admin, acme, monkeypatch):  # noqa: F811
    from asteriskbill.web.pages import accounts as page

    monkeypatch.setattr(page, "PAGE_SIZE", 1)
    first = admin.get("/accounts").text
    assert names_listed(first) == ["acme"]
    following = re.search(r'href="(/accounts\?[^"]*after=[^"]*)">Next page', first).group(1).replace("&amp;", "&")
    assert names_listed(admin.get(following).text) == ["acme-201"]


# --- routes and number plans -------------------------------------------------------------------------------


def test_add_and_remove_a_route(engine, admin):  # noqa: F811
    answer = post_form(
        admin, "/routes", {"prefix": "44", "dial": "PJSIP/${NUMBER}@uk", "name": "uk"}, from_page="/routes"
    )
    assert answer.status_code == 303
    assert [(r.prefix, r.dial, r.name) for r in routes.list_routes(engine)] == [("44", "PJSIP/${NUMBER}@uk", "uk")]
    assert "<code>PJSIP/${NUMBER}@uk</code>" in admin.get("/routes").text
    answer = post_form(admin, "/routes", {"prefix": "44", "dial": "PJSIP/${NUMBER}@x"}, from_page="/routes")
    assert answer.status_code == 400 and errors(answer.text) == [
        "a route for prefix &#39;44&#39; exists already: remove it first"
    ]
    assert post_form(admin, "/routes/remove", {"prefix": "44"}).status_code == 303
    assert routes.list_routes(engine) == []


def test_a_company_number_plan_is_set_and_returned_to_the_global_setting(engine, settings, admin, acme):  # noqa: F811
    page = admin.get("/routes?company=acme").text
    assert "Own values of acme" in page
    answer = post_form(admin, "/routes/plan", {"company": "acme", "outside_line": "9", "max_length": "12"})
    assert answer.status_code == 303
    plan = numbers.show_plan(engine, settings, "acme")
    assert (plan.outside_line, plan.max_length) == ("9", 12)
    post_form(admin, "/routes/plan", {"company": "acme", "reset": "outside_line"})
    assert numbers.show_plan(engine, settings, "acme").outside_line == numbers.global_plan(settings).outside_line
    answer = post_form(admin, "/routes/plan", {"company": "acme", "max_length": "99"})
    assert answer.status_code == 400 and errors(answer.text) == [
        "max-length &#39;99&#39; must be a whole number from 3 to 20"
    ]


# --- servers -----------------------------------------------------------------------------------------------


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_servers_page_never_holds_a_password_or_secret(engine, settings, admin):  # noqa: F811
    port = closed_port()
    form = {
        "name": "pbx2",
        "ari_url": f"http://127.0.0.1:{port}",
        "ari_user": "billing",
        "ari_password": ARI_PASSWORD,
        "ami_url": f"tcp://127.0.0.1:{port}",
        "ami_user": "billing",
        "ami_secret": AMI_SECRET,
    }
    answer = post_form(admin, "/servers", form, from_page="/servers")
    assert answer.status_code == 303
    [added] = servers.servers(engine, settings)
    assert (added.ari_password, added.ami_secret) == (ARI_PASSWORD, AMI_SECRET)
    page = admin.get("/servers").text
    assert "pbx2" in page and "unreachable" in page  # probed: nothing listens there
    refused = post_form(admin, "/servers", form, from_page="/servers")  # the same name again
    assert refused.status_code == 400 and errors(refused.text) == [
        "a server named &#39;pbx2&#39; exists already (see `asteriskbill servers list`)"
    ]
    for text in (page, refused.text):
        assert ARI_PASSWORD not in text and AMI_SECRET not in text
    assert post_form(admin, "/servers/pbx2/remove", {}).status_code == 303
    assert servers.servers(engine, settings) == []


# --- currency ----------------------------------------------------------------------------------------------


def test_set_a_currency_rate_and_see_it_valid_until_the_next(engine, admin):  # noqa: F811
    for day, rate in (("2026-12-01", "1.79"), ("2027-01-01", "1.80")):
        form = {"base": "usd", "quote": "bgn", "rate": rate, "valid_from": day}
        assert post_form(admin, "/currency", form, from_page="/currency").status_code == 303
    assert [(r.base, r.quote, r.rate, r.valid_from) for r in currency.list_rates(engine)] == [
        ("USD", "BGN", m("1.79"), date(2026, 12, 1)),
        ("USD", "BGN", m("1.80"), date(2027, 1, 1)),
    ]
    page = admin.get("/currency").text
    assert "2026-12-31" in page and "until a next rate" in page
    answer = post_form(admin, "/currency", {"base": "USD", "quote": "USD", "rate": "1", "valid_from": "2026-12-01"})
    assert answer.status_code == 400 and len(errors(answer.text)) == 1
    assert len(currency.list_rates(engine)) == 2


# --- who may ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/accounts", "/accounts/acme-201/edit", "/routes", "/servers", "/currency"])
def test_an_operator_is_refused_these_pages(operator, acme, path):  # noqa: F811
    assert operator.get(path).status_code == 403


def test_an_operator_cannot_post_to_them_either(engine, operator, acme):  # noqa: F811
    answer = post_form(operator, "/accounts/acme-201/status", {"action": "freeze"})
    assert answer.status_code == 403
    assert accounts.show(engine, "acme-201").status == "active"
