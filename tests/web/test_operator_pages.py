"""The operator's pages on every backend: the dashboard and its live calls, find, an account's and a card's page
(recharge with an order number, block and unblock); a refused form shows one error line and changes nothing."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from asteriskbill.billing.settle import CallResult
from asteriskbill.money import parse_amount as m
from asteriskbill.services import accounts, cards, lifecycle
from asteriskbill.store.types import utcnow
from tests.helpers.console import operator, post_form  # noqa: F401
from tests.helpers.world import make_world

USA = "0015551234"  # 0.10/min, 1/1
CALLERID = "4930123456"


@pytest.fixture
def world(cli, tmp_path, engine):
    """make_world's card (1.00 USD, caller ID registered) and company acme with extension acme-201 (10.00)."""
    made = make_world(cli, tmp_path, card_value="1.00")
    cards.add_callerid(engine, "tester", made.card, CALLERID)
    return made


def errors(page_text: str) -> list[str]:
    return re.findall(r'<p class="error" role="alert">([^<]*)</p>', page_text)


def history(page_text: str) -> list[list[str]]:
    """The cells of the credit history's rows, newest first."""
    body = page_text.split('<table class="striped history">')[1].split("</tbody>")[0]
    return [re.findall(r"<td[^>]*>([^<]*)</td>", row) for row in re.findall(r"<tr>(.*?)</tr>", body, re.S)[1:]]


def ledger_of(engine, name: str) -> list[tuple[str, int, str | None]]:
    return [(e.kind, e.amount, e.reference) for e in accounts.history(engine, name)[1]]


def hold_a_call(engine, world, name: str):
    """An authorized call of ``name`` to the USA: its reservation open (a call up now)."""
    return lifecycle.authorize(engine, world.settings, accounts.show(engine, name).id, USA)


# --- find -----------------------------------------------------------------------------------------------------


def test_a_card_number_a_caller_id_or_an_account_name_leads_straight_to_its_page(world, operator):  # noqa: F811
    for typed, page in (
        (world.card, f"/card/{world.card}"),
        (CALLERID, f"/card/{world.card}"),
        ("acme-201", "/account/acme-201"),
    ):
        answer = operator.get("/find", params={"q": typed})
        assert (answer.status_code, answer.headers["location"]) == (303, page), typed
    page = operator.get(f"/card/{world.card}").text
    assert CALLERID in page and "1.00 USD" in page


def test_several_matches_are_listed_and_none_is_said(world, operator):  # noqa: F811
    page = operator.get("/find", params={"q": "acme"}).text
    assert 'href="/account/acme"' in page and 'href="/account/acme-201"' in page
    assert "10.00 USD" in page
    assert "Nothing matches" in operator.get("/find", params={"q": "nobody-here"}).text
    assert operator.get("/find").status_code == 200


# --- a card ---------------------------------------------------------------------------------------------------


def test_recharge_a_card_with_an_order_number_shows_its_entry_first(engine, world, operator):  # noqa: F811
    page = f"/card/{world.card}"
    form = {"amount": "5.25", "order": "INV-77", "note": "paid cash"}
    answer = post_form(operator, f"{page}/recharge", form, from_page=page)
    assert (answer.status_code, answer.headers["location"]) == (303, page)
    assert cards.show(engine, world.card)[0].balance == m("6.25")
    shown = operator.get(page).text
    assert f"recharged card {world.card} with 5.25 USD (order INV-77): balance 6.25 USD" in shown
    assert history(shown)[0][1:6] == ["recharge", "5.25 USD", "6.25 USD", "INV-77", "paid cash"]


