"""The system page: what `asteriskbill status` knows (version, database, servers, FastAGI, credit held)."""

from __future__ import annotations

from starlette.responses import Response
from starlette.routing import Route

from asteriskbill.services import status
from asteriskbill.web.auth import Ctx, page


@page("admin")
async def system(ctx: Ctx) -> Response:
    found = await ctx.run(status.status, ctx.engine, ctx.settings)  # probes the servers, each with a timeout
    return ctx.render("system/status.html", found=found, up=status.UP, no_ami=status.NO_AMI)


ROUTES = [Route("/system", system, methods=["GET"])]
