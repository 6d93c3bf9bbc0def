"""Live parts of a page: rendered HTML fragments sent as server-sent events, which htmx's SSE extension swaps in
(``<div hx-ext="sse" sse-connect="/live/x"> <div sse-swap="name">``; "message" is the unnamed event)."""

from __future__ import annotations

import asyncio
import hashlib
import json
from collections.abc import AsyncIterator, Awaitable, Callable

from starlette.responses import StreamingResponse

from asteriskbill.services import users
from asteriskbill.web.auth import Ctx

TICK = 1.0  # seconds between looks at what the fragments show

Fragments = Callable[[], Awaitable[dict[str, str]]]  # event name -> its fragment now


def event(name: str, fragment: str) -> str:
    """One event: its name (none for "message"), each line of ``fragment`` a data line, a blank line after."""
    head = "" if name == "message" else f"event: {name}\n"
    return head + "".join(f"data: {line}\n" for line in fragment.splitlines() or [""]) + "\n"


def digest(fragments: dict[str, str]) -> str:
    """What a page passes as ``?seen=`` to its stream: the fragments it has just rendered."""
    return hashlib.sha256(json.dumps(fragments, sort_keys=True).encode()).hexdigest()[:32]


def stream(ctx: Ctx, fragments: Fragments) -> StreamingResponse:
    """Each fragment whenever it changes, until the browser goes away or the session ends (asked each tick:
    logging out or being disabled ends the stream; an open page keeps its session alive). The first tick sends
    them all unless they are still what the page rendered (``?seen=``): a resent booth would wipe what the
    operator is typing in it."""

    async def events() -> AsyncIterator[str]:
        assert ctx.viewer is not None
        sent: dict[str, str] = {}
        seen = ctx.request.query_params.get("seen")
        while not await ctx.request.is_disconnected():
            if await ctx.run(users.session_viewer, ctx.engine, ctx.settings, ctx.viewer.token) is None:
                return
            now = await fragments()
            if seen is not None and digest(now) == seen:
                sent = now
            seen = None
            for name, fragment in now.items():
                if sent.get(name) != fragment:
                    yield event(name, fragment)
            sent = now
            await asyncio.sleep(TICK)

    headers = {"Cache-Control": "no-store", "X-Accel-Buffering": "no"}  # a proxy must pass each event on at once
    return StreamingResponse(events(), media_type="text/event-stream", headers=headers)
