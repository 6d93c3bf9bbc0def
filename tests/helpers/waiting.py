"""Waiting for a condition instead of sleeping for a guess: each wait has a deadline and says what it waited for."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable


def wait_for(condition: Callable[[], object], what: str, seconds: float = 30, interval: float = 0.01) -> None:
    """Poll ``condition`` until it is true; AssertionError naming ``what`` after ``seconds``."""
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {seconds:g} s waiting for {what}")
        time.sleep(interval)


async def until(condition: Callable[[], object], what: str, seconds: float = 30, interval: float = 0.05) -> None:
    """The same in a coroutine; ``condition`` runs in a thread (it may read the database) while the loop goes on."""
    deadline = time.monotonic() + seconds
    while not await asyncio.to_thread(condition):
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {seconds:g} s waiting for {what}")
        await asyncio.sleep(interval)
