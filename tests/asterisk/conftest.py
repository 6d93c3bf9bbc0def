"""The real-Asterisk suite (`make test-asterisk`): one Asterisk for the whole run, with its own configuration in
a temporary folder; for each test a billing database made with the CLI and `asteriskbill serve` following it.

Without an Asterisk every test is skipped with one line saying how to point at one (ASTERISK_PREFIX).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.helpers.asterisk import Asterisk, find
from tests.helpers.asterisk_billing import Serve, World, make_world
from tests.helpers.cli import Cli
from tests.helpers.serve import free_port

FOUND = find()


def pytest_runtest_setup(item):
    """Without an Asterisk every test is skipped from here: one place, so `-rs` shows one line for them all."""
    if isinstance(FOUND, str):
        pytest.skip(FOUND)


@pytest.fixture(scope="session")
def pbx(tmp_path_factory):
    assert not isinstance(FOUND, str)
    asterisk = Asterisk(FOUND, tmp_path_factory.mktemp("asterisk"), free_port())
    asterisk.configure()
    try:
        asterisk.start()
        yield asterisk
    finally:
        asterisk.stop()


@pytest.fixture(autouse=True)
def idle_pbx(pbx):
    """Each test starts on an idle Asterisk, and leaves none of its channels behind."""
    yield pbx
    pbx.hang_up_everything()
    pbx.ami.forget()


@pytest.fixture
def world(request, sqlite_url, tmp_path, pbx, secret_file) -> Iterator[World]:
    """The billing world; the agi-bin scripts Asterisk runs use its database and secret too."""
    marker = request.node.get_closest_marker("world")
    made = make_world(Cli(sqlite_url), tmp_path, **(marker.kwargs if marker else {}))
    pbx.billing_config.write_text(f'db = "{sqlite_url}"\nsecret_file = "{secret_file}"\n')
    yield made
    made.engine.dispose()


@pytest.fixture
def serve(request, world, pbx, tmp_path):
    """`serve` for the world's database, started (settings: the `serve` marker's keywords)."""
    marker = request.node.get_closest_marker("serve")
    running = Serve(world.cli.db, pbx, tmp_path / "serve.log", **(marker.kwargs if marker else {}))
    running.start()
    yield running
    running.stop()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    """A failed test shows what `serve` logged, and where Asterisk's own log is."""
    report = yield
    if report.failed and "serve" in getattr(item, "funcargs", {}):
        running = item.funcargs["serve"]
        report.sections.append(("serve's log (tail)", running.output()[-4000:]))
        report.sections.append(("Asterisk's log", str(running.pbx.root / "log" / "full")))
    return report


def pytest_configure(config):
    config.addinivalue_line("markers", "world(**kwargs): make_world's options (balances)")
    config.addinivalue_line("markers", "serve(**settings): asteriskbill settings of the test's serve")
