"""`asteriskbill calls ...`: the calls up now, and simulated calls."""

from __future__ import annotations

import click

from asteriskbill.cli.common import App, echo_json, echo_table, json_option, money, pass_app, stamp
from asteriskbill.money import format_amount
from asteriskbill.services import cdrs as service
from asteriskbill.services import simulate as simulation
from asteriskbill.store.types import utcnow


@click.group()
def calls() -> None:
    """Calls: the ones up now, and simulated calls through the running FastAGI server."""


@calls.command()
@json_option
@pass_app
def active(app: App, as_json: bool) -> None:
    """List the calls up now (authorized and not yet settled), oldest first: account, number,
    destination, when it started, its maximum duration and the credit it holds.

    Example:

        asteriskbill calls active --json
    """
    now, found = utcnow(), service.active_calls(app.engine)
    rows = [
        {
            "session": c.session,
            "account": c.account,
            "account_kind": c.account_kind,
            "company": c.company,
            "callerid": c.callerid,
            "dialled": c.dialled,
            "number": c.number,
            "destination": c.destination,
            "call_class": c.call_class,
            "started_at": stamp(c.started_at),
            "elapsed_seconds": max(int((now - c.started_at).total_seconds()), 0),
            "max_seconds": c.max_seconds,
            "ends_by": stamp(c.ends_by),
            "reserved": format_amount(c.amount),
            "currency": c.currency,
            "channel": c.channel,
        }
        for c in found
    ]
    if as_json:
        echo_json(rows)
        return
    echo_table(
        [{**row, "reserved": money(c.amount, c.currency)} for row, c in zip(rows, found, strict=True)],
        ["account", "number", "destination", "started_at", "elapsed_seconds", "max_seconds", "reserved"],
    )


@calls.command()
@click.option("--card", help="Card number to type.")
@click.option("--pin", help="Its PIN.")
@click.option("--extension", help="Call as this PBX extension (the ext application) instead of a card.")
@click.option("--accountcode", default="", help="The channel's Asterisk accountcode (ext application).")
@click.option("--callerid", default="5551000", show_default=True, help="The caller's number.")
@click.option("--dial", required=True, help="The number dialled.")
@click.option("--talk", type=click.IntRange(min=0), help="Then settle the call as answered for SECONDS.")
@click.option("--host", help="FastAGI host [default: the fastagi_host setting].")
@click.option("--port", type=click.IntRange(1, 65535), help="FastAGI port [default: the fastagi_port setting].")
@json_option
@pass_app
def simulate(app: App, card, pin, extension, accountcode, callerid, dial, talk, host, port, as_json) -> None:
    """Place a call on the running FastAGI server exactly as Asterisk would, and show every exchange.

    With --card/--pin it runs the calling-card IVR (or logs in by --callerid when that number is
    registered to a card); with --extension or --accountcode, the extension application. --talk then
    settles the call as answered for that long, as the ARI listener would: try a tariff without a phone.

    Example:

        asteriskbill calls simulate --card 400012345676 --pin 123456 --dial 00442071234567 --talk 95
    """
    if extension or accountcode:
        call = simulation.extension_call(extension, accountcode, dial)
    else:
        call = simulation.card_call(card, pin, dial, callerid)
    done = simulation.simulate(
        app.engine, call, host or app.settings.fastagi_host, port or app.settings.fastagi_port, talk
    )
    variables, outcome = done.outcome.variables, done.outcome
    if as_json:
        echo_json(
            {
                "agistatus": outcome.agistatus,
                "variables": variables,
                "transcript": outcome.transcript(),
                "settled": None
                if done.settled is None
                else {"seconds": done.settled.billed_seconds, "cost": format_amount(done.settled.cost)},
            }
        )
        return
    click.echo(outcome.transcript())
    click.echo(f"AGISTATUS={outcome.agistatus}")
    for name, value in variables.items():
        click.echo(f"{name}={value}")
    if done.settled is not None:
        click.echo(
            f"settled as answered: {done.settled.billed_seconds} s billed, cost {format_amount(done.settled.cost)}"
        )


COMMANDS = [calls]