def test_the_same_order_number_twice_is_refused_and_changes_nothing(engine, world, operator):  # noqa: F811
    page = f"/card/{world.card}"
    post_form(operator, f"{page}/recharge", {"amount": "5", "order": "INV-77"}, from_page=page)
    before = ledger_of(engine, world.card)
    answer = post_form(operator, f"{page}/recharge", {"amount": "7", "order": "INV-77"}, from_page=page)
    assert answer.status_code == 400
    [error] = errors(answer.text)
    assert error.startswith("order INV-77 was already recharged on ")
    assert 'value="INV-77"' in answer.text  # the form keeps what was typed
    assert ledger_of(engine, world.card) == before
    assert cards.show(engine, world.card)[0].balance == m("6")
    again = {"amount": "7", "order": "INV-77", "allow_duplicate_order": "yes"}
    assert post_form(operator, f"{page}/recharge", again, from_page=page).status_code == 303
    assert cards.show(engine, world.card)[0].balance == m("13")


NOT_DECIMAL = "is not a decimal number (use digits 0-9 and an optional &#39;.&#39;, e.g. 10.50)"


@pytest.mark.parametrize(
    ("amount", "error"),
    [
        ("ten", f"amount &#39;ten&#39; {NOT_DECIMAL}"),
        ("-5", "amount &#39;-5&#39; must not be negative"),
        ("", f"amount &#39;&#39; {NOT_DECIMAL}"),
    ],
)
def test_a_bad_amount_is_one_error_line_and_changes_nothing(engine, world, operator, amount, error):  # noqa: F811
    page = f"/card/{world.card}"
    before = ledger_of(engine, world.card)
    answer = post_form(operator, f"{page}/recharge", {"amount": amount, "order": "INV-1"}, from_page=page)
    assert answer.status_code == 400
    assert errors(answer.text) == [error]
    assert ledger_of(engine, world.card) == before


def test_disable_and_enable_a_card(engine, world, operator):  # noqa: F811
    page = f"/card/{world.card}"
    before = cards.show(engine, world.card)[0].status
    answer = post_form(operator, f"{page}/status", {"action": "disable"}, from_page=page)
    assert answer.status_code == 303
    assert cards.show(engine, world.card)[0].status == "disabled"
    shown = operator.get(page).text
    assert f"card {world.card} is disabled" in shown and 'value="enable"' in shown
    again = post_form(operator, f"{page}/status", {"action": "disable"}, from_page=page)
    assert errors(again.text) == [f"card {world.card} is disabled already"]
    post_form(operator, f"{page}/status", {"action": "enable"}, from_page=page)
    assert cards.show(engine, world.card)[0].status == before != "disabled"


def test_a_card_account_name_leads_to_the_card_page(world, operator):  # noqa: F811
    answer = operator.get(f"/account/{world.card}")
    assert (answer.status_code, answer.headers["location"]) == (303, f"/card/{world.card}")


# --- an account -----------------------------------------------------------------------------------------------


def test_an_account_page_shows_its_balance_history_and_recent_calls(engine, world, operator):  # noqa: F811
    held = hold_a_call(engine, world, "acme-201")
    now = utcnow()
    lifecycle.settle(engine, CallResult(held.session, "ANSWER", 60_000, started_at=now, answered_at=now))
    page = operator.get("/account/acme-201").text
    assert "acme" in page and "9.90 USD" in page and "0.00 USD" in page  # balance, credit limit
    assert [row[1:3] for row in history(page)] == [["call", "-0.10 USD"], ["recharge", "10.00 USD"]]
    calls = page.split('<table class="striped calls">')[1].split("</table>")[0]
    assert "USA" in calls and "1:00" in calls


def test_recharge_an_account_and_the_order_rule_holds_per_account(engine, world, operator):  # noqa: F811
    page = "/account/acme-201"
    answer = post_form(operator, f"{page}/recharge", {"amount": "20", "order": "2026-0042"}, from_page=page)
    assert answer.status_code == 303
    shown = operator.get(page).text
    assert "recharged acme-201 with 20.00 USD (order 2026-0042): balance 30.00 USD" in shown
    assert history(shown)[0][1:5] == ["recharge", "20.00 USD", "30.00 USD", "2026-0042"]
    refused = post_form(operator, f"{page}/recharge", {"amount": "20", "order": "2026-0042"}, from_page=page)
    assert refused.status_code == 400 and len(errors(refused.text)) == 1
    assert accounts.show(engine, "acme-201").balance == m("30")


