"""The deadlines of every AGI session of a loop, watched by one timer.

Each session has deadlines (its environment's, each reply's, the linger after its EOF) that almost never pass,
and a FastAGI server runs thousands of sessions a second: a timer per deadline cost a heap push and a cancel
each, in a heap holding every one still to come. Here a watched object only notes when its deadline is (a
float), and one timer per loop, ticking while anything is watched, calls ``expired()`` on those past theirs.
A deadline is acted on at most one ``TICK`` late.
"""

from __future__ import annotations

import asyncio
import math
import weakref
from typing import Protocol

TICK = 0.05  # seconds
NONE = math.inf  # the deadline of what has none now


class Watched(Protocol):
    deadline: float  # loop time (loop.time())

    def expired(self) -> None: ...


class Deadlines:
    """Used from inside its loop only (it keeps no reference to the loop: ``of`` maps loops to instances weakly)."""

    def __init__(self) -> None:
        self._watched: set[Watched] = set()
        self._ticking = False  # no handle kept: a handle refers to its loop, which maps here

    @classmethod
    def of(cls, loop: asyncio.AbstractEventLoop) -> Deadlines:
        """The loop's one instance."""
        deadlines = _by_loop.get(loop)
        if deadlines is None:
            deadlines = _by_loop[loop] = cls()
        return deadlines

    def watch(self, item: Watched) -> None:
        self._watched.add(item)
        if not self._ticking:
            self._ticking = True
            asyncio.get_running_loop().call_later(TICK, self._tick)

    def forget(self, item: Watched) -> None:
        self._watched.discard(item)

    def _tick(self) -> None:
        loop = asyncio.get_running_loop()
        now = loop.time()
        try:
            for item in [item for item in self._watched if item.deadline <= now]:
                item.expired()
        finally:
            self._ticking = bool(self._watched)
            if self._ticking:
                loop.call_later(TICK, self._tick)


_by_loop: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Deadlines] = weakref.WeakKeyDictionary()
