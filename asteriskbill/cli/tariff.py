"""`asteriskbill tariff ...`: price lists, their currency, rounding, time zone and holidays."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from asteriskbill.cli.common import App, echo_json, echo_table, json_option, pass_app
from asteriskbill.cli.lazy import LazyModule
from asteriskbill.cli.options import AMOUNT, DATE
from asteriskbill.money import format_amount
from asteriskbill.rating.model import SUNDAY, WEEKDAYS

if TYPE_CHECKING:
    from asteriskbill.services import tariffs as service
else:
    service = LazyModule("asteriskbill.services.tariffs")


def _tariff_dict(summary: service.TariffSummary) -> dict:
    t = summary.tariff
    return {
        "name": t.name,
        "currency": t.currency,
        "rounding": format_amount(t.rounding, min_decimals=0),
        "timezone": t.timezone,
        "rates": summary.rates,
        "holidays": {str(day): WEEKDAYS[wd] for day, wd in sorted(t.holidays.items())},
    }


@click.group()
def tariff() -> None:
    """Tariffs: price lists in one currency, with a rounding rule and a time zone."""


@tariff.command()
@click.argument("name")
@click.option("--currency", required=True, help="Three letters: USD, EUR, BGN, or CRD for credits.")
@click.option(
    "--rounding",
    type=AMOUNT,
    default="0.000001",
    show_default=True,
    help="Round each call's total UP to a multiple of this amount, e.g. 0.01.",
)
@click.option("--timezone", help="IANA zone for time windows and holidays [default: the timezone setting].")
@pass_app
def create(app: App, name: str, currency: str, rounding: int, timezone: str | None) -> None:
    """Create a tariff.

    Example:

        asteriskbill tariff create retail --currency USD --rounding 0.01 --timezone Europe/Sofia
    """
    if rounding <= 0:
        raise click.BadParameter("must be more than 0", param_hint="--rounding")
    zone = timezone or app.settings.timezone
    created = service.create_tariff(app.engine, app.operator, name, currency, rounding, zone)
    click.echo(
        f"tariff {created.name} created ({created.currency}, rounding "
        f"{format_amount(created.rounding, min_decimals=0)}, {created.timezone})"
    )


@tariff.command(name="list")
@json_option
@pass_app
def list_(app: App, as_json: bool) -> None:
    """List the tariffs with their number of rates.

    Example:

        asteriskbill tariff list --json
    """
    rows = [_tariff_dict(s) for s in service.list_tariffs(app.engine)]
    if as_json:
        echo_json(rows)
    else:
        echo_table(rows, ["name", "currency", "rounding", "timezone", "rates"])


@tariff.command()
@click.argument("name")
@json_option
@pass_app
def show(app: App, name: str, as_json: bool) -> None:
    """Show one tariff, its holidays and how many rates it has.

    Example:

        asteriskbill tariff show retail
    """
    data = _tariff_dict(service.show_tariff(app.engine, name))
    if as_json:
        echo_json(data)
        return
    for key in ("name", "currency", "rounding", "timezone", "rates"):
        click.echo(f"{key + ':':<10} {data[key]}")
    for day, weekday in data["holidays"].items():
        click.echo(f"holiday:   {day} (priced as {weekday})")


@tariff.group()
def holiday() -> None:
    """Holidays: dates priced with the rates of another weekday (Sunday by default)."""


@holiday.command(name="add")
@click.argument("name")
@click.argument("day", type=DATE)
@click.option(
    "--as",
    "as_day",
    type=click.Choice(WEEKDAYS),
    default=WEEKDAYS[SUNDAY],
    show_default=True,
    help="The weekday whose rates apply on that date.",
)
@pass_app
def holiday_add(app: App, name: str, day, as_day: str) -> None:
    """Price DAY with the rates of a weekday (Sunday unless --as says otherwise).

    Example:

        asteriskbill tariff holiday add retail 2026-12-25
    """
    service.add_holiday(app.engine, app.operator, name, day, WEEKDAYS.index(as_day))
    click.echo(f"{day} is now priced as {as_day} in tariff {name}")


COMMANDS = [tariff]
