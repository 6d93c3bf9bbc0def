"""The live parts' event stream: a fragment is sent when it changes, never again while it is what the page shows."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace

import pytest

from asteriskbill.web import sse

BOOTHS = {"booth-a": "<article>a idle</article>", "booth-b": "<article>b idle</article>"}


class Page:
    """What the stream asks of its request: the page's ``?seen=``, and whether the browser is still there."""

    def __init__(self, seen: str | None, ticks: int):
        self.query_params = {} if seen is None else {"seen": seen}
        self.ticks = ticks

    async def is_disconnected(self) -> bool:
        self.ticks -= 1
        return self.ticks < 0


def _events(seen: str | None, shown: list[dict[str, str]]) -> list[str]:
    """The events sent over len(shown) ticks, the fragments at each tick being the next of ``shown``."""

    async def run(_fn, *_args):
        return "a session that goes on"

    ctx = SimpleNamespace(
        viewer=SimpleNamespace(token="t"), request=Page(seen, len(shown)), run=run, engine=None, settings=None
    )
    ticks = iter(shown)

    async def fragments() -> dict[str, str]:
        return next(ticks)

    async def collect() -> list[str]:
        return [item async for item in sse.stream(ctx, fragments).body_iterator]

    return asyncio.run(collect())


@pytest.fixture(autouse=True)
def _no_wait(monkeypatch):
    monkeypatch.setattr(sse, "TICK", 0)


def test_a_page_whose_fragments_have_not_changed_gets_nothing_until_one_does():
    started = {**BOOTHS, "booth-a": "<article>a prepaid</article>"}
    events = _events(sse.digest(BOOTHS), [BOOTHS, BOOTHS, started])
    assert events == [sse.event("booth-a", "<article>a prepaid</article>")]


def test_a_page_that_is_out_of_date_gets_every_fragment_at_once():
    started = {**BOOTHS, "booth-a": "<article>a prepaid</article>"}
    assert _events(sse.digest(BOOTHS), [started, started]) == [
        sse.event("booth-a", "<article>a prepaid</article>"),
        sse.event("booth-b", "<article>b idle</article>"),
    ]
    assert len(_events(None, [BOOTHS, BOOTHS])) == 2  # a stream opened without ?seen= sends all, once


def test_an_event_carries_each_line_of_its_fragment():
    assert sse.event("message", "<p>\n1</p>") == "data: <p>\ndata: 1</p>\n\n"
    assert sse.event("booth-a", "") == "event: booth-a\ndata: \n\n"
