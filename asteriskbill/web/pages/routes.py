"""Routes (which trunk a number leaves through: the longest prefix wins) and number plans: the global one from
the settings, shown, and a company's own values over it, set here as `asteriskbill numbers plan set` does."""

from __future__ import annotations

from dataclasses import asdict
from urllib.parse import quote

from starlette.responses import Response
from starlette.routing import Route

from asteriskbill.billing.accounts import COMPANY
from asteriskbill.errors import UserError
from asteriskbill.services import accounts, numbers, routes
from asteriskbill.web import forms
from asteriskbill.web.auth import Ctx, page

NEW_ROUTE = ("prefix", "dial", "name")
PLAN_LABELS = {
    "country_code": "Country code",
    "area_code": "Area code",
    "outside_line": "Outside line",
    "international_prefix": "International prefix",
    "national_prefix": "National prefix",
    "max_length": "Longest number (digits)",
}


@page("admin")
async def routes_page(ctx: Ctx) -> Response:
    return await _page(ctx, dict.fromkeys(NEW_ROUTE, ""))


async def _page(ctx: Ctx, typed: dict[str, str], error: str | None = None) -> Response:
    """The routes, the global plan, and the plan of the company chosen (?company=...) with its form."""
    company = forms.text(ctx.request.query_params, "company") or forms.text(ctx.form or {}, "company")
    found = await ctx.run(routes.list_routes, ctx.engine)
    companies = await ctx.run(accounts.list_accounts, ctx.engine, COMPANY)
    plan = None
    if company:
        try:
            plan = asdict(await ctx.run(numbers.show_plan, ctx.engine, ctx.settings, company))
        except UserError as exc:
            error = error or str(exc)
    return ctx.render(
        "routes/list.html",
        status=400 if error else 200,
        found=found,
        typed=typed,
        companies=companies,
        company=company,
        plan=plan,
        global_plan=asdict(numbers.global_plan(ctx.settings)),
        labels=PLAN_LABELS,
        error=error,
    )


@page("admin")
async def route_add(ctx: Ctx) -> Response:
    assert ctx.form is not None
    typed = {name: forms.text(ctx.form, name) for name in NEW_ROUTE}
    try:
        route = await ctx.run(routes.add_route, ctx.engine, ctx.operator, typed["prefix"], typed["dial"], typed["name"])
    except UserError as exc:
        return await _page(ctx, typed, str(exc))
    return ctx.redirect("/routes", flash=f"route {route.prefix or '(every number)'} -> {route.dial} added")


@page("admin")
async def route_remove(ctx: Ctx) -> Response:
    assert ctx.form is not None
    prefix = forms.text(ctx.form, "prefix")
    await ctx.run(routes.remove_route, ctx.engine, ctx.operator, prefix)
    return ctx.redirect("/routes", flash=f"route {prefix or '(every number)'} removed")


@page("admin")
async def plan_set(ctx: Ctx) -> Response:
    """A company's own values: a field left empty keeps what it has, one ticked returns to the global setting."""
    assert ctx.form is not None
    company = forms.text(ctx.form, "company")
    values: dict[str, str | None] = {field: forms.text(ctx.form, field) or None for field in PLAN_LABELS}
    for field in ctx.form.getlist("reset"):
        values[str(field)] = ""
    try:
        await ctx.run(numbers.set_plan, ctx.engine, ctx.settings, ctx.operator, company, values)
    except UserError as exc:
        return await _page(ctx, dict.fromkeys(NEW_ROUTE, ""), str(exc))
    return ctx.redirect(f"/routes?company={quote(company)}#plans", flash=f"number plan of {company} saved")


ROUTES = [
    Route("/routes", routes_page, methods=["GET"]),
    Route("/routes", route_add, methods=["POST"]),
    Route("/routes/remove", route_remove, methods=["POST"]),
    Route("/routes/plan", plan_set, methods=["POST"]),
]
