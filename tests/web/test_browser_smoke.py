"""The browser the console's tests drive: Debian's chromium loads the vendored libraries over a real socket,
under the console's Content-Security-Policy, and the page fixture reports what the browser's console shows."""

from __future__ import annotations

import asyncio
import json
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helpers import ROOT
from tests.helpers.browser import assert_no_console_errors
from tests.helpers.waiting import wait_for

STATIC = ROOT / "asteriskbill" / "web" / "static"
VENDORED = ("pico.min.css", "htmx.min.js", "sse.js", "chart.umd.min.js")
PINNED = json.loads((STATIC / "vendor" / "package.json").read_text())["dependencies"]
# the console's policy (web.md): no inline script or style, every file from the console itself
HEAD = """<!doctype html><html><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'self'; script-src 'self'; style-src 'self'">
<meta name="htmx-config" content='{"includeIndicatorStyles": false, "allowEval": false}'>
<link rel="stylesheet" href="/static/vendor/pico.min.css">
<script src="/static/vendor/htmx.min.js" defer></script><script src="/static/vendor/sse.js" defer></script>
<script src="/static/vendor/chart.umd.min.js" defer></script><script src="/chart.js" defer></script>"""
# a line chart drawn from a script file, as the console's charts.js will
CHART_JS = (
    "new Chart(document.getElementById('calls'), {type: 'line', data: {labels: [1, 2], datasets: [{data: [3, 4]}]}});"
)


@pytest.fixture
def site(tmp_path: Path) -> Iterator[str]:
    """``python -m http.server`` on a free port, serving the package's static/ as /static/ beside the test's
    pages; yields its address once it listens."""
    root = tmp_path / "site"
    root.mkdir()
    (root / "static").symlink_to(STATIC)
    (root / "chart.js").write_text(CHART_JS)
    (root / "favicon.ico").write_bytes(b"")  # the browser asks for it: a 404 is a console error
    (root / "page.html").write_text(f"{HEAD}</head><body><main><canvas id='calls'></canvas></main></body></html>")
    inline = "<script>document.title = 'inline';</script>"
    (root / "inline.html").write_text(f"{HEAD}</head><body>{inline}</body></html>")
    log = tmp_path / "http.log"
    with log.open("w") as out:
        server = subprocess.Popen(
            [sys.executable, "-u", "-m", "http.server", "0", "--bind", "127.0.0.1", "--directory", root],
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        listening = re.compile(r"port (\d+)")
        wait_for(lambda: listening.search(log.read_text()), "http.server to listen")
        found = listening.search(log.read_text())
        assert found is not None
        yield f"http://127.0.0.1:{found.group(1)}"
    finally:
        server.terminate()
        server.wait(timeout=30)


def test_the_vendored_libraries_load_and_run_without_console_errors(page, site):
    statuses: dict[str, int] = {}
    page.on("response", lambda response: statuses.__setitem__(response.url.rsplit("/", 1)[-1], response.status))
    page.goto(f"{site}/page.html")
    page.wait_for_function("Chart.getChart('calls') !== undefined")
    assert {name: statuses.get(name) for name in VENDORED} == dict.fromkeys(VENDORED, 200)
    assert page.evaluate("[htmx.version, Chart.version]") == [PINNED["htmx.org"], PINNED["chart.js"]]
    assert page.evaluate("getComputedStyle(document.body).fontFamily").startswith("system-ui")  # Pico's font
    assert_no_console_errors(page)


def test_an_inline_script_is_a_console_error_the_helper_reports(page, site):
    page.goto(f"{site}/inline.html")
    with pytest.raises(AssertionError, match="Content Security Policy"):
        assert_no_console_errors(page)


def test_asyncio_runs_in_tests_without_a_page_once_the_browser_is_up(request):
    request.getfixturevalue("browser")  # this worker's browser, started now if no test here started it yet
    assert asyncio.run(asyncio.sleep(0, result="ran")) == "ran"
