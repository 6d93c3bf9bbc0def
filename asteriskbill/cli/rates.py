"""`asteriskbill rates ...`: import, export and look up the rates of a tariff."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from asteriskbill.cli.common import App, echo_json, echo_table, file_progress, json_option, output_option, pass_app
from asteriskbill.cli.lazy import LazyModule
from asteriskbill.cli.options import DATETIME
from asteriskbill.rating.csvrow import format_rate
from asteriskbill.rating.model import WEEKDAYS

if TYPE_CHECKING:
    from asteriskbill.services import rate_lookup
    from asteriskbill.services import rates as service
else:
    rate_lookup = LazyModule("asteriskbill.services.rate_lookup")
    service = LazyModule("asteriskbill.services.rates")

PROGRESS_FROM = 4 << 20  # bytes (about 100,000 rates): smaller files import in a few seconds


@click.group()
def rates() -> None:
    """Rates: prefixes of a tariff with their prices, increments and validity.

    CSV columns (header row, any order; only prefix and price are required):
    prefix, destination, price (per minute), increments (INITIAL/NEXT seconds, e.g. 60/6),
    intervals (instead of price: START:PRICE:INCREMENT;... e.g. 0:0.20:60;60:0.10:1),
    connect_fee, grace (seconds), weekdays (e.g. mon-fri or sat,sun), time_from, time_to
    (HH:MM in the tariff's time zone; 22:00 to 06:00 spans midnight, 24:00 ends the day), date_from, date_to
    (ISO dates), buy_price (per minute), buy_currency (the vendor's currency of buy_price, e.g. USD;
    empty: the tariff's), weight (higher wins among overlapping rates).
    """


@rates.command(name="import")
@click.argument("tariff")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--replace", is_flag=True, help="Delete the tariff's rates first (in the same transaction).")
@pass_app
def import_(app: App, tariff: str, file: Path, replace: bool) -> None:
    """Import the rates of FILE (CSV, or XLSX as written by export) into TARIFF.

    All or nothing: if any line is bad, the errors are listed with their line numbers and
    nothing is written. A rate with the prefix and validity of another one is an error,
    unless --replace deletes the tariff's rates first.

    Example:

        asteriskbill rates import retail rates.csv --replace
    """
    with file_progress(file, PROGRESS_FROM) as advance:
        result = service.import_rates(
            app.engine, tariff, file, replace=replace, progress=advance, operator=app.operator
        )
    click.echo(result.summary)


@rates.command()
@click.argument("tariff")
@output_option(".csv", ".xlsx")
@pass_app
def export(app: App, tariff: str, output: str | None) -> None:
    """Export the rates of TARIFF, by prefix, with the columns that import reads.

    CSV on standard output, or to -o FILE.csv / FILE.xlsx (prefixes are text and keep their
    leading zeros; prices are exact numbers). FILE is written whole or not at all, readable by its
    owner only.

    Example:

        asteriskbill rates export retail -o retail.xlsx
    """
    if output is None:
        service.export_rates(app.engine, tariff, sys.stdout)
        return
    count = service.export_rates(app.engine, tariff, output)
    click.echo(f"exported {count:,} rates of tariff {tariff} to {output}", err=True)


@rates.command(name="lookup")
@click.argument("tariff")
@click.argument("number")
@click.option("--at", type=DATETIME, help="The moment (ISO; no offset = the tariff's time zone) [default: now].")
@json_option
@pass_app
def lookup(app: App, tariff: str, number: str, at, as_json: bool) -> None:
    """Show which rate of TARIFF applies to NUMBER, and why.

    Lists every rate whose prefix begins the number, whether it is valid at that moment
    (weekday after holidays, time window, date window) and the one chosen: the longest
    prefix, then the higher weight, then the narrower window. Exits with status 1 when
    no rate applies at that moment.

    Example:

        asteriskbill rates lookup retail 442071234567 --at 2026-12-25T19:30
    """
    found = rate_lookup.lookup(app.engine, tariff, number, at)
    data = {
        "tariff": found.tariff.name,
        "number": number,
        "at": found.local.isoformat(),
        "weekday": WEEKDAYS[found.weekday],
        "holiday_as": found.holiday_as,
        "chosen": format_rate(found.chosen) if found.chosen else None,
        "reason": found.reason,
        "candidates": [
            {**format_rate(c.rate), "valid": c.valid, "why_not": c.why_not or None, "chosen": c.rate is found.chosen}
            for c in found.candidates
        ],
    }
    if as_json:
        echo_json(data)
    else:
        click.echo(rate_lookup.heading(found))
        echo_table(rate_lookup.rows(found), list(rate_lookup.COLUMNS))
        click.echo(rate_lookup.verdict(found))
    if found.chosen is None:
        click.get_current_context().exit(1)


COMMANDS = [rates]
