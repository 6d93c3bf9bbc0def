"""`asteriskbill serve` as a real process, and free ports for the ones tests start themselves."""

from __future__ import annotations

import asyncio
import os
import re
import socket
import sys
from pathlib import Path

from tests.helpers.fake_ari import FakeAri
from tests.helpers.waiting import until

READY = re.compile(r"serving FastAGI on (\S+):(\d+)")


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
            *(sys.executable, "-m", "asteriskbill.cli", "--db", db, "serve", "--port", "0"),
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
