"""The real ARI captures (tests/fixtures/asterisk/ari/) and what each call must come to (README §3 table)."""

from __future__ import annotations

import csv
import functools
import json
import random
import re
from dataclasses import dataclass
from datetime import timedelta

from asteriskbill.ari.events import parse_timestamp
from asteriskbill.ari.reports import FinishedCall
from tests.helpers import ASTERISK

DIR = ASTERISK / "ari"


@dataclass(frozen=True)
class Expected:
    outcome: str
    billable_ms: int  # README: talk time from events (Dial ANSWER -> first ChannelLeftBridge)
    session: str  # what the FastAGI set (prepaid-fastagi-sessions.log)
    uniqueid: str  # the caller leg (same log)
    linkedid: str  # Asterisk's own CDR (prepaid-cdr.txt, the lastapp=Dial record)


OUTCOMES = {
    "2001": ("ANSWER", 3505),
    "2002": ("ANSWER", 5004),
    "2003": ("BUSY", 0),
    "2004": ("NOANSWER", 0),
    "2005": ("CONGESTION", 0),
    "2006": ("CANCEL", 0),
    "2007": ("ANSWER", 2003),
    "2008": ("ANSWER", 2003),
}
CALLS = tuple(OUTCOMES)


def frames(call: str) -> list[str]:
    """One capture's frames, exactly as received, in arrival order."""
    (path,) = DIR.glob(f"prepaid-{call}-*.jsonl")
    return path.read_text().splitlines()


def all_frames() -> list[str]:
    return [frame for call in CALLS for frame in frames(call)]


def expected() -> dict[str, Expected]:
    log = (DIR / "prepaid-fastagi-sessions.log").read_text()
    agi = {
        call: (session, uniqueid)
        for call, uniqueid, session in re.findall(
            r"call (20\d\d) .*caller leg uniqueid (\S+)\n(?:.*\n)*?.*SET VARIABLE BILL_SESSION (\S+)\\n", log
        )
    }
    rows = csv.reader(line for line in (DIR / "prepaid-cdr.txt").read_text().splitlines() if line.startswith('"'))
    linked = {row[16]: row[19] for row in rows if row[7] == "Dial"}
    return {
        call: Expected(outcome, ms, agi[call][0], agi[call][1], linked[agi[call][1]])
        for call, (outcome, ms) in OUTCOMES.items()
    }


_expected = functools.cache(expected)


def stamp_ms(frame: str) -> float:
    return parse_timestamp(json.loads(frame)["timestamp"]).timestamp() * 1000


STAMP = re.compile(r'"(2026-11-23T[0-9:.]+\+0000)"')
UUID = re.compile(r"\b([0-9a-f]{8})-(?=[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})")


def later_copy(frames: list[str], n: int) -> list[str]:
    """The frames as another run ``n`` minutes later: timestamps shifted, channel ids and sessions unique."""

    def shift(match: re.Match) -> str:
        moved = parse_timestamp(match.group(1)) + timedelta(minutes=n)
        return '"' + moved.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moved.microsecond // 1000:03d}+0000" + '"'

    def rename(match: re.Match) -> str:  # sessions and bridge ids (UUIDs)
        return f"{int(match.group(1), 16) ^ n:08x}-"

    return [re.sub(UUID, rename, re.sub(STAMP, shift, frame)).replace('"17954', f'"{n}-17954') for frame in frames]


def jumble(frames: list[str], seed: int, window_ms: float = 3, duplicates: float = 0.2) -> list[str]:
    """Arrival order shuffled among frames stamped within ``window_ms`` of each other, some frames twice."""
    rng = random.Random(seed)
    keyed = []
    for index, frame in enumerate(frames):
        for _ in range(2 if rng.random() < duplicates else 1):
            keyed.append((stamp_ms(frame) + rng.uniform(0, window_ms), index, frame))
    return [frame for *_, frame in sorted(keyed)]


def check(call: str, report) -> None:
    """``report`` is capture ``call`` as the README says: its session, outcome, caller leg and talk time."""
    want = _expected()[call]
    assert isinstance(report, FinishedCall), report
    assert (report.session, report.outcome, report.uniqueid) == (want.session, want.outcome, want.uniqueid)
    assert abs(report.billable_ms - want.billable_ms) <= 10, (call, report.billable_ms)
