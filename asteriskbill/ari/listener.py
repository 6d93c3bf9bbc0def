"""The ARI side of the listener: client frames -> tracker -> ended calls, and the safety-net hangup.

The settlement (writing the CDR, charging, releasing the reservation) consumes what ``call_reports``
yields; nothing here touches the database.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from contextlib import aclosing
from datetime import datetime

import httpx

from asteriskbill.ari.client import AriClient, AriError, Mark
from asteriskbill.ari.events import BadFrame, parse_event
from asteriskbill.ari.reports import CallInProgress, FinishedCall, IncompleteCall
from asteriskbill.ari.tracker import CallTracker

log = logging.getLogger("asteriskbill.ari")


async def call_reports(
    client: AriClient,
    tracker: CallTracker,
    *,
    idle_flush: float = 0.25,
    connected: Callable[[], None] | None = None,
) -> AsyncIterator[FinishedCall | IncompleteCall]:
    """Every call that ends, each session once, for as long as the caller iterates.

    ``idle_flush``: after this many seconds without a frame, calls whose caller channel was destroyed are
    reported without waiting for the tracker's settle window. After a reconnection the tracker is resynced
    with GET /channels (calls that lived through the gap end as ``IncompleteCall(reason=EVENT_GAP)``).
    """
    connections = 0
    async with aclosing(client.frames(idle_after=idle_flush)) as frames:
        async for frame in frames:
            if frame is Mark.IDLE:
                reports = tracker.flush()
            elif frame is Mark.CONNECTED:
                connections += 1
                if connected is not None:  # events were missed before this: recovery looks at once
                    connected()
                reports = tracker.flush()
                if connections > 1:
                    reports += await _resync(client, tracker)
            else:
                try:
                    event = parse_event(frame)
                except BadFrame as exc:
                    log.warning("ignored an ARI frame: %s: %.200r", exc, frame)
                    continue
                reports = tracker.feed(event)
            for report in reports:
                yield report


async def _resync(client: AriClient, tracker: CallTracker) -> list[IncompleteCall]:
    try:
        live = set(await client.channel_ids())
    except (AriError, httpx.HTTPError) as exc:
        log.warning("after reconnecting, GET /channels failed (%s): calls up now will go to recovery", exc)
        live = None
    lost = tracker.resync(live)
    for call in lost:
        log.warning(
            "call %s (channel %s) ended while the event socket was down: left to recovery", call.session, call.channel
        )
    return lost


async def hang_up_overdue(
    client: AriClient, tracker: CallTracker, now: datetime, grace_ms: int
) -> list[CallInProgress]:
    """The safety net: DELETE the caller channel of every call past its maximum + grace (a dialplan
    without L()). The call then ends as usual and its raw billable ms exceed ``max_ms``: the settlement
    charges ``FinishedCall.capped_ms``. Returns the overdue calls (a channel already gone is not an error;
    a failed DELETE is logged and retried at the next pass)."""
    overdue = tracker.overdue(now, grace_ms)
    for call in overdue:
        log.warning(
            "call %s on %s is past its maximum of %s ms + %s ms grace: hanging up",
            call.session,
            call.channel,
            call.max_ms,
            grace_ms,
        )
        try:
            await client.hangup(call.channel_id)
        except (AriError, httpx.HTTPError) as exc:
            log.error("could not hang up %s: %s", call.channel, exc)
    return overdue
