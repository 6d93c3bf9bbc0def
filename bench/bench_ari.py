"""The ARI listener's pure work: frames parsed and calls correlated per second (no socket, no database).

The eight real captures are replayed as many later runs (timestamps shifted, ids and sessions unique),
as a long-running listener sees them; the bound is ``json.loads`` alone on the same frames.
"""

from __future__ import annotations

import json

from asteriskbill.ari.events import parse_event
from asteriskbill.ari.reports import FinishedCall
from asteriskbill.ari.tracker import CallTracker
from bench.common import Row, per_second, timer
from tests.helpers import captures

COPIES = 250


def run() -> list[Row]:
    frames = [frame for n in range(COPIES) for frame in captures.later_copy(captures.all_frames(), n)]
    with timer() as loads:
        for frame in frames:
            json.loads(frame)
    with timer() as parse:
        events = [parse_event(frame) for frame in frames]
    tracker = CallTracker()
    peak = 0
    with timer() as track:
        reports = []
        for event in events:
            reports.extend(tracker.feed(event))
            peak = max(peak, tracker.tracked_channels)
        reports.extend(tracker.flush())
    calls = len(reports)
    assert calls == 8 * COPIES and all(isinstance(r, FinishedCall) for r in reports)
    return [
        Row(
            "ARI events (pure)",
            "parse_event per frame",
            per_second(len(frames), parse(), "frames"),
            f"bound: json.loads alone {per_second(len(frames), loads(), 'frames')}",
        ),
        Row(
            "ARI tracker (pure)",
            f"feed + settle, {calls:,} captured calls replayed",
            per_second(calls, track(), "calls"),
            f"{per_second(len(frames), track(), 'frames')}; at most {peak} channels held (60 s retention)",
        ),
    ]