def test_an_operator_freezes_and_unfreezes_an_account_but_does_not_close_it(engine, world, operator):  # noqa: F811
    page = "/account/acme-201"
    assert post_form(operator, f"{page}/status", {"action": "freeze"}, from_page=page).status_code == 303
    assert accounts.show(engine, "acme-201").status == "frozen"
    assert "extension acme-201 is frozen" in operator.get(page).text
    assert post_form(operator, f"{page}/status", {"action": "unfreeze"}, from_page=page).status_code == 303
    assert accounts.show(engine, "acme-201").status == "active"
    refused = post_form(operator, f"{page}/status", {"action": "close"}, from_page=page)
    assert refused.status_code == 400 and len(errors(refused.text)) == 1
    assert accounts.show(engine, "acme-201").status == "active"


def test_the_history_is_shown_a_page_at_a_time(engine, world, operator, monkeypatch):  # noqa: F811
    from asteriskbill.web.pages import find

    monkeypatch.setattr(find, "HISTORY_PAGE", 2)
    for n in range(3):
        accounts.post(engine, "tester", "acme-201", "recharge", m("1"), f"ORDER-{n}")
    first = operator.get("/account/acme-201").text
    assert [row[4] for row in history(first)] == ["ORDER-2", "ORDER-1"]
    following = re.search(r'href="(/account/acme-201\?after=\d+)"', first).group(1)
    second = operator.get(following).text
    assert [row[4] for row in history(second)] == ["ORDER-0", ""]
    assert "?after=" not in second.split('<table class="striped history">')[1]


def test_an_unknown_account_or_card_is_one_error_line(world, operator):  # noqa: F811
    assert errors(operator.get("/account/nobody").text) == [
        "no account named &#39;nobody&#39; (see `asteriskbill accounts list`)"
    ]
    assert operator.get("/card/12345").status_code == 400


# --- the dashboard --------------------------------------------------------------------------------------------


def test_the_dashboard_lists_the_calls_up_now_and_streams_them_live(engine, world, operator):  # noqa: F811
    assert "No calls up now" in operator.get("/").text
    hold_a_call(engine, world, world.card)
    page = operator.get("/").text
    assert 'sse-connect="/live/calls?seen=' in page
    assert '<table class="striped live">' in page  # the table itself, not its text escaped
    assert world.card in page and "USA" in page and "1.00 USD" in page  # who, where, the credit held
    with operator.stream("GET", "/live/calls") as events:
        assert events.headers["content-type"].startswith("text/event-stream")
        lines = events.iter_lines()
        first = []
        for line in lines:
            if not line:
                break
            assert line.startswith("data: ")
            first.append(line.removeprefix("data: "))
    fragment = "\n".join(first)
    assert world.card in fragment and "USA" in fragment and "No calls up now" not in fragment


def test_today_figures_count_the_calls_of_the_day(engine, world, operator):  # noqa: F811
    held = hold_a_call(engine, world, "acme-201")
    now = utcnow() - timedelta(seconds=1)
    lifecycle.settle(engine, CallResult(held.session, "ANSWER", 60_000, started_at=now, answered_at=now))
    page = operator.get("/").text
    figures = page.split('<section class="today">')[1].split("</section>")[0]
    shown = re.findall(r'<small>([^<]*)</small>\s*<p class="figure">([^<]*)</p>', figures)
    assert shown == [
        ("Calls", "1"),
        ("Answered", "1"),
        ("Billed minutes", "1.00"),  # as `cdr stats` rounds minutes
        ("Takings", "0.10 USD"),
        ("Recharges", "10.00 USD"),  # make_world's recharge of acme-201
    ]
