"""The Routing page (administrators): vendors, trunks and routing groups made with the real command, `routing
explain` as a table, a trunk turned off and on, a prepaid vendor recharged — on every backend; a refused form
shows one error line and changes nothing."""

from __future__ import annotations

import html
import re

import pytest
from sqlalchemy import update

from asteriskbill.money import parse_amount as m
from asteriskbill.services import audit, trunks, vendors
from asteriskbill.store.models import Trunk
from asteriskbill.store.types import utcnow
from tests.cli.test_routing import TUESDAY, shop  # noqa: F401
from tests.helpers.console import admin, operator, post_form  # noqa: F401
from tests.web.test_admin_pages import errors


def section(page_text: str, heading_id: str) -> str:
    """The page from the heading or article with ``id`` to the next h2."""
    return page_text.split(f'id="{heading_id}"')[1].split("<h2 id=")[0]


def text(fragment: str) -> str:
    """Some HTML as the words it shows, on one line."""
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", fragment)).split())


def rows(page_text: str) -> list[list[str]]:
    """The cells of each body row of the first table in ``page_text``, as text."""
    body = page_text.split("<tbody>")[1].split("</tbody>")[0]
    cells = re.compile(r"<td[^>]*>(.*?)</td>", re.S)
    return [[text(cell) for cell in cells.findall(row)] for row in body.split("</tr>") if "<td" in row]


def explain(web, at: str, account: str = "acme-0001", number: str = "00442071234567"):
    return web.get("/routing", params={"account": account, "number": number, "at": at})


def test_the_page_lists_the_vendors_trunks_and_groups_made_with_the_command(engine, shop, admin):  # noqa: F811
    shop("trunks", "edit", "t-night", "--channels", "30")
    with engine.begin() as conn:  # as `serve`'s trunk judging leaves a trunk that answers too few calls
        demoted = {"demoted_at": utcnow(), "demoted_note": "answered 1 of the last 20 calls (5%)"}
        conn.execute(update(Trunk).where(Trunk.name == "t-flat").values(**demoted))
    page = admin.get("/routing")
    assert page.status_code == 200
    assert [row[:5] for row in rows(section(page.text, "vendors"))] == [
        ["flat", "USD", "100.00 USD", "1", "t-flat"],
        ["night", "USD", "postpaid", "2", "t-night"],
    ]
    assert [row[:6] for row in rows(section(page.text, "trunks"))] == [
        ["t-flat", "flat", "PJSIP/${NUMBER}@flat", "no limit", "enabled", "answered 1 of the last 20 calls (5%)"],
        ["t-night", "night", "PJSIP/${NUMBER}@night", "30", "enabled", ""],
    ]
    groups = section(page.text, "groups")
    assert "cheapest · policy lcr · accounts acme" in text(groups)
    assert rows(groups) == [
        ["t-night", "night", "(every number)", "1", "1"],
        ["t-flat", "flat", "(every number)", "2", "1"],
    ]
    assert '<a href="/routing" aria-current="page">Routing</a>' in page.text  # in the navigation, beside Routes


def test_explain_shows_the_lcr_order_at_the_call_start(shop, admin):  # noqa: F811
    before_peak = explain(admin, f"{TUESDAY}T08:59")
    assert before_peak.status_code == 200
    said = section(before_peak.text, "explain")
    assert "00442071234567 → 442071234567 (international) → prefix 44 UK at 2026-12-01 08:59" in text(said)
    assert "the first minute sells at 0.10 USD (tariff retail)" in text(said)
    assert "Routing group cheapest (policy lcr; bound to company acme)" in text(said)
    assert rows(said) == [
        ["1", "t-night", "night", "0.02 USD", "PJSIP/442071234567@night", "buys at 0.02 a minute"],
        ["2", "t-flat", "flat", "0.04 USD", "PJSIP/442071234567@flat", "buys at 0.04 a minute"],
    ]
    in_peak = explain(admin, f"{TUESDAY}T09:00")
    assert [row[:2] for row in rows(section(in_peak.text, "explain"))] == [["1", "t-flat"], ["2", "t-night"]]
    assert 'value="2026-12-01T09:00"' in in_peak.text  # the form keeps what was asked


def test_explain_refused_by_the_service_is_one_error_on_the_page(shop, admin):  # noqa: F811
    answer = explain(admin, f"{TUESDAY}T08:59", account="nobody")
    assert answer.status_code == 400
    assert errors(answer.text) == ["no account named &#39;nobody&#39; (see `asteriskbill accounts list`)"]
    assert "<h2>Explain a call</h2>" in answer.text and "t-night" in answer.text  # the page itself, not error.html
    answer = explain(admin, "tomorrow")
    assert answer.status_code == 400 and len(errors(answer.text)) == 1 and "tomorrow" in errors(answer.text)[0]


