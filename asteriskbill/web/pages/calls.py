"""The calls (CDRs): searched by period (today by default), account or card, number prefix and outcome, newest
or oldest first, a page at a time (keyset: never a count of a million rows), exported as `asteriskbill cdr export`
writes them."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from sqlalchemy import Engine
from starlette.responses import Response
from starlette.routing import Route

from asteriskbill.billing.periods import preset
from asteriskbill.billing.settle import OUTCOMES
from asteriskbill.errors import UserError
from asteriskbill.services import cdr_pages, cdr_sheet, cdrs
from asteriskbill.store.types import utcnow
from asteriskbill.web import downloads, forms
from asteriskbill.web.auth import Ctx, page

PAGE_SIZE = 100
FIELDS = ("since", "until", "account", "card", "number", "outcome", "order")
OLDEST = "oldest"


@page("operator")
async def calls_page(ctx: Ctx) -> Response:
    """The page; with ?format=csv|xlsx every CDR the filters choose (no page), in the CLI's export columns."""
    query = ctx.request.query_params
    shown = {name: forms.text(query, name) for name in FIELDS}
    first_visit = "since" not in query and "until" not in query  # then today, as the operator's clock shows it
    if first_visit:
        shown["since"] = shown["until"] = utcnow().astimezone(ctx.zone).date().isoformat()
    fmt = forms.text(query, "format")
    try:
        f = _filters(ctx, shown, first_visit)
        if fmt:
            return await ctx.run(_export, ctx.engine, f, downloads.check_format(fmt))
        found = await ctx.run(cdr_pages.cdr_page, ctx.engine, replace(f, after=_after(query)), PAGE_SIZE)
    except UserError as exc:
        return ctx.render("calls/list.html", status=400, shown=shown, outcomes=OUTCOMES, found=None, error=str(exc))
    following = None if found.next_after is None else _token(found.next_after)
    return ctx.render("calls/list.html", shown=shown, outcomes=OUTCOMES, found=found.rows, following=following)


def _filters(ctx: Ctx, shown: dict[str, str], first_visit: bool) -> cdrs.Filters:
    """The period typed (a day alone included whole; empty: no bound), or today; the other fields as typed."""
    since, until = (
        preset("today", ctx.zone, utcnow()) if first_visit else (ctx.moment("since"), ctx.moment("until", end=True))
    )
    return cdrs.Filters(
        since=since,
        until=until,
        account=shown["account"] or None,
        card=shown["card"] or None,
        number=shown["number"] or None,
        outcome=shown["outcome"] or None,
        oldest_first=shown["order"] == OLDEST,
    )


def _export(engine: Engine, f: cdrs.Filters, fmt: str) -> Response:
    """The file, written whole in this worker thread from one snapshot of the CDRs."""
    with cdr_sheet.export_rows(engine, f, xlsx=fmt == "xlsx") as (_total, rows):
        return downloads.sheet_file("calls", fmt, cdr_sheet.COLUMNS, rows, cdr_sheet.TYPES, sheet="cdrs")


def _token(after: tuple[datetime, int]) -> str:
    """The next page's link: the last row's start and id."""
    started_at, cdr_id = after
    return f"{started_at.isoformat()}_{cdr_id}"


def _after(query) -> tuple[datetime, int] | None:
    text = forms.text(query, "after")
    if not text:
        return None
    moment, _, cdr_id = text.rpartition("_")
    try:
        return datetime.fromisoformat(moment), int(cdr_id)
    except ValueError:
        raise UserError(f"after={text!r} is not a page of calls: start again from the first page") from None


ROUTES = [Route("/calls", calls_page, methods=["GET"])]
