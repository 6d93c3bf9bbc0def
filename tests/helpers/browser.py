"""A real browser for the console's tests: Playwright driving Debian's chromium (`make browser`).

``browser`` is one chromium per test process (each xdist worker has its own); ``page`` is a fresh context per
test, at a laptop's viewport, that keeps what the browser's console reports as an error (a failed script, a
resource refused by the Content-Security-Policy, an exception no script caught) for
``assert_no_console_errors``; a page itself answering 403 or 401 is not one (the test checks that status).
tests/web/conftest.py saves a screenshot of a failed test's page.

Between its calls, Playwright's sync API leaves its event loop marked as the thread's running loop, and
``asyncio.run()`` refuses to start while it is: the mark is lifted once the browser is up, and put back only
for the tests that use the browser (``playwright_turn``), so the worker's other tests run as without it.
"""

from __future__ import annotations

import asyncio
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, ConsoleMessage, Error, Page, Request, ViewportSize, sync_playwright

VIEWPORT = ViewportSize(width=1366, height=768)
FAILURE_SCREENSHOT = "failure.png"
_errors: dict[Page, list[str]] = {}
_playwright_loop: list[asyncio.AbstractEventLoop] = []  # the running browser's loop, while there is one


def chromium() -> str | None:
    """The chromium to drive: $ASTERISKBILL_CHROMIUM, else `chromium` on PATH, else Debian's."""
    for candidate in (os.environ.get("ASTERISKBILL_CHROMIUM"), shutil.which("chromium"), "/usr/bin/chromium"):
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    return None


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    executable = chromium()
    if executable is None:
        pytest.fail("no chromium for the console's browser tests: run `make browser`", pytrace=False)
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=executable, headless=True)
        _playwright_loop.append(asyncio.get_running_loop())
        asyncio._set_running_loop(None)
        yield launched
        asyncio._set_running_loop(_playwright_loop.pop())
        launched.close()


@pytest.fixture(autouse=True)
def playwright_turn(request: pytest.FixtureRequest) -> Iterator[None]:
    """A test using the browser runs with Playwright's loop marked running (see above), and only such a test."""
    if "browser" not in request.fixturenames or not _playwright_loop:
        yield
        return
    asyncio._set_running_loop(_playwright_loop[0])
    try:
        yield
    finally:
        asyncio._set_running_loop(None)


@pytest.fixture
def page(browser: Browser, tmp_path: Path) -> Iterator[Page]:
    """A new page in a context of its own; a failed test leaves its screenshot in ``tmp_path``."""
    context = browser.new_context(viewport=VIEWPORT)
    opened = context.new_page()
    errors = _errors[opened] = []
    pages: set[str] = set()  # the documents asked for: a refused page's status is the test's to check

    def on_console(message: ConsoleMessage) -> None:
        url = message.location.get("url")
        if message.text.startswith("Failed to load resource") and url in pages:
            return
        if message.type == "error":  # Chromium reports a CSP refusal here too
            errors.append(f"{message.text} ({url})")

    def on_request(request: Request) -> None:
        if request.resource_type == "document":
            pages.add(request.url)

    opened.on("request", on_request)
    opened.on("console", on_console)
    opened.on("pageerror", lambda error: errors.append(f"uncaught {error.name}: {error.message}"))
    yield opened
    del _errors[opened]
    context.close()


def console_errors(page: Page) -> list[str]:
    """What the browser's console showed as errors on ``page`` so far."""
    return list(_errors[page])


def assert_no_console_errors(page: Page) -> None:
    found = console_errors(page)
    assert not found, "the browser's console shows errors:\n" + "\n".join(found)


def save_failure_screenshot(page: Page, folder: Path) -> str:
    """A full-page screenshot of a failed test's page in ``folder``: where it is, or why there is none."""
    path = folder / FAILURE_SCREENSHOT
    try:
        page.screenshot(path=path, full_page=True)
    except Error as error:
        return f"no screenshot: {error.message}"
    return f"{path} (page {page.url})"
