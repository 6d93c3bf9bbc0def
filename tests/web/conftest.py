"""The console's tests: a real browser (``browser``, ``page``) for any test here that asks for one."""

from __future__ import annotations

import pytest

from tests.helpers.browser import browser, page, playwright_turn, save_failure_screenshot  # noqa: F401


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    """A test that fails with a page open shows where the screenshot of that page is (under its tmp_path)."""
    report = yield
    funcargs = getattr(item, "funcargs", {})
    if report.when == "call" and report.failed and "page" in funcargs:
        report.sections.append(("browser", save_failure_screenshot(funcargs["page"], funcargs["tmp_path"])))
    return report
