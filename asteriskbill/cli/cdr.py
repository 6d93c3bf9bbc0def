"""`asteriskbill cdr ...`: list, export and total the call records (their upkeep: cdr_upkeep.py)."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

import click

from asteriskbill.billing.incoming import DIRECTIONS, IN
from asteriskbill.billing.periods import bound
from asteriskbill.billing.settle import CARRIER_STATS_BY, OUTCOMES, STATS_BY
from asteriskbill.cli import cdr_upkeep
from asteriskbill.cli.common import (
    App,
    echo_json,
    echo_table,
    json_option,
    local_stamp,
    money,
    output_option,
    pass_app,
)
from asteriskbill.cli.lazy import LazyModule
from asteriskbill.cli.options import MOMENT, Whole
from asteriskbill.money import format_amount

if TYPE_CHECKING:
    from asteriskbill.services import carrier_stats, cdr_sheet, cost_reports, sheets
    from asteriskbill.services import cdrs as service
else:
    carrier_stats = LazyModule("asteriskbill.services.carrier_stats")
    cdr_sheet = LazyModule("asteriskbill.services.cdr_sheet")
    cost_reports = LazyModule("asteriskbill.services.cost_reports")
    sheets = LazyModule("asteriskbill.services.sheets")
    service = LazyModule("asteriskbill.services.cdrs")


LIST_LIMIT = 100
NO_RATE = (
    "? a buy cost in a vendor's currency with no rate for the call's day: no margin until "
    "`asteriskbill currency set-rate` sets one"
)
NO_RATE_CALLS = (
    "no_rate: calls whose buy cost is in a vendor's currency with no rate for their day, left out of "
    "buy_cost and margin until `asteriskbill currency set-rate` sets one"
)
PROGRESS_STEP = 1000  # rows between progress bar updates


def _amount(value: int | None) -> str | None:
    return None if value is None else format_amount(value)


def totals_dict(t: service.Totals) -> dict:
    return {
        "calls": t.calls,
        "answered": t.answered,
        "billed_seconds": t.seconds,
        "minutes": t.minutes,
        "cost": format_amount(t.cost),
        "buy_cost": _amount(t.buy_cost),
        "margin": _amount(t.margin),
        "no_rate_calls": t.no_rate,
    }


def _period(app: App, since, until) -> dict:
    zone = ZoneInfo(app.settings.timezone)
    return {
        "since": None if since is None else bound(since, zone),
        "until": None if until is None else bound(until, zone, end=True),
    }


def period_options(command: Callable) -> Callable:
    command = click.option("--until", type=MOMENT, help="Started before this moment; a day alone includes all of it.")(
        command
    )
    return click.option(
        "--since", type=MOMENT, help="Started at or after this day or moment (ISO; no offset: the timezone setting)."
    )(command)


def filter_options(command: Callable) -> Callable:
    """The filters `cdr list` and `cdr export` share."""
    for option in reversed(
        (
            click.option(
                "--account",
                metavar="NAME",
                help="Only this account's CDRs (a company: and its extensions' and gateways').",
            ),
            click.option("--card", metavar="NUMBER", help="Only this card's CDRs."),
            click.option("--number", metavar="PREFIX", help="Only normalised numbers starting with PREFIX."),
            click.option("--outcome", type=click.Choice(OUTCOMES, case_sensitive=False), help="Only this outcome."),
            click.option("--trunk", metavar="NAME", help="Only the CDRs of calls this trunk carried."),
            click.option(
                "--vendor", metavar="NAME", help="Only the CDRs of calls this vendor carried (its buy costs)."
            ),
            click.option(
                "--direction",
                type=click.Choice(DIRECTIONS),
                help="Only calls the accounts made (out) or calls made to them (in: number is the caller's).",
            ),
            click.option("--oldest-first", is_flag=True, help="Oldest first [default: newest first]."),
        )
    ):
        command = option(command)
    return period_options(command)


def _filters(app: App, since, until, limit: int | None, **given) -> service.Filters:
    return service.Filters(**_period(app, since, until), limit=limit, **given)


@click.group()
def cdr() -> None:
    """Call records (CDRs): list, export, statistics, a card's cost report; backup and purge."""