def test_disable_then_enable_a_trunk_is_audited_and_changes_the_order(engine, shop, admin):  # noqa: F811
    answer = post_form(admin, "/routing/trunks/t-night", {"enabled": "no"}, from_page="/routing")
    assert answer.status_code == 303 and answer.headers["location"] == "/routing#trunks"
    assert [t.enabled for t in trunks.list_trunks(engine, "night")] == [False]
    page = admin.get("/routing").text
    assert "trunk t-night disabled: offered no calls" in page
    assert rows(section(page, "trunks"))[1][4] == "disabled"
    skipped = rows(section(explain(admin, f"{TUESDAY}T08:59").text, "explain"))
    assert [(row[0], row[1]) for row in skipped] == [("1", "t-flat"), ("-", "t-night")]
    assert post_form(admin, "/routing/trunks/t-night", {"enabled": "yes"}, from_page="/routing").status_code == 303
    assert [t.enabled for t in trunks.list_trunks(engine, "night")] == [True]
    edits = [(e.operator, e.subject, e.detail) for e in audit.entries(engine) if e.action == "trunk.edit"]
    assert edits[-2:] == [("adam", "t-night", {"enabled": False}), ("adam", "t-night", {"enabled": True})]


def test_a_bad_trunk_switch_is_refused_with_the_services_message(engine, shop, admin, snapshot):  # noqa: F811
    before = snapshot()
    answer = post_form(admin, "/routing/trunks/t-nope", {"enabled": "no"}, from_page="/routing")
    assert answer.status_code == 400
    assert errors(answer.text) == ["no trunk named &#39;t-nope&#39; (see `asteriskbill trunks list`)"]
    answer = post_form(admin, "/routing/trunks/t-night", {"enabled": "maybe"}, from_page="/routing")
    assert answer.status_code == 400 and errors(answer.text) == ["trunk t-night: choose enable or disable"]
    assert snapshot() == before


def test_a_recharge_updates_the_balance_and_a_bad_amount_changes_nothing(engine, shop, admin, snapshot):  # noqa: F811
    form = {"amount": "25.50", "reference": "INV-2026-118", "note": "wire"}
    answer = post_form(admin, "/routing/vendors/flat/recharge", form, from_page="/routing")
    assert answer.status_code == 303 and answer.headers["location"] == "/routing#vendors"
    assert vendors.show_vendor(engine, "flat").balance == m("125.50")
    page = admin.get("/routing").text
    assert "recharged vendor flat with 25.50 USD: balance 125.50 USD" in page
    assert rows(section(page, "vendors"))[0][2] == "125.50 USD"
    [entry] = [e for e in audit.entries(engine) if e.action == "vendor.recharge" and e.operator == "adam"]
    assert entry.subject == "flat" and entry.detail["reference"] == "INV-2026-118"
    before = snapshot()
    refusals = {
        ("flat", "ten"): "amount &#39;ten&#39; is not a decimal number (use digits 0-9 and an optional &#39;.&#39;, "
        "e.g. 10.50)",
        ("flat", "0"): "a recharge of 0.00 is refused: the amount must be more than 0",
        ("flat", "-5"): "amount &#39;-5&#39; must not be negative",
        ("night", "5"): "vendor night is not prepaid: it has no balance to recharge (`vendors edit --prepaid`)",
    }
    for (name, amount), said in refusals.items():
        answer = post_form(admin, f"/routing/vendors/{name}/recharge", {"amount": amount}, from_page="/routing")
        assert answer.status_code == 400 and errors(answer.text) == [said], (name, amount)
    assert snapshot() == before


def test_a_form_without_its_csrf_token_is_refused(engine, shop, admin):  # noqa: F811
    answer = admin.post("/routing/vendors/flat/recharge", data={"amount": "5"})
    assert answer.status_code == 403 and errors(answer.text) == ["this form has expired: reload the page and try again"]
    answer = admin.post("/routing/trunks/t-night", data={"enabled": "no", "csrf": "forged"})
    assert answer.status_code == 403
    assert vendors.show_vendor(engine, "flat").balance == m("100")
    assert [t.enabled for t in trunks.list_trunks(engine, "night")] == [True]


@pytest.mark.parametrize(
    ("method", "path", "data"),
    [
        ("GET", "/routing", None),
        ("GET", f"/routing?account=acme-0001&number=00442071234567&at={TUESDAY}T08:59", None),
        ("POST", "/routing/trunks/t-night", {"enabled": "no"}),
        ("POST", "/routing/vendors/flat/recharge", {"amount": "5"}),
    ],
)
def test_an_operator_is_refused_every_routing_route(engine, shop, operator, method, path, data):  # noqa: F811
    answer = operator.get(path) if data is None else post_form(operator, path, data)  # the operator's own token
    assert answer.status_code == 403 and errors(answer.text) == ["this page is for administrators"]
    assert 'href="/routing"' not in operator.get("/").text
    assert vendors.show_vendor(engine, "flat").balance == m("100")
    assert [t.enabled for t in trunks.list_trunks(engine, "night")] == [True]
