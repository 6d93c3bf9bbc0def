"""Exchange rates by date (for buy prices in a vendor's currency): each with the days it is valid, and a new one
set as `asteriskbill currency set-rate` does."""

from __future__ import annotations

from datetime import datetime

from starlette.responses import Response
from starlette.routing import Route

from asteriskbill.billing.currency import parse_rate
from asteriskbill.errors import UserError
from asteriskbill.money import format_amount
from asteriskbill.services import currency
from asteriskbill.web import forms
from asteriskbill.web.auth import Ctx, page

NEW_RATE = ("base", "quote", "rate", "valid_from")


@page("admin")
async def currency_page(ctx: Ctx) -> Response:
    return await _page(ctx, dict.fromkeys(NEW_RATE, ""))


async def _page(ctx: Ctx, typed: dict[str, str], error: str | None = None) -> Response:
    found = await ctx.run(currency.list_rates, ctx.engine)
    return ctx.render(
        "currency/list.html",
        status=400 if error else 200,
        found=currency.valid_until(found),
        typed={**typed, "valid_from": typed["valid_from"] or _today(ctx)},
        error=error,
    )


def _today(ctx: Ctx) -> str:
    """Today in the timezone setting, as a date input shows it."""
    return datetime.now(ctx.zone).date().isoformat()


@page("admin")
async def rate_set(ctx: Ctx) -> Response:
    assert ctx.form is not None
    typed = {name: forms.text(ctx.form, name) for name in NEW_RATE}
    try:
        rate = parse_rate(typed["rate"])
        day = forms.day(ctx.form, "valid_from", "valid from")
        if day is None:
            raise UserError("choose the day the rate is valid from")
        done = await ctx.run(currency.set_rate, ctx.engine, ctx.operator, typed["base"], typed["quote"], rate, day)
    except UserError as exc:
        return await _page(ctx, typed, str(exc))
    r = done.rate
    was = "" if done.replaced is None else f" (was {format_amount(done.replaced)})"
    return ctx.redirect("/currency", flash=f"1 {r.base} = {format_amount(r.rate)} {r.quote} from {r.valid_from}{was}")


ROUTES = [
    Route("/currency", currency_page, methods=["GET"]),
    Route("/currency", rate_set, methods=["POST"]),
]
