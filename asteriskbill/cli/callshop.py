"""`asteriskbill callshop ...`: start and stop booths, their receipts, their status, the callshop preferences."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

import click

from asteriskbill.cli.common import App, echo_json, echo_table, json_option, money, output_option, pass_app, stamp
from asteriskbill.cli.lazy import LazyModule
from asteriskbill.cli.options import AMOUNT
from asteriskbill.money import format_amount

if TYPE_CHECKING:
    from asteriskbill import files
    from asteriskbill.services import callshop as service
    from asteriskbill.services import receipt as receipts
else:
    files = LazyModule("asteriskbill.files")
    service = LazyModule("asteriskbill.services.callshop")
    receipts = LazyModule("asteriskbill.services.receipt")


@click.group()
def callshop() -> None:
    """Callshop booths: the operator starts a booth for a customer, the customer calls, the operator stops
    it and prints the receipt."""


@callshop.command()
@click.argument("booth")
@click.option("--prepaid", type=AMOUNT, help="Money taken from the customer now; without it the booth is postpaid.")
@click.option("--use-default-prepaid", is_flag=True, help="Take the preferences' default prepaid amount.")
@click.option(
    "--credit-limit",
    type=AMOUNT,
    help="How far below zero the booth may go [default: 0 prepaid; postpaid: the preferences'].",
)
@pass_app
def start(app: App, booth: str, prepaid: int | None, use_default_prepaid: bool, credit_limit: int | None) -> None:
    """Start BOOTH for a customer: it may call until its money (prepaid + credit limit) is used up or it
    is stopped. A booth starts at a zero balance; the money taken is a ledger entry.

    Example:

    \b
        asteriskbill callshop start booth-301 --prepaid 5.00
        asteriskbill callshop start booth-302              # postpaid
        asteriskbill callshop start booth-303 --use-default-prepaid
    """
    started = service.start(app.engine, app.operator, booth, prepaid, credit_limit, use_default_prepaid)
    limit = f", credit limit {money(started.credit_limit, started.currency)}" if started.credit_limit else ""
    paid = f"prepaid {money(started.prepaid, started.currency)}" if started.prepaid else "postpaid"
    click.echo(f"booth {started.booth} started at {stamp(started.started_at)}: {paid}{limit}")


def _check_writable(path: str | None) -> None:
    """Before the stop: a receipt that cannot be written must not leave a stopped booth without one."""
    folder = Path(path).parent if path else None
    if folder is not None and not (folder.is_dir() and os.access(folder, os.W_OK)):
        raise click.BadParameter(
            f"{path}: folder {folder} does not exist or cannot be written", param_hint="-o/--output"
        )


def _receipt_dict(receipt: service.Receipt) -> dict:
    bill = receipt.bill
    return {
        "booth": receipt.booth,
        "extension": receipt.extension,
        "currency": receipt.currency,
        "mode": receipt.mode,
        "started_at": stamp(receipt.started_at),
        "stopped_at": stamp(receipt.stopped_at),
        "calls": [
            {
                "started_at": stamp(c.started_at),
                "number": c.number,
                "destination": c.destination,
                "outcome": c.outcome,
                "billed_seconds": c.seconds,
                "cost": format_amount(c.cost),
            }
            for c in receipt.calls
        ],
        "total": format_amount(bill.total),
        "paid": format_amount(bill.paid),
        "change": format_amount(bill.change),
        "due": format_amount(bill.due),
    }


def _print_receipt(app: App, receipt: service.Receipt, as_json: bool, output: str | None) -> None:
    lines = receipts.receipt_lines(receipt, ZoneInfo(app.settings.timezone))
    if as_json:
        echo_json(_receipt_dict(receipt))
    else:
        click.echo("\n".join(lines))
    if output:
        pdf = output.lower().endswith(".pdf")
        with files.private_file(output) as handle:
            handle.write(receipts.one_page_pdf(lines) if pdf else ("\n".join(lines) + "\n").encode())
        click.echo(f"receipt written to {output}", err=True)


def _receipt_command(command):
    """BOOTH, --json and -o FILE (.txt for a receipt printer, .pdf), the file checked before anything changes."""
    for option in (output_option(".txt", ".pdf"), json_option, click.argument("booth")):
        command = option(command)
    return command


@callshop.command()
@_receipt_command
@pass_app
def stop(app: App, booth: str, as_json: bool, output: str | None) -> None:
    """Stop BOOTH and print its receipt: every call, the total, what was paid and the change to give
    back or the amount due. The booth is back at a zero balance, ready for the next customer.
    Refused while the booth is in a call.

    Example:

    \b
        asteriskbill callshop stop booth-301
        asteriskbill callshop stop booth-301 -o receipt.pdf
    """
    _check_writable(output)
    _print_receipt(app, service.stop(app.engine, app.operator, booth), as_json, output)


@callshop.command()
@_receipt_command
@pass_app
def receipt(app: App, booth: str, as_json: bool, output: str | None) -> None:
    """Print the receipt of BOOTH's last stopped session again.

    Example:

        asteriskbill callshop receipt booth-301 -o receipt.txt
    """
    _check_writable(output)
    _print_receipt(app, service.last_receipt(app.engine, booth), as_json, output)


@callshop.command()
@json_option
@pass_app
def status(app: App, as_json: bool) -> None:
    """Every booth: idle, started or in a call, since when, what its calls cost so far and what it may
    still spend (prepaid - calls, or the credit limit left).

    Example:

        asteriskbill callshop status --json
    """
    booths = service.status(app.engine)
    rows = [
        {
            "booth": b.booth,
            "extension": b.extension,
            "state": b.state,
            "since": stamp(b.since) or None,
            "mode": b.mode,
            "total": format_amount(b.total),
            "remaining": None if b.remaining is None else format_amount(b.remaining),
            "currency": b.currency,
            "call_number": b.call_number,
            "call_since": stamp(b.call_since) or None,
        }
        for b in booths
    ]
    if as_json:
        echo_json(rows)
        return
    echo_table(
        [
            {
                **row,
                "total": money(b.total, b.currency) if b.mode else "",
                "remaining": "" if b.remaining is None else money(b.remaining, b.currency),
                "state": f"in a call to {b.call_number}" if b.call_number else b.state,
            }
            for row, b in zip(rows, booths, strict=True)
        ],
        ["booth", "extension", "state", "since", "mode", "total", "remaining"],
    )


@callshop.group()
def preferences() -> None:
    """The callshop's defaults: the prepaid amount and the postpaid credit limit."""


