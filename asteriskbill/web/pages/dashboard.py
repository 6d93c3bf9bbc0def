"""The operator's dashboard: the calls up now (kept live over /live/calls) and today's figures."""

from __future__ import annotations

from markupsafe import Markup
from starlette.responses import Response
from starlette.routing import Route

from asteriskbill.services import reports
from asteriskbill.web import sse
from asteriskbill.web.auth import Ctx, page
from asteriskbill.web.pages import live


@page("operator")
async def dashboard(ctx: Ctx) -> Response:
    calls = await live.calls_now(ctx)
    today = await ctx.run(reports.today, ctx.engine, ctx.zone)
    # the table as the live stream renders it (autoescaped there): the page shows it as is
    table = Markup(calls["message"])
    return ctx.render("dashboard.html", calls=table, seen=sse.digest(calls), today=today)


ROUTES = [Route("/", dashboard, methods=["GET"])]