@cdr.command(name="list")
@filter_options
@click.option("--limit", type=Whole(min=0), default=LIST_LIMIT, show_default=True, help="At most this many (0: all).")
@json_option
@pass_app
def list_(app: App, /, since, until, limit: int, as_json: bool, **given) -> None:
    """List CDRs, newest first.

    Example:

        asteriskbill cdr list --since 2026-12-01 --account acme --outcome ANSWER --json

        asteriskbill cdr list --trunk carrier1-sofia --outcome CHANUNAVAIL
    """
    found, matching = service.page(app.engine, _filters(app, since, until, limit or None, **given))
    short = f"{len(found)} of {matching} CDRs; --limit 0 shows all" if len(found) < matching else ""
    if as_json:
        echo_json([cdr_sheet.cdr_dict(c) for c in found])
        if short:  # the JSON stays a list of CDRs for the scripts that read it
            click.echo(short, err=True)
        return
    echo_table(
        [
            {
                **cdr_sheet.cdr_dict(c),
                "started_at": local_stamp(c.started_at, app.zone),
                "cost": money(c.cost, c.currency),
                "margin": _margin_text(c),
            }
            for c in found
        ],
        [
            "started_at",
            *(["direction"] if any(c.direction == IN for c in found) else []),  # once accounts are called
            "account",
            "callerid",
            "number",
            "destination",
            *(["trunk"] if any(c.trunk for c in found) else []),  # once trunks carry calls
            "call_class",
            "outcome",
            "billed_seconds",
            "cost",
            "margin",
        ],
    )
    if any(c.buy_currency for c in found):
        click.echo(NO_RATE)
    if short:
        click.echo(short)


def _margin_text(c: service.CdrView) -> str:
    if c.buy_currency:
        return f"? no {c.buy_currency} rate"
    return "" if c.margin is None else money(c.margin, c.currency)


def _with_progress(rows: Iterable[list], total: int) -> Iterator[list]:
    with click.progressbar(length=total, label="exporting CDRs", file=sys.stderr) as bar:
        for count, row in enumerate(rows, 1):
            yield row
            if count % PROGRESS_STEP == 0:
                bar.update(PROGRESS_STEP)
        bar.update(total % PROGRESS_STEP)


@cdr.command()
@filter_options
@click.option("--limit", type=Whole(min=1), help="At most this many [default: all].")
@output_option(".csv", ".xlsx")
@pass_app
def export(app: App, /, since, until, limit: int | None, output: str | None, **given) -> None:
    """Export CDRs (every column of `cdr list --json`) to FILE.csv or FILE.xlsx, or as CSV to
    standard output. Streams: millions of CDRs export without being held in memory.

    Example:

        asteriskbill cdr export --since 2026-11-01 --until 2026-11-30 -o november.xlsx
    """
    xlsx = bool(output and output.lower().endswith(".xlsx"))
    with cdr_sheet.export_rows(app.engine, _filters(app, since, until, limit, **given), xlsx) as (total, found):
        rows = _with_progress(found, total)
        if output:
            count = sheets.write_file(output, cdr_sheet.COLUMNS, rows, cdr_sheet.TYPES, sheet="cdrs")
        else:
            count = sheets.write_csv(sys.stdout, cdr_sheet.COLUMNS, rows, cdr_sheet.TYPES)
    if output:
        click.echo(f"{count} CDRs written to {output}")


def _stats_line(row: service.StatsRow) -> dict:
    """One line for people: minutes of each call class, then the totals."""
    total = totals_dict(row.total)
    return {
        "key": "(no company)" if row.key is None else row.key,
        "kind": row.kind,
        "currency": row.currency,
        **{f"{name}_min": t.minutes for name, t in row.classes.items()},
        **{k: total[k] for k in ("calls", "answered", "minutes", "cost", "buy_cost", "margin")},
        **({"no_rate": total["no_rate_calls"]} if row.total.no_rate else {}),
    }


