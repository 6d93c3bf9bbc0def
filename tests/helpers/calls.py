"""Calls authorized over AGI and then ended by the captured ARI events, and how to tell a listener is done.

A listener handles frames in arrival order, the tracker reports ended calls in event-time order, and one
worker settles them one at a time. So ``marker(n)``, a whole call that no database authorized played after
other frames, is logged as not billed only once every earlier frame was handled and every call those frames
ended was settled: waiting for that log line replaces sleeping "long enough".
"""

from __future__ import annotations

import itertools
import logging
import re
import uuid
from pathlib import Path

from asteriskbill.agi.peer import Call
from tests.helpers.captures import expected, frames, later_copy
from tests.helpers.fake_ari import ENTITY_ID
from tests.helpers.world import World, place

EXPECTED = expected()
USA = "0015551234"  # 0.10/min per second: 0.008334 pays exactly 5 s, like the captures' L(5000)
OTHER_ID = "02:fc:00:00:00:02"  # a second Asterisk's entity id
_MARKERS = itertools.count(1000)
NOT_BILLED = re.compile(r"call (\S+) has no reservation here: not billed")  # asteriskbill.runtime's warning


def call_frames(call: str, session: str, max_ms: int) -> list[str]:
    """A capture as if our AGI had authorized it: its BILL_SESSION and BILL_MAX_MS are ours."""
    original = EXPECTED[call].session
    return [
        frame.replace(original, session).replace(
            '"variable":"BILL_MAX_MS","value":"5000"', f'"variable":"BILL_MAX_MS","value":"{max_ms}"'
        )
        for frame in frames(call)
    ]


def authorize(engine, world: World, call: str) -> tuple[str, int]:
    """Authorize a card call over FastAGI with the caller leg of capture ``call``: (session, max ms)."""
    [out] = place(
        engine,
        world.settings,
        Call(script="card", keys=(world.card + "#", world.pin + "#", USA + "#"), uniqueid=EXPECTED[call].uniqueid),
    )
    assert out.variables["BILL_STATUS"] == "OK", out.variables
    return out.variables["BILL_SESSION"], int(out.variables["BILL_MAX_MS"])


def on(entity_id: str, playlist: list[str]) -> list[str]:
    """The frames as that Asterisk would send them."""
    return [frame.replace(f'"asterisk_id":"{ENTITY_ID}"', f'"asterisk_id":"{entity_id}"') for frame in playlist]


def marker() -> tuple[str, list[str]]:
    """(session, frames): capture 2003 (BUSY) ``n`` >= 1000 minutes later (after any copy with a smaller ``n``),
    under a session no reservation has; each marker has its own ``n``, channel ids and Local channel names
    (the tracker links a Local ;2 to its ;1 by name)."""
    n = next(_MARKERS)
    session = str(uuid.UUID(int=n))
    marked = [
        frame.replace(EXPECTED["2003"].session, "@session@")
        .replace("-0000004c;", f"-{0x80000000 + 2 * n:08x};")
        .replace("-0000004d;", f"-{0x80000001 + 2 * n:08x};")
        for frame in frames("2003")
    ]
    return session, [frame.replace("@session@", session) for frame in later_copy(marked, n)]


def not_billed_in(log: Path, session: str) -> bool:
    """Whether a `serve` process writing ``log`` has logged ``session`` as not billed."""
    return any(found[1] == session for found in NOT_BILLED.finditer(log.read_text()))


class NotBilled(logging.Handler):
    """The sessions the listeners of this process log as not billed, as they log them (a context manager)."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.sessions: set[str] = set()
        self.logger = logging.getLogger("asteriskbill.serve")

    def emit(self, record: logging.LogRecord) -> None:
        if found := NOT_BILLED.fullmatch(record.getMessage()):
            self.sessions.add(found[1])

    def __enter__(self) -> NotBilled:
        self.level = self.logger.level
        if not self.logger.isEnabledFor(logging.WARNING):
            self.logger.setLevel(logging.WARNING)
        self.logger.addHandler(self)
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.logger.removeHandler(self)
        self.logger.setLevel(self.level)
