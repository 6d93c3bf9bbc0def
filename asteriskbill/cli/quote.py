"""`asteriskbill quote`: what a call costs, or what a balance would be granted, and why."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

import click

from asteriskbill.cli.common import App, echo_json, json_option, pass_app
from asteriskbill.cli.lazy import LazyModule
from asteriskbill.cli.options import AMOUNT, DATETIME, Whole
from asteriskbill.money import format_amount, round_up

if TYPE_CHECKING:
    from asteriskbill.billing import authorize
    from asteriskbill.rating.engine import Charge
    from asteriskbill.services import quotes as service
else:
    authorize = LazyModule("asteriskbill.billing.authorize")
    service = LazyModule("asteriskbill.services.quotes")


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
@click.option("--seconds", type=Whole(min=0), help="Price a call of this many billable seconds.")
@click.option("--balance", type=AMOUNT, help="What an authorization grants an account holding this amount.")
@click.option(
    "--at",
    type=DATETIME,
    help="Call start (ISO; no offset = the tariff's clock: a time shown twice is the first, a time skipped is "
    "refused) [default: now].",
)
@click.option("--account", help="Dial as this account does: its company's number plan [default: the global plan].")
@json_option
@pass_app
def quote(
    app: App,
    tariff: str,
    number: str,
    seconds: int | None,
    balance: int | None,
    at: datetime | None,
    account: str | None,
    as_json: bool,
) -> None:
    """Price a call to NUMBER, dialled as a caller dials it, in TARIFF, with the breakdown per span and
    interval group; with --balance, what an authorization would answer for that balance.

    Example:

        asteriskbill quote retail +4420712345 --seconds 75 --at 2026-12-01T17:59:30

        asteriskbill quote retail 004420712345 --balance 5 --json
    """
    if seconds is not None and balance is None:
        result = service.quote_seconds(app.engine, app.settings, tariff, number, seconds, at, account)
    elif seconds is None and balance is not None:
        result = service.quote_balance(app.engine, app.settings, tariff, number, balance, at, account)
    else:
        raise click.UsageError("give exactly one of --seconds or --balance")
    data = quote_dict(tariff, result, balance)
    if as_json:
        echo_json(data)
    else:
        echo_quote(data, result)


def quote_dict(tariff: str, result: service.Quote, balance: int | None) -> dict:
    pricing, rate = result.pricing, result.pricing.rate
    data = {
        "tariff": tariff,
        "dialled": result.number.dialled,
        "number": result.number.number,
        "call_class": result.number.call_class,
        "at": pricing.start.isoformat(),
        "prefix": rate.prefix,
        "destination": rate.destination,
        "currency": pricing.tariff.currency,
        **charge_dict(result.charge),
    }
    if balance is None:
        return data
    granted = result.status is authorize.BillStatus.OK
    return {
        **data,
        "balance": format_amount(balance),
        "status": result.status,
        "max_seconds": result.charge.seconds,
        "capped": granted and result.charge.seconds >= pricing.horizon,
    }


def echo_quote(data: dict, result: service.Quote) -> None:
    number, charge = result.number, result.charge
    click.echo(
        f"{number.dialled} -> {number.number} ({number.call_class}) -> prefix {data['prefix']} "
        f"{data['destination']} at {data['at']}"
    )
    if "status" in data and data["status"] is not authorize.BillStatus.OK:
        grace = result.pricing.rate.grace
        click.echo(
            f"{data['balance']} {data['currency']} is no credit for this call: an authorization answers "
            f"{data['status']} (not one billed second{f' past the {grace} s grace' if grace else ''})"
        )
        return
    if "status" in data:
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
