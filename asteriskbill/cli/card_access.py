"""`asteriskbill cards reset-pin|unlock|callerid`: how callers get in, by a PIN or by their caller ID."""

from __future__ import annotations

from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

import click

from asteriskbill.cli.common import App, echo_json, echo_table, json_option, local_stamp, pass_app
from asteriskbill.cli.lazy import LazyModule
from asteriskbill.cli.options import Whole

if TYPE_CHECKING:
    from asteriskbill.services import cards as service
else:
    service = LazyModule("asteriskbill.services.cards")


def pin_text(card: service.CardView, zone: ZoneInfo) -> str:
    """The PIN's state for people: locked until when, or the wrong PINs counted so far."""
    if card.pin_locked:
        return (
            f"locked until {local_stamp(card.pin_locked_until, zone)} after {card.pin_failures} wrong PINs "
            f"(`asteriskbill cards unlock {card.number}` lifts it)"
        )
    if card.pin_failures and card.pin_failed_at:
        return f"{card.pin_failures} wrong PINs since {local_stamp(card.pin_failed_at, zone)}"
    return ""


@click.command(name="reset-pin")
@click.argument("number")
@click.option("--pin-digits", type=Whole(), default=6, show_default=True, help="Digits of the new PIN.")
@pass_app
def reset_pin(app: App, number: str, pin_digits: int) -> None:
    """Give the card a new random PIN, printed this once (it is not stored).

    Example:

        asteriskbill cards reset-pin 400012345676
    """
    from asteriskbill.services.secret import installation_secret  # here: --help imports no service

    secret = installation_secret(app.settings.secret_file, create=True)
    pin, card = service.reset_pin(app.engine, secret, app.operator, number, pin_digits)
    click.echo(f"card {card.number}: new PIN {pin}")
    if card.pin_locked:
        click.echo(f"card {card.number} is still {pin_text(card, app.zone)}")


@click.command()
@click.argument("number")
@pass_app
def unlock(app: App, number: str) -> None:
    """Lift the lock that wrong PINs put on a card, and forget them (the PIN stays).

    Example:

        asteriskbill cards unlock 400012345676
    """
    card = service.unlock(app.engine, app.operator, number)
    click.echo(f"card {card.number} unlocked: {card.pin_failures} wrong PINs forgotten")


@click.group()
def callerid() -> None:
    """Caller IDs registered to cards: calls from them skip the card number and PIN."""


@callerid.command(name="add")
@click.argument("number")
@click.argument("caller_id", metavar="CALLERID")
@pass_app
def callerid_add(app: App, number: str, caller_id: str) -> None:
    """Let calls from CALLERID use card NUMBER without typing it or its PIN.

    Example:

        asteriskbill cards callerid add 400012345676 35988123456
    """
    service.add_callerid(app.engine, app.operator, number, caller_id)
    click.echo(f"calls from {caller_id} now use card {number}")


@callerid.command(name="remove")
@click.argument("caller_id", metavar="CALLERID")
@pass_app
def callerid_remove(app: App, caller_id: str) -> None:
    """Stop CALLERID from using its card without a PIN.

    Example:

        asteriskbill cards callerid remove 35988123456
    """
    service.remove_callerid(app.engine, app.operator, caller_id)
    click.echo(f"caller ID {caller_id} removed")


@callerid.command(name="list")
@click.argument("number", required=False)
@json_option
@pass_app
def callerid_list(app: App, number: str | None, as_json: bool) -> None:
    """List the caller IDs registered to cards (all, or card NUMBER's).

    Example:

        asteriskbill cards callerid list --json
    """
    rows = [{"card": card, "callerid": caller_id} for card, caller_id in service.callerids(app.engine, number)]
    if as_json:
        echo_json(rows)
    else:
        echo_table(rows, ["card", "callerid"])


COMMANDS = [reset_pin, unlock, callerid]
