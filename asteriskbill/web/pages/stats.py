"""Statistics: calls, minutes and money over a period, charted per hour or day, per call class, and tabled per
company, account and gateway. The charts' data travels as JSON (static/charts.js draws it): money as decimal
strings of the micro-units, never floats."""

from __future__ import annotations

from datetime import datetime, timedelta, tzinfo

from sqlalchemy import Engine
from starlette.responses import Response
from starlette.routing import Route

from asteriskbill.billing.numbers import CALL_CLASSES
from asteriskbill.billing.periods import PRESETS, PeriodError, preset
from asteriskbill.errors import UserError
from asteriskbill.money import format_amount
from asteriskbill.services import cdrs, reports
from asteriskbill.store.types import utcnow
from asteriskbill.web.auth import Ctx, page

TABLES = {"company": "Per company", "account": "Per account", "gateway": "Per gateway"}
HOURLY_UP_TO = timedelta(hours=25)  # a day, summer time's change included: longer periods go by day


@page("admin")
async def stats(ctx: Ctx) -> Response:
    query = ctx.request.query_params
    shown = {name: query.get(name, "").strip() for name in ("period", "since", "until", "account")}
    shown["period"] = shown["period"] or PRESETS[0]
    try:
        since, until = _period(ctx, shown["period"])
        every = "hour" if until - since <= HOURLY_UP_TO else "day"
        f = cdrs.Filters(since=since, until=until, account=shown["account"] or None)
        found = await ctx.run(_figures, ctx.engine, f, every, ctx.zone)
    except UserError as exc:
        return ctx.render("stats/show.html", status=400, shown=shown, found=None, error=str(exc))
    return ctx.render("stats/show.html", shown=shown, found=found, tables=TABLES)


def _period(ctx: Ctx, name: str) -> tuple[datetime, datetime]:
    """The UTC (since, until) the form asks for: a preset, or its own days (until: today's end by default)."""
    if name != "custom":
        return preset(name, ctx.zone, utcnow())
    since = ctx.moment("since")
    if since is None:
        raise PeriodError("a period of your own needs its first day")
    return since, ctx.moment("until", end=True) or preset("today", ctx.zone, utcnow())[1]


def _figures(engine: Engine, f: cdrs.Filters, every: str, zone: tzinfo) -> dict:
    """Everything the page shows, read in the worker thread."""
    buckets = reports.series(engine, f, every, zone)
    labels = [b.start.strftime("%H:%M" if every == "hour" else "%Y-%m-%d") for b in buckets]
    classes = reports.by_class(engine, f)
    return {
        "traffic": _traffic(buckets, labels),
        "money": {currency: _money(buckets, labels, currency) for currency in sorted(classes)},
        "classes": classes,
        "class_chart": _class_chart(classes),
        "tables": {by: cdrs.stats(engine, f, by) for by in TABLES},
    }


def _traffic(buckets: list[reports.Bucket], labels: list[str]) -> dict:
    return {
        "type": "bar",
        "labels": labels,
        "datasets": [
            {"label": "calls", "data": [b.calls for b in buckets], "yAxisID": "calls"},
            {
                "label": "minutes",
                "type": "line",
                "data": [b.minutes for b in buckets],
                "yAxisID": "minutes",
            },
        ],
        "scales": {
            "calls": {"position": "left", "beginAtZero": True, "ticks": {"precision": 0}},
            "minutes": {"position": "right", "beginAtZero": True, "grid": {"drawOnChartArea": False}},
        },
    }


def _money(buckets: list[reports.Bucket], labels: list[str], currency: str) -> dict:
    """Takings and margin in one currency (a margin only where the rates have buy prices)."""
    empty = cdrs.Totals()
    sums = [b.currencies.get(currency, empty) for b in buckets]
    return {
        "type": "bar",
        "labels": labels,
        "datasets": [
            {"label": "takings", "data": [format_amount(t.cost) for t in sums]},
            {"label": "margin", "type": "line", "data": [_amount(t.margin) for t in sums]},
        ],
    }


def _class_chart(classes: dict[str, dict[str, cdrs.Totals]]) -> dict:
    """Minutes per call class, all currencies together (minutes need no exchange rate)."""
    minutes = [sum((by_class[name] for by_class in classes.values()), cdrs.Totals()) for name in CALL_CLASSES]
    return {
        "type": "doughnut",
        "labels": list(CALL_CLASSES),
        "datasets": [{"label": "minutes", "data": [t.minutes for t in minutes]}],
    }


def _amount(micros: int | None) -> str | None:
    return None if micros is None else format_amount(micros)


ROUTES = [Route("/stats", stats, methods=["GET"])]
