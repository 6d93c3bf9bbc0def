"""`asteriskbill quote`: what a call costs, or how long a balance lasts, and why."""

from __future__ import annotations

import click

from asteriskbill.cli.common import App, echo_json, json_option, pass_app
from asteriskbill.cli.options import AMOUNT, DATETIME
from asteriskbill.money import format_amount, round_up
from asteriskbill.rating.engine import Charge
from asteriskbill.services import tariffs as service


def charge_dict(charge: Charge) -> dict:
    """A charge as JSON-ready values; block amounts are exact values rounded up for display."""
    return {
        "seconds": charge.seconds,
        "cost": format_amount(charge.cost),
        "connect_fee": format_amount(charge.connect_fee),
        "in_grace": charge.in_grace,
        "spans": [
            {
                "prefix": span.rate.prefix,
                "destination": span.rate.destination,
                "start": span.start,
                "end": span.end,
                "groups": [
                    {
                        "group_start": b.group.start,
                        "from": b.start,
                        "seconds": b.seconds,
                        "billed": b.billed,
                        "increment": b.group.increment,
                        "price": format_amount(b.group.price),
                        "per_seconds": b.group.unit,
                        "amount": format_amount(round_up(b.amount)),
                    }
                    for b in span.blocks
                ],
            }
            for span in charge.spans
        ],
    }


@click.command()
@click.argument("tariff")
@click.argument("number")
@click.option("--seconds", type=click.IntRange(min=0), help="Price a call of this many billable seconds.")
@click.option("--balance", type=AMOUNT, help="Find the longest call this amount pays for.")
@click.option("--at", type=DATETIME, help="Call start (ISO; no offset = the tariff's time zone) [default: now].")
@json_option
@pass_app
def quote(app: App, tariff: str, number: str, seconds: int | None, balance: int | None, at, as_json: bool) -> None:
    """Price a call to NUMBER in TARIFF, with the breakdown per span and interval group.

    Example:

        asteriskbill quote retail 4420712345 --seconds 75 --at 2026-12-01T17:59:30

        asteriskbill quote retail 4420712345 --balance 5 --json
    """
    if seconds is not None and balance is None:
        pricing = service.pricing(app.engine, tariff, number, at, seconds)
        charge = pricing.cost(seconds)
    elif seconds is None and balance is not None:
        pricing = service.pricing(app.engine, tariff, number, at, app.settings.max_call_seconds)
        charge = pricing.max_duration(balance)
    else:
        raise click.UsageError("give exactly one of --seconds or --balance")
    rate = pricing.rate
    data = {
        "tariff": tariff,
        "number": number,
        "at": pricing.start.isoformat(),
        "prefix": rate.prefix,
        "destination": rate.destination,
        "currency": pricing.tariff.currency,
        **charge_dict(charge),
    }
    if balance is not None:
        data = {
            **data,
            "balance": format_amount(balance),
            "max_seconds": charge.seconds,
            "capped": charge.seconds >= pricing.horizon,
        }
    if as_json:
        echo_json(data)
        return
    click.echo(f"{number} -> prefix {rate.prefix} {rate.destination} at {data['at']}")
    if balance is not None:
        cap = " (the per-call cap)" if data["capped"] else ""
        click.echo(f"{data['balance']} {data['currency']} pays for {charge.seconds} s{cap}")
    click.echo(
        f"{charge.seconds} s cost {data['cost']} {data['currency']}"
        + (" (within the grace period)" if charge.in_grace else "")
    )
    if charge.connect_fee:
        click.echo(f"  connect fee {data['connect_fee']}")
    for span in data["spans"]:
        click.echo(f"  {span['start']}-{span['end']} s: prefix {span['prefix']} {span['destination']}")
        for g in span["groups"]:
            click.echo(
                f"    from {g['from']} s: {g['seconds']} s billed as {g['billed']} s "
                f"({g['increment']} s increments) at {g['price']}/{g['per_seconds']} s = {g['amount']}"
            )


COMMANDS = [quote]
