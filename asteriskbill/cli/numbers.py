"""`asteriskbill numbers ...`: how dialled numbers are normalised, and companies' own number plans."""

from __future__ import annotations

from dataclasses import asdict
from typing import TYPE_CHECKING

import click

from asteriskbill.cli.common import App, echo_json, json_option, pass_app
from asteriskbill.cli.lazy import LazyModule
from asteriskbill.cli.options import Whole

if TYPE_CHECKING:
    from asteriskbill.services import numbers as service
else:
    service = LazyModule("asteriskbill.services.numbers")


@click.group()
def numbers() -> None:
    """Number plans: outside line, international and national prefixes, country and area code."""


@numbers.command()
@click.argument("number")
@click.option("--account", help="Use the number plan of this account's company.")
@json_option
@pass_app
def normalize(app: App, number: str, account: str | None, as_json: bool) -> None:
    """Show what NUMBER becomes (the form rates and routes match), its call class and the rules that fired.

    Example:

        asteriskbill numbers normalize 900442071234567 --account acme-201
    """
    result = service.normalize_for(app.engine, app.settings, number, account)
    data = {
        "dialled": result.dialled,
        "number": result.number,
        "call_class": result.call_class,
        "rules": list(result.rules),
    }
    if as_json:
        echo_json(data)
    else:
        click.echo(f"{result.dialled} -> {result.number} ({result.call_class}; rules: {', '.join(result.rules)})")


@numbers.group()
def plan() -> None:
    """The global number plan (settings) and companies' own values."""


@plan.command(name="show")
@click.option("--company", help="A company's plan (its own values over the global ones).")
@json_option
@pass_app
def plan_show(app: App, company: str | None, as_json: bool) -> None:
    """Show the global number plan, or a company's.

    Example:

        asteriskbill numbers plan show --company acme
    """
    data = asdict(service.show_plan(app.engine, app.settings, company))
    if as_json:
        echo_json(data)
    else:
        for key, value in data.items():
            click.echo(f"{key.replace('_', '-') + ':':<22} {value}")


@plan.command(name="set")
@click.option("--company", required=True, help="The company whose calls use these values.")
@click.option("--country-code")
@click.option("--area-code")
@click.option("--outside-line", help="Digits PBX users dial first for an outside line, e.g. 9.")
@click.option("--international-prefix")
@click.option("--national-prefix")
@click.option("--max-length", type=Whole(3, 20))
@pass_app
def plan_set(app: App, /, company: str, **values) -> None:
    """Give COMPANY its own number plan values ("" returns a value to the global setting).

    Example:

        asteriskbill numbers plan set --company acme --outside-line 9 --country-code 359 --area-code 2
    """
    result = service.set_plan(app.engine, app.settings, app.operator, company, values)
    click.echo(f"number plan of {company}: " + ", ".join(f"{k}={v!r}" for k, v in asdict(result).items()))


COMMANDS = [numbers]
