"""A callshop served by a real `serve` process for the console's browser tests: its console, its FastAGI port,
and a fake Asterisk (ARI) it follows, so that a call placed over FastAGI is settled the real way — by the
listener, from the call's events.

The fake ARI and the FastAGI calls run on an event loop of their own thread: Playwright's sync API owns the
test's thread (tests/helpers/browser.py).
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Coroutine, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import Engine

from asteriskbill.agi.peer import Call, call_fastagi
from asteriskbill.ari.events import parse_timestamp
from asteriskbill.settings import Settings
from asteriskbill.store.engine import make_engine
from asteriskbill.store.types import utcnow
from tests.helpers.captures import expected, frames, later_copy
from tests.helpers.cli import Cli
from tests.helpers.fake_ari import FakeAri
from tests.helpers.serve import serving_console
from tests.helpers.world import World, make_world

PASSWORD = "correct horse 1"
OPERATOR, ADMIN = "olga", "adam"
BOOTH = "booth-301"  # on extension 301
UK = "00442071234567"  # retail: 0.60/min billed 60/6
ANSWERED = "2001"  # the capture of a call answered for 3.5 s (billed 60 s to the UK: 0.60)
T = TypeVar("T")


class Asterisk:
    """The fake ARI a `serve` follows, on an event loop in a thread of its own, and calls over FastAGI."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="fake-asterisk", daemon=True)
        self.thread.start()
        self.ari: FakeAri = self.run(self._open())
        self.shifted = 0  # the minutes the last call's events were moved by

    async def _open(self) -> FakeAri:
        return await FakeAri().__aenter__()

    def run(self, work: Coroutine[Any, Any, T], seconds: float = 60) -> T:
        return asyncio.run_coroutine_threadsafe(asyncio.wait_for(work, seconds), self.loop).result()

    def dial(self, fastagi_port: int, number: str, extension: str) -> dict[str, str]:
        """The `ext` AGI on the served FastAGI, as the dialplan runs it for a call from ``extension``: the
        channel variables it set (BILL_STATUS, BILL_SESSION, BILL_MAX_MS...)."""
        call = Call(script="ext", args=[number], callerid=extension)
        return self.run(call_fastagi(call, "127.0.0.1", fastagi_port)).variables

    def hang_up(self, session: str, max_ms: int) -> None:
        """The events of capture 2001 (answered, 3.5 s of talk) for the call ``session``, as if it happened in the
        last minutes: the listener settles it. Each call's events are moved a minute later than the last one's,
        which gives them channel ids of their own (later_copy)."""
        first = parse_timestamp(json.loads(frames(ANSWERED)[0])["timestamp"])
        minutes = self.shifted = max(int((utcnow() - first).total_seconds() // 60) - 1, self.shifted + 1)
        marked = [
            frame.replace(expected()[ANSWERED].session, "@session@").replace(
                '"variable":"BILL_MAX_MS","value":"5000"', f'"variable":"BILL_MAX_MS","value":"{max_ms}"'
            )
            for frame in frames(ANSWERED)
        ]
        played = [frame.replace("@session@", session) for frame in later_copy(marked, minutes)]
        self.loop.call_soon_threadsafe(self.ari.play, played)

    def close(self) -> None:
        self.run(self.ari.__aexit__(None, None, None))
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=30)
        self.loop.close()


@dataclass
class Shop:
    url: str  # the console's
    fastagi_port: int
    world: World
    engine: Engine  # the same SQLite file, to check what the pages changed
    asterisk: Asterisk
    cli: Cli

    def dial(self, number: str, extension: str = "301") -> dict[str, str]:
        return self.asterisk.dial(self.fastagi_port, number, extension)


def add_user(cli: Cli, name: str, role: str) -> None:
    cli("users", "add", name, "--role", role, "--password-stdin", input=f"{PASSWORD}\n")


@pytest.fixture
def shop(sqlite_url: str, tmp_path: Path) -> Iterator[Shop]:
    """make_world's tariff, card and company, booth-301 on extension 301, operator olga and admin adam, and
    `serve` on that SQLite file with its console, following a fake Asterisk."""
    cli = Cli(sqlite_url)
    world = make_world(cli, tmp_path)
    cli("accounts", "create", "extension", BOOTH, "--tariff", "retail", "--extension", "301", "--booth")
    add_user(cli, OPERATOR, "operator")
    add_user(cli, ADMIN, "admin")
    asterisk = Asterisk()
    engine = make_engine(Settings(db=sqlite_url))
    ari = {"ari_url": asterisk.ari.url, "ari_user": "tester", "ari_password": "tester"}
    try:
        with serving_console(sqlite_url, tmp_path / "serve.log", **ari) as (fastagi_port, url):
            yield Shop(url, fastagi_port, world, engine, asterisk, cli)
    finally:
        engine.dispose()
        asterisk.close()


def log_in(page: Page, url: str, name: str, password: str = PASSWORD) -> None:
    """Through the login form, as a person would; back on the dashboard."""
    page.goto(f"{url}/login")
    page.get_by_label("User").fill(name)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", name="Dashboard")).to_be_visible()
