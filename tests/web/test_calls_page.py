"""The calls page on every backend, over test_cdr's CDRs (a month ago and older) and a few of today: today's by
default in the timezone setting, the filters, both orders, keyset pages that walk every row once, and the exports
that are `asteriskbill cdr export`'s; a bad filter shows one error line."""

from __future__ import annotations

import io
import re
from dataclasses import replace
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from asteriskbill.services import cdr_sheet
from asteriskbill.store.types import utcnow
from asteriskbill.web.pages import calls
from tests.cli.test_cdr import NEWEST_FIRST, add_cdr, seed  # noqa: F401
from tests.helpers.console import client, log_in, operator  # noqa: F401
from tests.helpers.sheets import as_xlsx, xlsx_cells

# Today's CDRs, minutes after midnight UTC: session: account, outcome, minute, billed seconds, cost, number
TODAY = {
    "t1": ("acme-1", "ANSWER", 1, 65, "0.11", "15551239001"),
    "t2": ("card", "ANSWER", 2, 90, "0.90", "442071239002"),
    "t3": ("acme-2", "BUSY", 3, 0, "0", "442071239003"),
    "t4": ("acme-2", "ANSWER", 4, 3700, "1.50", "33123459004"),
    "t5": ("acme-1", "NOANSWER", 4, 0, "0", "15551239005"),  # the same start as t4: the id breaks the tie
}
MIDNIGHT = datetime.combine(utcnow().date(), time(), UTC)
S = timedelta(seconds=1)


@pytest.fixture
def today(seed, engine):  # noqa: F811
    """test_cdr's seed, and TODAY's CDRs."""
    with engine.begin() as conn:
        for session, (account, outcome, minute, seconds, cost, number) in TODAY.items():
            started = MIDNIGHT + timedelta(minutes=minute)
            values = (
                session,
                seed.ids[account],
                "local",
                outcome,
                started,
                seconds,
                cost,
                None,
                number,
                "Test",
                "pbx9",
            )
            add_cdr(conn, *values)
    return seed


def rows(page_text: str) -> list[list[str]]:
    """The table's cells, row by row, as text."""
    body = page_text.split("<tbody>")[1].split("</tbody>")[0]
    found = (re.findall(r"<td[^>]*>(.*?)</td>", row, re.S) for row in body.split("<tr>")[1:])
    return [[re.sub(r"<[^>]+>", "", cell).strip() for cell in cells] for cells in found if len(cells) > 1]


def numbers(page_text: str) -> list[str]:
    """The number column, top to bottom."""
    return [cells[3] for cells in rows(page_text)]


def errors(page_text: str) -> list[str]:
    return re.findall(r'<p class="error" role="alert">([^<]*)</p>', page_text)


def number_of(session: str) -> str:
    return TODAY[session][5]


def test_todays_calls_newest_first_by_default(today, operator):  # noqa: F811
    page = operator.get("/calls").text
    assert numbers(page) == [number_of(s) for s in ("t5", "t4", "t3", "t2", "t1")]
    assert f'name="since" value="{MIDNIGHT.date()}"' in page and f'name="until" value="{MIDNIGHT.date()}"' in page
    time_, *cells = rows(page)[1]
    assert time_.startswith(str(MIDNIGHT.date()))
    assert cells == ["acme-2", "", number_of("t4"), "Test", "1:01:40", "1.50 USD", "ANSWER", "pbx9"]
    assert f'<a href="/card/{today.card}">{today.card}</a>' in page  # a card's call names the card
    oldest = operator.get(f"/calls?since={MIDNIGHT.date()}&until={MIDNIGHT.date()}&order=oldest").text
    assert numbers(oldest) == [number_of(s) for s in ("t1", "t2", "t3", "t4", "t5")]


