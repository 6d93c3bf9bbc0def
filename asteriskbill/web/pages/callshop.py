"""The callshop: every booth at a glance, kept up to date live; start a booth for a customer (prepaid or postpaid)
and stop it, then show and print its receipt — what `asteriskbill callshop start|stop|receipt|status` do."""

from __future__ import annotations

import hashlib
from urllib.parse import quote

from starlette.responses import Response
from starlette.routing import Route

from asteriskbill.billing.callshop import PREPAID
from asteriskbill.errors import UserError
from asteriskbill.money import format_amount
from asteriskbill.services import callshop
from asteriskbill.services.receipt import one_page_pdf, receipt_lines, settlement
from asteriskbill.web import forms, sse
from asteriskbill.web.auth import Ctx, page
from asteriskbill.web.render import money

BOOTH = "callshop/_booth.html"


def booth_event(name: str) -> str:
    """The live event that carries one booth's card: a name any account name can have (spaces, commas) is turned
    into one an htmx ``sse-swap`` attribute can hold."""
    return "booth-" + hashlib.sha256(name.encode()).hexdigest()[:16]


def _defaults(found: callshop.Preferences) -> dict[str, str]:
    """What the start forms offer: the preferences' amounts, none where unset."""
    return {
        "prepaid": format_amount(found.default_prepaid) if found.default_prepaid else "",
        "credit_limit": format_amount(found.default_credit_limit) if found.default_credit_limit else "",
    }


async def _booths(ctx: Ctx) -> tuple[list[callshop.BoothStatus], dict[str, str]]:
    booths = await ctx.run(callshop.status, ctx.engine)
    return booths, _defaults(await ctx.run(callshop.get_preferences, ctx.engine))


def _cards(ctx: Ctx, booths: list[callshop.BoothStatus], defaults: dict[str, str]) -> dict[str, str]:
    """Each booth's card as its live event carries it."""
    card = ctx.web.templates.get_template(BOOTH)
    return {
        booth_event(b.booth): card.render(b=b, defaults=defaults, typed={}, csrf_field=ctx.csrf_field) for b in booths
    }


async def _grid(ctx: Ctx, typed: dict[str, str] | None = None, error: str | None = None) -> Response:
    """The booths; after a refused start or stop, its error and what was typed in that booth's form."""
    booths, defaults = await _booths(ctx)
    return ctx.render(
        "callshop/grid.html",
        status=400 if error else 200,
        booths=booths,
        defaults=defaults,
        typed=typed or {},
        booth_event=booth_event,
        seen=sse.digest(_cards(ctx, booths, defaults)),
        error=error,
    )


@page("operator")
async def booths_page(ctx: Ctx) -> Response:
    return await _grid(ctx)


@page("operator")
async def live_booths(ctx: Ctx) -> Response:
    """Each booth's card, sent again whenever it changes (a call starts or ends, a booth is started or stopped)."""

    async def fragments() -> dict[str, str]:
        return _cards(ctx, *await _booths(ctx))

    return sse.stream(ctx, fragments)


@page("operator")
async def booth_start(ctx: Ctx) -> Response:
    """Prepaid: the money taken now; postpaid: how far below zero the booth may go."""
    assert ctx.form is not None
    booth, mode = ctx.request.path_params["booth"], forms.text(ctx.form, "mode")
    typed = {"booth": booth, **{name: forms.text(ctx.form, name) for name in ("prepaid", "credit_limit")}}
    try:
        if mode == PREPAID:
            terms = {"prepaid": forms.amount(ctx.form, "prepaid", "prepaid amount")}
        else:
            terms = {"credit_limit": forms.amount(ctx.form, "credit_limit", "credit limit")}
        started = await ctx.run(callshop.start, ctx.engine, ctx.operator, booth, **terms)
    except UserError as exc:
        return await _grid(ctx, typed, str(exc))
    if started.prepaid:
        how = f"prepaid {money(started.prepaid, started.currency)}"
    else:
        how = f"postpaid, credit limit {money(started.credit_limit, started.currency)}"
    return ctx.redirect("/callshop", flash=f"booth {booth} started: {how}")


@page("operator")
async def booth_stop(ctx: Ctx) -> Response:
    """Refused while the booth is in a call; else its receipt."""
    booth = ctx.request.path_params["booth"]
    try:
        receipt = await ctx.run(callshop.stop, ctx.engine, ctx.operator, booth)
    except UserError as exc:
        return await _grid(ctx, None, str(exc))
    label, amount = settlement(receipt)
    flash = f"booth {booth} stopped: {label.lower()} {money(amount, receipt.currency)}"
    return ctx.redirect(f"/callshop/{quote(booth, safe='')}/receipt", flash=flash)


@page("operator")
async def booth_receipt(ctx: Ctx) -> Response:
    """The last stopped session's receipt, as printed by the CLI, with the change (or the amount due) in large."""
    receipt = await ctx.run(callshop.last_receipt, ctx.engine, ctx.request.path_params["booth"])
    label, amount = settlement(receipt)
    return ctx.render(
        "callshop/receipt.html",
        receipt=receipt,
        lines=receipt_lines(receipt, ctx.zone),
        label=label,
        amount=amount,
    )


@page("operator")
async def booth_receipt_pdf(ctx: Ctx) -> Response:
    """The same receipt as a one-page PDF (the CLI's `callshop receipt BOOTH -o receipt.pdf`)."""
    booth = ctx.request.path_params["booth"]
    receipt = await ctx.run(callshop.last_receipt, ctx.engine, booth)
    name = quote(f"receipt-{booth}.pdf", safe="")
    return Response(
        one_page_pdf(receipt_lines(receipt, ctx.zone)),
        media_type="application/pdf",
        headers={"Content-Disposition": f"attachment; filename*=UTF-8''{name}"},
    )


ROUTES = [
    Route("/callshop", booths_page, methods=["GET"]),
    Route("/live/booths", live_booths, methods=["GET"]),
    Route("/callshop/{booth}/start", booth_start, methods=["POST"]),
    Route("/callshop/{booth}/stop", booth_stop, methods=["POST"]),
    Route("/callshop/{booth}/receipt", booth_receipt, methods=["GET"]),
    Route("/callshop/{booth}/receipt.pdf", booth_receipt_pdf, methods=["GET"]),
]
