"""`asteriskbill currency ...`: exchange rates by date, for buy prices in a vendor's currency."""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

import click

from asteriskbill.billing.currency import ExchangeRate, convert, parse_rate
from asteriskbill.cli.account_money import NEGATIVE_ARGUMENTS
from asteriskbill.cli.common import App, echo_json, echo_table, json_option, pass_app
from asteriskbill.cli.lazy import LazyModule
from asteriskbill.cli.options import AMOUNT, DATE
from asteriskbill.errors import UserError
from asteriskbill.money import format_amount

if TYPE_CHECKING:
    from asteriskbill.services import currency as service
else:
    service = LazyModule("asteriskbill.services.currency")


def _today(app: App) -> date:
    return datetime.now(ZoneInfo(app.settings.timezone)).date()


def _rate(_ctx, _param, value: str) -> int:
    try:
        return parse_rate(value)
    except UserError as exc:
        raise click.BadParameter(str(exc)) from None


def _date_option(help_text: str):
    return click.option("--date", "day", type=DATE, help=help_text + " [default: today, in the timezone setting]")


@click.group()
def currency() -> None:
    """Currency rates: what 1 unit of one currency is in another, from a date on.

    Rates convert the buy prices of rates bought in a vendor's currency into the tariff's
    currency, for the buy cost and margin of calls (`cdr list`, `cdr stats`). A call uses
    the rate valid on its date, in its tariff's time zone. Only the direction set converts:
    BGN into USD needs a BGN USD rate (1/rate of USD BGN is not assumed).
    """


@currency.command(name="set-rate", context_settings=NEGATIVE_ARGUMENTS)
@click.argument("base")
@click.argument("quote")
@click.argument("rate", callback=_rate)
@_date_option("Valid from this day until the pair's next rate.")
@pass_app
def set_rate(app: App, base: str, quote: str, rate: int, day: date | None) -> None:
    """Set 1 BASE = RATE QUOTE (up to 6 decimals) from --date on.

    A rate for a date that has one already replaces it (the audit log keeps both). Calls
    settled before a rate was known for their date take it in reports; calls settled
    with a known rate keep the buy cost converted then.

    Example:

        asteriskbill currency set-rate USD BGN 1.79 --date 2026-12-01
    """
    done = service.set_rate(app.engine, app.operator, base, quote, rate, day or _today(app))
    r = done.rate
    was = "" if done.replaced is None else f" (was {format_amount(done.replaced)})"
    click.echo(f"1 {r.base} = {format_amount(r.rate)} {r.quote} from {r.valid_from}{was}")


def _rows(rates: list[ExchangeRate]) -> list[dict]:
    """Each rate with the last day it is valid (None: still valid)."""
    return [
        {
            "base": rate.base,
            "quote": rate.quote,
            "rate": format_amount(rate.rate),
            "valid_from": rate.valid_from.isoformat(),
            "valid_until": until and until.isoformat(),
        }
        for rate, until in service.valid_until(rates)
    ]


@currency.command(name="list")
@json_option
@pass_app
def list_(app: App, as_json: bool) -> None:
    """List the rates by pair, each with the days it is valid.

    Example:

        asteriskbill currency list --json
    """
    rows = _rows(service.list_rates(app.engine))
    if as_json:
        echo_json(rows)
        return
    echo_table(
        [{**row, "valid_until": row["valid_until"] or "(until a next rate)"} for row in rows],
        ["base", "quote", "rate", "valid_from", "valid_until"],
    )


@currency.command(name="convert")
@click.argument("amount", type=AMOUNT)
@click.argument("base")
@click.argument("quote")
@_date_option("Use the rate valid on this day.")
@json_option
@pass_app
def convert_(app: App, amount: int, base: str, quote: str, day: date | None, as_json: bool) -> None:
    """Convert AMOUNT of BASE into QUOTE with the rate valid on --date (to the nearest
    0.000001, a half away from zero), as the margin reports do.

    Example:

        asteriskbill currency convert 12.50 USD BGN --date 2026-12-05
    """
    rate = service.rate_valid_on(app.engine, base, quote, day or _today(app))
    converted = convert(amount, rate.rate)
    if as_json:
        echo_json(
            {
                "amount": format_amount(amount),
                "base": rate.base,
                "quote": rate.quote,
                "rate": format_amount(rate.rate),
                "valid_from": rate.valid_from.isoformat(),
                "converted": format_amount(converted),
            }
        )
        return
    click.echo(
        f"{format_amount(amount)} {rate.base} = {format_amount(converted)} {rate.quote} "
        f"(rate {format_amount(rate.rate)} from {rate.valid_from})"
    )


COMMANDS = [currency]