@cdr.command()
@period_options
@click.option("--account", metavar="NAME", help="Only this account's CDRs (a company: and its children's).")
@click.option(
    "--by",
    type=click.Choice((*STATS_BY, *CARRIER_STATS_BY)),
    default="account",
    show_default=True,
    help="account: each account its own calls; company: a company with its extensions and gateways; "
    "gateway: gateway accounts only; destination; server; direction: calls the accounts made (out) and calls "
    "made to them (in); vendor and trunk: the calls each carried, with attempts, ASR and ACD.",
)
@json_option
@pass_app
def stats(app: App, since, until, account: str | None, by: str, as_json: bool) -> None:
    """Calls, answered calls, billed minutes and totals (cost, buy cost and margin where the rate
    has a buy price) per account, company, gateway, destination, server or direction (out: calls
    the accounts made; in: calls made to them, paid by the account called), split into local,
    national and international (of the number called; of the caller's, for an incoming call).
    Minutes are billed seconds / 60. Buy costs are in the CDRs' currency: a buy price in a
    vendor's currency is converted with the currency rate of the call's day; calls with no such
    rate yet are left out of buy cost and margin, and counted.

    --by vendor and --by trunk show, per vendor or trunk, the Dial attempts made on it (a call
    that failed over counts on each trunk it tried), the answered ones, ASR (answered / attempts,
    in percent to the tenth, rounded half up) and ACD (billed seconds per answered call it
    carried, rounded half up, as mm:ss) beside the calls it carried and their money. Calls routed
    by the routes table are one row, "(routes table)", with no attempts.

    Example:

        asteriskbill cdr stats --by company --since 2026-11-01 --until 2026-11-30 --json

        asteriskbill cdr stats --by trunk --since 2026-11-01 --account acme

        asteriskbill cdr stats --by direction --since 2026-11-01 --account acme-201
    """
    f = _filters(app, since, until, None, account=account)
    if by in CARRIER_STATS_BY:
        _carrier_stats(app, f, by, as_json)
        return
    rows = service.stats(app.engine, f, by)
    if as_json:
        echo_json(
            [
                {
                    "key": r.key,
                    "kind": r.kind,
                    "currency": r.currency,
                    "classes": {name: totals_dict(t) for name, t in r.classes.items()},
                    "total": totals_dict(r.total),
                }
                for r in rows
            ]
        )
        return
    lines = [_stats_line(r) for r in rows]
    columns = [c for c in (lines[0] if lines else ["key"]) if c != "kind" or by in ("account", "gateway")]
    _echo_stats(lines, columns, any(r.total.no_rate for r in rows))


def _echo_stats(lines: list[dict], columns: list[str], no_rate: bool) -> None:
    """The statistics' table; with a no_rate column last, and what it means, when some calls have no rate."""
    echo_table(lines, [c for c in columns if c != "no_rate"] + (["no_rate"] if no_rate else []))
    if no_rate:
        click.echo(NO_RATE_CALLS)


def _carrier_dict(r: carrier_stats.CarrierRow, by: str) -> dict:
    return {
        "key": r.key,
        **({"vendor": r.vendor} if by == "trunk" else {}),
        "currency": r.currency,
        "attempts": r.attempts,
        "answered": r.answered,
        "asr": r.asr,
        "acd": r.acd,
        "acd_seconds": r.acd_seconds,
        "total": totals_dict(r.total),
    }


def _carrier_stats(app: App, f: service.Filters, by: str, as_json: bool) -> None:
    """`cdr stats --by vendor|trunk`: JSON, or a line for people per vendor or trunk and currency."""
    rows = carrier_stats.stats(app.engine, f, by)
    if as_json:
        echo_json([_carrier_dict(r, by) for r in rows])
        return
    lines = []
    for r in rows:
        total = totals_dict(r.total)
        lines.append(
            {
                **_carrier_dict(r, by),
                "key": carrier_stats.ROUTES_TABLE if r.key is None else r.key,
                "asr": None if r.asr is None else f"{r.asr}%",
                **{k: total[k] for k in ("calls", "minutes", "cost", "buy_cost", "margin")},
                "no_rate": r.total.no_rate,
            }
        )
    head = ["key", *(["vendor"] if by == "trunk" else []), "currency", "attempts", "answered", "asr", "acd"]
    columns = [*head, "calls", "minutes", "cost", "buy_cost", "margin", "no_rate"]
    _echo_stats(lines, columns, any(r.total.no_rate for r in rows))


@cdr.command(name="cost-report")
@click.argument("card")
@period_options
@json_option
@pass_app
def cost_report(app: App, card: str, since, until, as_json: bool) -> None:
    """A card's calls, oldest first, and what they cost in all.

    Example:

        asteriskbill cdr cost-report 400012345678 --since 2026-11-01
    """
    report = cost_reports.cost_report(app.engine, card, **_period(app, since, until))
    currency = report.card.currency
    if as_json:
        echo_json(
            {
                "card": report.card.number,
                "currency": currency,
                "balance": format_amount(report.card.balance),
                "cdrs": [cdr_sheet.cdr_dict(c) for c in report.cdrs],
                "total": totals_dict(report.total),
            }
        )
        return
    echo_table(
        [
            {
                **cdr_sheet.cdr_dict(c),
                "started_at": local_stamp(c.started_at, app.zone),
                "cost": money(c.cost, c.currency),
            }
            for c in report.cdrs
        ],
        ["started_at", "number", "destination", "outcome", "billed_seconds", "cost"],
    )
    total = totals_dict(report.total)
    click.echo(
        f"card {report.card.number}: {total['calls']} calls, {total['answered']} answered, "
        f"{total['minutes']} minutes, {money(report.total.cost, currency)}; "
        f"balance {money(report.card.balance, currency)}"
    )


for _command in cdr_upkeep.COMMANDS:  # backup, purge, reconcile: the database's upkeep
    cdr.add_command(_command)

COMMANDS = [cdr]
