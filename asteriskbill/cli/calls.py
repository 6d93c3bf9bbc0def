"""`asteriskbill calls ...`: the calls up now, simulated calls, and freeing what is stuck."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from asteriskbill.billing.routing import FAILOVER
from asteriskbill.cli.common import App, echo_json, echo_table, json_option, local_stamp, money, pass_app, stamp
from asteriskbill.cli.lazy import LazyModule
from asteriskbill.cli.options import Whole
from asteriskbill.money import format_amount

if TYPE_CHECKING:
    from asteriskbill.services import cdrs as service
    from asteriskbill.services import reservations
    from asteriskbill.services import simulate as simulation
else:
    service = LazyModule("asteriskbill.services.cdrs")
    reservations = LazyModule("asteriskbill.services.reservations")
    simulation = LazyModule("asteriskbill.services.simulate")

FLAGGED_LIMIT = 100
reason_option = click.option(
    "--reason", required=True, help="Why: kept with the call and in the audit log (e.g. 'no ARI: never up')."
)


@click.group()
def calls() -> None:
    """Calls: the ones up now, simulated calls through the running FastAGI server, and stuck or flagged ones."""


@calls.command()
@json_option
@pass_app
def active(app: App, as_json: bool) -> None:
    """List the calls up now (authorized and not yet settled), oldest first: account, number,
    destination, when it started, its maximum duration, the credit it holds and the talk time that
    pays for (one slice at a time when calls hold credit in slices), and the deadline of its channel.

    Example:

        asteriskbill calls active --json
    """
    from asteriskbill.store.types import utcnow  # here: the store is SQLAlchemy, which --help does not need

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
            "held_seconds": c.held_seconds,
            "answered_at": stamp(c.answered_at),
            "deadline": stamp(c.deadline_at if c.held_seconds < c.max_seconds else None),
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
        [
            "account",
            "number",
            "destination",
            "started_at",
            "elapsed_seconds",
            "max_seconds",
            "held_seconds",
            "reserved",
            "session",
        ],
    )


@calls.command()
@click.argument("session")
@reason_option
@json_option
@pass_app
def release(app: App, session: str, reason: str, as_json: bool) -> None:
    """Give back the credit held by call SESSION (from `calls active`) when it will never be settled: no
    Asterisk event will end it (no ARI connection, a simulated call without --talk). Nothing is charged and
    the ledger is untouched; the reason is kept with the call and in the audit log. A released call is not
    charged if its end is seen later: release only a call you know is not up.

    Example:

        asteriskbill calls release 3f2c8a4e-1b7d-4c55-9e0a-6d1f2b3c4d5e --reason "no ARI: the call was never up"
    """
    done = reservations.release(app.engine, app.operator, session, reason)
    if as_json:
        echo_json(
            {
                "session": done.session,
                "account": done.account,
                "held": format_amount(done.held),
                "currency": done.currency,
                "reason": done.reason,
            }
        )
        return
    click.echo(f"released call {done.session} of {done.account}: {money(done.held, done.currency)} no longer held")


@calls.command()
@click.option(
    "--limit", type=Whole(min=0), default=FLAGGED_LIMIT, show_default=True, help="At most this many (0: all)."
)
@json_option
@pass_app
def flagged(app: App, limit: int, as_json: bool) -> None:
    """List the calls recovery flagged, newest first, with why and when: overdue calls that `serve` or
    `cdr reconcile` could not settle. Their credit was given back and nothing was charged; a record of
    one in a later `cdr reconcile` still settles it. Check each by hand, then `calls clear` it.

    Example:

        asteriskbill calls flagged --json
    """
    found = reservations.flagged(app.engine, limit or None)
    rows = [
        {
            "session": c.session,
            "account": c.account,
            "callerid": c.callerid,
            "number": c.number,
            "destination": c.destination,
            "authorized_at": stamp(c.authorized_at),
            "flagged_at": stamp(c.flagged_at),
            "held": format_amount(c.held),
            "currency": c.currency,
            "reason": c.reason,
            "uniqueid": c.uniqueid,
        }
        for c in found.calls
    ]
    short = f"{len(rows)} of {found.total} flagged calls; --limit 0 shows all" if len(rows) < found.total else ""
    if as_json:
        echo_json(rows)
        if short:  # the JSON stays a list of calls, as `cdr list --json` stays a list of CDRs
            click.echo(short, err=True)
        return
    echo_table(
        [
            {
                **row,
                "flagged_at": local_stamp(c.flagged_at, app.zone),
                "authorized_at": local_stamp(c.authorized_at, app.zone),
                "held": money(c.held, c.currency),
            }
            for row, c in zip(rows, found.calls, strict=True)
        ],
        ["flagged_at", "account", "number", "destination", "authorized_at", "held", "session", "reason"],
    )
    if short:
        click.echo(short)


@calls.command()
@click.argument("session")
@reason_option
@pass_app
def clear(app: App, session: str, reason: str) -> None:
    """Clear the flag of call SESSION once you have handled it (from `calls flagged`): it leaves that list,
    and no later `cdr reconcile` charges it. Audited with the reason.

    Example:

        asteriskbill calls clear 3f2c8a4e-1b7d-4c55-9e0a-6d1f2b3c4d5e --reason "not in Asterisk's CDR: never connected"
    """
    reservations.clear(app.engine, app.operator, session, reason)
    click.echo(f"cleared the flag of call {session}")


@calls.command()
@click.option("--card", help="Card number to type.")
@click.option("--pin", help="Its PIN.")
@click.option("--extension", help="Call as this PBX extension (the ext application) instead of a card.")
@click.option("--accountcode", default="", help="The channel's Asterisk accountcode (ext application).")
@click.option(
    "--incoming",
    is_flag=True,
    help="A call from --callerid TO --dial, a DID or extension of ours (the in application).",
)
@click.option("--callerid", default="5551000", show_default=True, help="The caller's number.")
@click.option("--dial", required=True, help="The number dialled.")
@click.option("--talk", type=Whole(min=0), help="Then settle the call as answered for SECONDS.")
@click.option(
    "--failed",
    type=click.Choice(FAILOVER),
    multiple=True,
    help="With --talk: the call's first routes failed so (repeatable), the next one answered.",
)
@click.option("--host", help="FastAGI host [default: the fastagi_host setting].")
@click.option("--port", type=Whole(1, 65535), help="FastAGI port [default: the fastagi_port setting].")
@json_option
@pass_app
def simulate(
    app: App, card, pin, extension, accountcode, incoming, callerid, dial, talk, failed, host, port, as_json
) -> None:
    """Place a call on the running FastAGI server exactly as Asterisk would, and show every exchange.

    With --card/--pin it runs the calling-card IVR (or logs in by --callerid when that number is
    registered to a card); with --extension or --accountcode, the extension application; with --incoming, a
    call from --callerid to our number --dial, paid by the account it rings. --talk then settles the call as
    answered for that long, as the ARI listener would: try a tariff without a phone; --failed CHANUNAVAIL
    settles it as answered by its second route after the first failed.

    Example:

        asteriskbill calls simulate --card 400012345676 --pin 123456 --dial 00442071234567 --talk 95

        asteriskbill calls simulate --incoming --dial 18005550100 --callerid 442071234567 --talk 120
    """
    if incoming:
        if card or pin or extension or accountcode:
            raise click.UsageError(
                "--incoming is a call to --dial from --callerid: no --card, --extension or --accountcode"
            )
        call = simulation.incoming_call(dial, callerid)
    elif extension or accountcode:
        call = simulation.extension_call(extension, accountcode, dial)
    else:
        call = simulation.card_call(card, pin, dial, callerid)
    done = simulation.simulate(
        app.engine, call, host or app.settings.fastagi_host, port or app.settings.fastagi_port, talk, failed
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
