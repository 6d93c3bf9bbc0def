"""`asteriskbill serve` as a real process, and free ports for the ones tests start themselves."""

from __future__ import annotations

import asyncio
import os
import re
import socket
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.helpers.fake_ari import FakeAri
from tests.helpers.waiting import until, wait_for

READY = re.compile(r"serving FastAGI on (\S+):(\d+)")
CONSOLE = re.compile(r"console +(http://\S+?)/? ")


def free_port() -> int:
    """A TCP port nothing listens on now, for a command that cannot be told port 0."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def start_serve(db: str, ari: FakeAri, log: Path, **settings: str) -> tuple[asyncio.subprocess.Process, int]:
    """`serve` following ``ari`` (``settings``: more ASTERISKBILL_* values), its stderr in ``log``; returned
    once it listens, with its FastAGI port."""
    env = {
        **os.environ,
        "ASTERISKBILL_ARI_URL": ari.url,
        "ASTERISKBILL_ARI_USER": "tester",
        "ASTERISKBILL_ARI_PASSWORD": "tester",
        **{f"ASTERISKBILL_{name.upper()}": value for name, value in settings.items()},
    }
    with log.open("w") as stderr:
        process = await asyncio.create_subprocess_exec(
            *(sys.executable, "-m", "asteriskbill.cli", "--db", db, "serve", "--port", "0", "--web-port", "0"),
            env=env,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=stderr,
        )

    def listening() -> bool:
        assert process.returncode is None, f"serve exited: {log.read_text()}"
        return READY.search(log.read_text()) is not None

    await until(listening, "serve to listen")
    found = READY.search(log.read_text())
    assert found is not None
    return process, int(found.group(2))


@contextmanager
def serving(db: str, log: Path, **settings: str) -> Iterator[int]:
    """`serve` following no Asterisk (no ARI: no call settles by itself), for synchronous tests: its FastAGI
    port once it listens, its stderr in ``log``; stopped with SIGTERM at the end, which must end it cleanly."""
    with serving_console(db, log, **settings) as (port, _console):
        yield port


@contextmanager
def serving_console(db: str, log: Path, **settings: str) -> Iterator[tuple[int, str]]:
    """As ``serving``, with the web console on a free port: (FastAGI port, the console's URL)."""
    with serve_process(db, log, **settings) as (_process, port, console):
        yield port, console


@contextmanager
def serve_process(db: str, log: Path, **settings: str) -> Iterator[tuple[subprocess.Popen, int, str]]:
    """As ``serving_console``, with the process itself: (it, FastAGI port, the console's URL)."""
    env = {name: value for name, value in os.environ.items() if not name.startswith("ASTERISKBILL_ARI")}
    env.update({f"ASTERISKBILL_{name.upper()}": value for name, value in settings.items()})
    with log.open("w") as stderr:
        process = subprocess.Popen(
            [sys.executable, "-m", "asteriskbill.cli", "--db", db, "serve", "--port", "0", "--web-port", "0"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=stderr,
        )

    def listening() -> re.Match[str] | None:
        assert process.poll() is None, f"serve exited: {log.read_text()}"
        return CONSOLE.search(log.read_text()) and READY.search(log.read_text())

    try:
        wait_for(listening, "serve to listen", interval=0.05)
        text = log.read_text()
        found, console = READY.search(text), CONSOLE.search(text)
        assert found is not None and console is not None
        yield process, int(found.group(2)), console.group(1)
    finally:
        process.terminate()
    assert process.wait(timeout=30) == 0, log.read_text()
