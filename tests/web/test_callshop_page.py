"""The callshop page on every backend: booths started (prepaid, postpaid) and stopped from the console, their
receipt on screen and as a PDF, the grid streamed live; a refused start or stop shows one error line and changes
nothing."""

from __future__ import annotations

import re

from asteriskbill.billing.settle import CallResult
from asteriskbill.services import callshop
from asteriskbill.services.lifecycle import settle
from asteriskbill.web.pages.callshop import booth_event
from tests.cli.test_callshop import BOOTH, UK, booth_money, dial, shop, talk  # noqa: F401
from tests.helpers.console import operator, post_form  # noqa: F401


def errors(page_text: str) -> list[str]:
    return re.findall(r'<p class="error" role="alert">([^<]*)</p>', page_text)


def card(page_text: str, booth: str = BOOTH) -> str:
    """The booth's card on the grid, its tags dropped and its spaces squeezed."""
    found = re.search(rf'<div sse-swap="{booth_event(booth)}">(.*?)</article>', page_text, re.S)
    assert found, f"no card for {booth}"
    return " ".join(re.sub(r"<[^>]+>", " ", found.group(1)).split())


def start(web, mode: str, **fields):
    return post_form(web, f"/callshop/{BOOTH}/start", {"mode": mode, **fields}, from_page="/callshop")


def test_start_a_booth_prepaid_then_stop_it_and_show_the_receipt_with_the_change(engine, shop, operator):  # noqa: F811
    callshop.set_preferences(engine, "tester", default_prepaid=5_000_000)
    grid = operator.get("/callshop").text
    assert 'sse-connect="/live/booths?seen=' in grid
    assert "idle" in card(grid) and 'name="prepaid" value="5.00"' in grid  # the preferences' default offered
    answer = start(operator, "prepaid", prepaid="5.00")
    assert (answer.status_code, answer.headers["location"]) == (303, "/callshop")
    grid = operator.get("/callshop").text
    assert "booth booth-301 started: prepaid 5.00 USD" in grid
    assert "prepaid" in card(grid) and "Spent 0.00 USD May still spend 5.00 USD" in card(grid)
    talk(engine, shop, UK, 95_000)  # billed 96 s at 0.60/min: 0.96
    assert "Spent 0.96 USD May still spend 4.04 USD" in card(operator.get("/callshop").text)

    answer = post_form(operator, f"/callshop/{BOOTH}/stop", {}, from_page="/callshop")
    assert (answer.status_code, answer.headers["location"]) == (303, f"/callshop/{BOOTH}/receipt")
    receipt = operator.get(answer.headers["location"]).text
    assert "booth booth-301 stopped: change 4.04 USD" in receipt
    assert re.search(r'Change <strong class="figure">4.04 USD</strong>', receipt)
    assert re.search(r"Total +0.96 USD\nPaid +5.00 USD\nChange +4.04 USD", receipt)  # the printed receipt's lines
    assert "data-print" in receipt and '<script src="/static/print.js"' in receipt
    assert booth_money(engine)[0] == 0 and "idle" in card(operator.get("/callshop").text)
    pdf = operator.get(f"/callshop/{BOOTH}/receipt.pdf")
    assert pdf.headers["content-type"] == "application/pdf" and pdf.content.startswith(b"%PDF-1.4")
    assert re.search(rb"\(Change +4\.04 USD\) Tj", pdf.content)
    assert operator.get("/static/print.js").status_code == 200


def test_a_postpaid_booth_owes_what_it_spent(engine, shop, operator):  # noqa: F811
    assert start(operator, "postpaid", credit_limit="20").status_code == 303
    assert "postpaid" in card(operator.get("/callshop").text)
    talk(engine, shop, UK, 95_000)
    assert "Amount due so far 0.96 USD May still spend 19.04 USD" in card(operator.get("/callshop").text)
    answer = post_form(operator, f"/callshop/{BOOTH}/stop", {}, from_page="/callshop")
    receipt = operator.get(answer.headers["location"]).text
    assert re.search(r'Amount due <strong class="figure">0.96 USD</strong>', receipt)


def test_a_refused_start_shows_one_error_and_keeps_what_was_typed(engine, shop, operator, snapshot):  # noqa: F811
    before = snapshot()
    answer = start(operator, "prepaid", prepaid="ten")
    assert answer.status_code == 400 and len(errors(answer.text)) == 1
    assert "prepaid amount &#39;ten&#39; is not a decimal number" in errors(answer.text)[0]
    assert 'name="prepaid" value="ten"' in answer.text
    answer = start(operator, "postpaid", credit_limit="0")
    assert errors(answer.text) == [
        "a postpaid booth needs a credit limit above 0: give --prepaid AMOUNT, or "
        "--credit-limit AMOUNT, or set `asteriskbill callshop preferences set "
        "--default-credit-limit AMOUNT`"
    ]
    assert snapshot() == before


def test_a_booth_in_a_call_is_not_stopped(engine, shop, operator, snapshot):  # noqa: F811
    start(operator, "prepaid", prepaid="2")
    call = dial(engine, shop, UK)
    grid = operator.get("/callshop").text
    assert "in a call" in card(grid) and "Calling 442071234567" in card(grid)
    before = snapshot()
    refused = post_form(operator, f"/callshop/{BOOTH}/stop", {}, from_page="/callshop")
    assert refused.status_code == 400
    assert errors(refused.text) == [
        "booth booth-301 is in a call: stop it when the call has ended (see `asteriskbill callshop status`)"
    ]
    assert snapshot() == before
    settle(engine, CallResult(call["BILL_SESSION"], "BUSY"))
    assert post_form(operator, f"/callshop/{BOOTH}/stop", {}, from_page="/callshop").status_code == 303


def test_the_grid_streams_each_booths_card_live(engine, shop, operator):  # noqa: F811
    callshop.start(engine, "tester", BOOTH, prepaid=3_000_000)
    with operator.stream("GET", "/live/booths") as events:
        assert events.headers["content-type"].startswith("text/event-stream")
        lines = events.iter_lines()
        assert next(lines) == f"event: {booth_event(BOOTH)}"
        data = []
        for line in lines:
            if not line:
                break
            data.append(line.removeprefix("data: "))
    fragment = "\n".join(data)
    assert "booth-301" in fragment and "3.00 USD" in fragment and 'name="csrf"' in fragment


def test_a_booth_never_stopped_has_no_receipt(shop, operator):  # noqa: F811
    answer = operator.get(f"/callshop/{BOOTH}/receipt")
    assert answer.status_code == 400
    assert errors(answer.text) == ["booth booth-301 has not been stopped yet: there is no receipt"]