def test_the_period_is_a_day_in_the_timezone_setting(engine, settings, seed, operator):  # noqa: F811
    zone = ZoneInfo("Pacific/Kiritimati")  # UTC+14: its day is not UTC's
    local_today = utcnow().astimezone(zone).date()
    local_midnight = datetime.combine(local_today, time(), zone)
    with engine.begin() as conn:
        for session, started, number in (
            ("y", local_midnight - S, "15550000001"),
            ("t", local_midnight, "15550000002"),
        ):
            add_cdr(conn, session, seed.ids["acme-1"], "local", "ANSWER", started, 1, "0.01", None, number, "Test", "x")
    kiritimati = client(engine, replace(settings, timezone="Pacific/Kiritimati"))
    log_in(kiritimati, "olga")
    page = kiritimati.get("/calls").text
    assert f'name="since" value="{local_today}"' in page
    assert numbers(page) == ["15550000002"]


def test_filters(today, operator):  # noqa: F811
    every = "/calls?since=&until="
    assert len(numbers(operator.get(every).text)) == len(NEWEST_FIRST) + len(TODAY)
    assert numbers(operator.get(f"{every}&account=acme-2").text) == [
        number_of("t4"),
        number_of("t3"),
        "442071230004",
        "442071230003",
    ]
    assert numbers(operator.get(f"{every}&card={today.card}&outcome=answer").text) == [
        number_of("t2"),
        "359888123008",
        "12125550014",
    ]
    assert numbers(operator.get(f"{every}&number=%2B4420712390&account=acme").text) == [number_of("t3")]


@pytest.mark.parametrize("order", ["", "oldest"])
def test_keyset_pages_walk_every_row_once(today, operator, monkeypatch, order):  # noqa: F811
    first = f"/calls?since=&until=&order={order}"
    everything = numbers(operator.get(first).text)
    assert len(everything) == len(NEWEST_FIRST) + len(TODAY) == len(set(everything))
    monkeypatch.setattr(calls, "PAGE_SIZE", 3)
    walked, url, pages = [], first, 0
    while url:
        page = operator.get(url.replace("&amp;", "&")).text
        walked, pages = walked + numbers(page), pages + 1
        following = re.search(r'<a href="(/calls\?[^"]*after=[^"]*)">Next page</a>', page)
        url = following.group(1) if following else None
    assert walked == everything and pages == 7  # 19 rows, 3 a page: the last page has 1 and no next link


def test_exports_are_the_clis(today, operator, cli, tmp_path):  # noqa: F811
    answer = operator.get("/calls?since=&until=&account=acme&number=1&format=csv")
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/csv")
    assert "attachment" in answer.headers["content-disposition"]
    expected = cli("cdr", "export", "--account", "acme", "--number", "1").stdout
    assert answer.text.replace("\r\n", "\n") == expected.replace("\r\n", "\n")
    assert answer.text.splitlines()[0].split(",") == list(cdr_sheet.COLUMNS)
    xlsx = operator.get("/calls?since=&until=&account=acme&number=1&format=xlsx")
    assert xlsx_cells(io.BytesIO(xlsx.content)) == as_xlsx(expected, cdr_sheet.TYPES)
    today_only = operator.get("/calls?format=csv").text.splitlines()
    assert len(today_only) == 1 + len(TODAY)


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("since=2026-13-01&until=", "&#39;2026-13-01&#39; is not a date like 2026-12-25"),
        ("since=&until=&account=nobody", "no account named &#39;nobody&#39;"),
        ("since=&until=&number=abc", "--number &#39;abc&#39;: give the start of a normalised number"),
        ("since=&until=&after=yesterday", "after=&#39;yesterday&#39; is not a page of calls"),
        ("since=&until=&format=pdf", "unknown export format &#39;pdf&#39;: use csv or xlsx"),
    ],
)
def test_a_bad_filter_shows_one_error_line(today, operator, query, message):  # noqa: F811
    answer = operator.get(f"/calls?{query}")
    assert answer.status_code == 400
    [error] = errors(answer.text)
    assert message in error
    assert "<tbody>" not in answer.text