def _preferences_dict(found: service.Preferences) -> dict:
    return {
        "default_prepaid": format_amount(found.default_prepaid) if found.default_prepaid else None,
        "default_credit_limit": format_amount(found.default_credit_limit) if found.default_credit_limit else None,
    }


def _echo_preferences(found: service.Preferences, as_json: bool) -> None:
    data = _preferences_dict(found)
    if as_json:
        echo_json(data)
        return
    for key, value in data.items():
        click.echo(f"{key + ':':<22}{value or '(none)'}")


@preferences.command(name="set")
@click.option("--default-prepaid", type=AMOUNT, help="Taken by `callshop start BOOTH --use-default-prepaid` (0: none).")
@click.option(
    "--default-credit-limit",
    type=AMOUNT,
    help="A postpaid booth's credit limit when `callshop start` has no --credit-limit (0: none).",
)
@pass_app
def set_(app: App, default_prepaid: int | None, default_credit_limit: int | None) -> None:
    """Set the callshop's defaults (amounts in each booth's own currency).

    Example:

        asteriskbill callshop preferences set --default-prepaid 5 --default-credit-limit 20
    """
    if default_prepaid is None and default_credit_limit is None:
        raise click.UsageError("give --default-prepaid AMOUNT, --default-credit-limit AMOUNT or both")
    _echo_preferences(service.set_preferences(app.engine, app.operator, default_prepaid, default_credit_limit), False)


@preferences.command()
@json_option
@pass_app
def show(app: App, as_json: bool) -> None:
    """Show the callshop's defaults.

    Example:

        asteriskbill callshop preferences show --json
    """
    _echo_preferences(service.get_preferences(app.engine), as_json)


COMMANDS = [callshop]
