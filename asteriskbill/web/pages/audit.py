"""The audit log: who did what, newest first; a console change carries the console user's name."""

from __future__ import annotations

from starlette.responses import Response
from starlette.routing import Route

from asteriskbill.errors import UserError
from asteriskbill.services import audit
from asteriskbill.web.auth import Ctx, page

PAGE_SIZE = 100
FIELDS = ("since", "until", "operator", "action", "subject")


@page("admin")
async def audit_log(ctx: Ctx) -> Response:
    query = ctx.request.query_params
    shown = {name: query.get(name, "").strip() for name in FIELDS}
    try:
        before = _before(query.get("before", ""))
        f = audit.Filters(
            ctx.moment("since"), ctx.moment("until", end=True), shown["operator"], shown["action"], shown["subject"]
        )
        found = await ctx.run(audit.page, ctx.engine, f, before, PAGE_SIZE)
    except UserError as exc:
        return ctx.render("audit/log.html", status=400, shown=shown, found=None, error=str(exc))
    return ctx.render("audit/log.html", shown=shown, found=found)


def _before(text: str) -> int | None:
    if not text:
        return None
    if not text.isdigit():
        raise UserError(f"before={text!r}: an entry's number is digits only")
    return int(text)


ROUTES = [Route("/audit", audit_log, methods=["GET"])]
