"""The dashboard's live part: /live/calls sends the table of the calls up now each time it changes."""

from __future__ import annotations

from starlette.responses import Response
from starlette.routing import Route

from asteriskbill.services import cdrs
from asteriskbill.web import sse
from asteriskbill.web.auth import Ctx, page


@page("operator")
async def live_calls(ctx: Ctx) -> Response:
    return sse.stream(ctx, lambda: calls_now(ctx))


async def calls_now(ctx: Ctx) -> dict[str, str]:
    """The dashboard's table of the calls up now (authorized calls whose credit is still held), as its event."""
    calls = await ctx.run(cdrs.active_calls, ctx.engine)
    return {"message": ctx.web.templates.get_template("_calls_table.html").render(calls=calls)}


ROUTES = [Route("/live/calls", live_calls, methods=["GET"])]
