"""Tariffs and their rates: list and create tariffs; a tariff's rates a page at a time (searched by prefix),
its holidays, the rates file uploaded (all or nothing) or exported, and which rate applies to a number."""

from __future__ import annotations

from urllib.parse import quote

from starlette.responses import Response
from starlette.routing import Route

from asteriskbill.billing.numbers import is_digits
from asteriskbill.errors import UserError
from asteriskbill.rating.csvrow import rate_words
from asteriskbill.rating.model import SUNDAY, WEEKDAYS
from asteriskbill.services import rate_lookup, rates, tariffs
from asteriskbill.web import downloads, forms, uploads
from asteriskbill.web.auth import Ctx, page

PAGE_SIZE = 100
NEW_TARIFF = {"name": "", "currency": "", "rounding": "0.01", "timezone": ""}


@page("admin")
async def tariffs_list(ctx: Ctx) -> Response:
    return await _listing(ctx, {**NEW_TARIFF, "timezone": ctx.settings.timezone})


async def _listing(ctx: Ctx, typed: dict[str, str], error: str | None = None) -> Response:
    found = await ctx.run(tariffs.list_tariffs, ctx.engine)
    status = 400 if error else 200
    return ctx.render("tariffs/list.html", status=status, found=found, typed=typed, error=error)


@page("admin")
async def tariff_create(ctx: Ctx) -> Response:
    assert ctx.form is not None
    typed = {key: forms.text(ctx.form, key) for key in NEW_TARIFF}
    try:
        rounding = forms.amount(ctx.form, "rounding", "rounding")
        created = await ctx.run(
            tariffs.create_tariff,
            ctx.engine,
            ctx.operator,
            typed["name"],
            typed["currency"],
            rounding,
            typed["timezone"],
        )
    except UserError as exc:
        return await _listing(ctx, typed, str(exc))
    return ctx.redirect(_url(created.name), flash=f"tariff {created.name} created")


@page("admin")
async def tariff_show(ctx: Ctx) -> Response:
    """The tariff's page; with ?format=csv|xlsx, its rates as `asteriskbill rates export` writes them."""
    name = ctx.request.path_params["name"]
    fmt = ctx.request.query_params.get("format")
    if fmt:
        return await ctx.run(
            downloads.written, f"rates-{name}", fmt, lambda path: rates.export_rates(ctx.engine, name, path)
        )
    return await _tariff_page(ctx, name)


async def _tariff_page(ctx: Ctx, name: str, error: str | None = None, status: int = 200) -> Response:
    """The tariff, a page of its rates and its holidays; after a refused form, its error (the lines of a refused
    file listed under it)."""
    query = ctx.request.query_params
    prefix = query.get("prefix", "").strip()
    summary = await ctx.run(tariffs.show_tariff, ctx.engine, name)
    try:
        found = await ctx.run(rates.rates_page, ctx.engine, name, prefix, _after(query.get("after", "")), PAGE_SIZE)
    except UserError as exc:
        found, error, status = None, str(exc), 400
    lines = error.splitlines() if error else []  # a refused file: a first line, then one per problem
    return ctx.render(
        "tariffs/show.html",
        status=status,
        summary=summary,
        prefix=prefix,
        shown=[rate_words(rate) for rate in found.rates] if found else [],
        following=_cursor(found.after) if found and found.after else None,
        holidays=[(day, WEEKDAYS[weekday]) for day, weekday in sorted(summary.tariff.holidays.items())],
        weekdays=WEEKDAYS,
        sunday=WEEKDAYS[SUNDAY],
        url=_url(name),
        error=lines[0] if lines else None,
        problems=[line.strip() for line in lines[1:]],
    )


def _cursor(key: tuple[str, int]) -> str:
    """A page's key in a link: the prefix and id of the last rate shown."""
    return f"{key[0]}-{key[1]}"


def _after(text: str) -> tuple[str, int]:
    if not text:
        return ("", 0)
    prefix, _, rate_id = text.partition("-")
    if not (is_digits(prefix) and is_digits(rate_id)):
        raise UserError(f"after={text!r}: follow the page links (PREFIX-ID)")
    return prefix, int(rate_id)


@page("admin")
async def rates_upload(ctx: Ctx) -> Response:
    """A rates file (CSV or XLSX) into the tariff, all or nothing, as `asteriskbill rates import` (--replace)."""
    assert ctx.form is not None
    name = ctx.request.path_params["name"]
    replace = forms.text(ctx.form, "replace") == "yes"
    try:
        upload = uploads.chosen(ctx.form, "file")
        result = await ctx.run(
            uploads.using,
            upload,
            lambda path: rates.import_rates(ctx.engine, name, path, replace=replace, operator=ctx.operator),
        )
    except UserError as exc:
        return await _tariff_page(ctx, name, str(exc), 400)
    return ctx.redirect(_url(name), flash=result.summary)


@page("admin")
async def holiday_add(ctx: Ctx) -> Response:
    assert ctx.form is not None
    name = ctx.request.path_params["name"]
    weekday = forms.text(ctx.form, "as") or WEEKDAYS[SUNDAY]
    try:
        day = forms.day(ctx.form, "day", "day")
        if day is None or weekday not in WEEKDAYS:
            raise UserError("choose the holiday's date and the weekday whose rates apply on it")
        await ctx.run(tariffs.add_holiday, ctx.engine, ctx.operator, name, day, WEEKDAYS.index(weekday))
    except UserError as exc:
        return await _tariff_page(ctx, name, str(exc), 400)
    return ctx.redirect(_url(name), flash=f"{day} is now priced as {weekday} in tariff {name}")


@page("admin")
async def lookup(ctx: Ctx) -> Response:
    """Which rate applies to a number at a moment (now by default) and why, as `asteriskbill rates lookup`."""
    name = ctx.request.path_params["name"]
    summary = await ctx.run(tariffs.show_tariff, ctx.engine, name)
    typed = {key: forms.text(ctx.request.query_params, key) for key in ("number", "at")}
    context = {"tariff": summary.tariff, "typed": typed, "url": _url(name), "found": None}
    if not typed["number"]:
        return ctx.render("tariffs/lookup.html", **context)
    try:
        at = forms.moment(ctx.request.query_params, "at", "at")
        found = await ctx.run(rate_lookup.lookup, ctx.engine, name, typed["number"], at)
    except UserError as exc:
        return ctx.render("tariffs/lookup.html", status=400, **context, error=str(exc))
    return ctx.render(
        "tariffs/lookup.html",
        **{**context, "found": found},
        heading=rate_lookup.heading(found),
        rows=rate_lookup.rows(found),
        verdict=rate_lookup.verdict(found),
    )


def _url(name: str) -> str:
    return f"/tariffs/{quote(name, safe='')}"


ROUTES = [
    Route("/tariffs", tariffs_list, methods=["GET"]),
    Route("/tariffs", tariff_create, methods=["POST"]),
    Route("/tariffs/{name}", tariff_show, methods=["GET"]),
    Route("/tariffs/{name}/rates", rates_upload, methods=["POST"]),
    Route("/tariffs/{name}/holidays", holiday_add, methods=["POST"]),
    Route("/tariffs/{name}/lookup", lookup, methods=["GET"]),
]
