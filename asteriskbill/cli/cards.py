"""`asteriskbill cards ...`: generate calling cards, recharge them, manage their status, export them."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

import click

from asteriskbill.billing.cards import ACTIVATIONS, NOW, STATUSES
from asteriskbill.cli import card_access
from asteriskbill.cli.account_money import (
    NEGATIVE_ARGUMENTS,
    echo_entries,
    echo_recharged,
    entry_dict,
    recharge_options,
)
from asteriskbill.cli.card_access import pin_text
from asteriskbill.cli.common import (
    App,
    echo_fields,
    echo_json,
    echo_table,
    json_option,
    local_stamp,
    money,
    output_option,
    pass_app,
    stamp,
)
from asteriskbill.cli.lazy import LazyModule
from asteriskbill.cli.options import AMOUNT, DATE, Whole
from asteriskbill.money import format_amount

if TYPE_CHECKING:
    from asteriskbill.services import card_batches, ledger, sheet_cells, sheets
    from asteriskbill.services import cards as service
else:
    card_batches = LazyModule("asteriskbill.services.card_batches")
    ledger = LazyModule("asteriskbill.services.ledger")
    sheet_cells = LazyModule("asteriskbill.services.sheet_cells")
    sheets = LazyModule("asteriskbill.services.sheets")
    service = LazyModule("asteriskbill.services.cards")

EXPORT_COLUMNS = (
    "number",
    "status",
    "balance",
    "currency",
    "batch",
    "tariff",
    "activation",
    "valid_days",
    "created_at",
    "activated_at",
    "expires_at",
    "first_used_at",
    "last_used_at",
)
NUMBERS = click.argument("numbers", nargs=-1, required=True, metavar="NUMBER...")


def card_dict(card: service.CardView) -> dict:
    return {
        "number": card.number,
        "status": card.status,
        "reason": card.reason,
        "balance": format_amount(card.balance),
        "currency": card.currency,
        "batch": card.batch,
        "tariff": card.tariff,
        "activation": card.activation,
        "valid_days": card.valid_days,
        "max_calls": card.max_calls,
        "created_at": stamp(card.created_at),
        "activated_at": stamp(card.activated_at),
        "expires_at": stamp(card.expires_at),
        "first_used_at": stamp(card.first_used_at),
        "last_used_at": stamp(card.last_used_at),
        "pin_failures": card.pin_failures,
        "pin_locked_until": stamp(card.pin_locked_until if card.pin_locked else None),
    }


DATES = ("created_at", "activated_at", "expires_at", "first_used_at", "last_used_at")


def card_text(card: service.CardView, zone: ZoneInfo) -> dict:
    """``card_dict`` for people: the balance with its currency, times in ``zone``, and the PIN's state."""
    return {
        **card_dict(card),
        "balance": money(card.balance, card.currency),
        **{key: local_stamp(getattr(card, key), zone) for key in DATES},
        "pin": pin_text(card, zone),
    }


@click.group()
def cards() -> None:
    """Calling cards: a number and a PIN, a balance, a tariff, a validity."""


def _progress(stack: ExitStack, length: int, label: str) -> Callable[[int], None]:
    """A progress bar shown from the first step on, so that an early refusal prints only its error."""
    bar = None

    def step(done: int) -> None:
        nonlocal bar
        if bar is None:
            bar = stack.enter_context(click.progressbar(length=length, label=label, file=sys.stderr))
        bar.update(done)

    return step


@cards.command()
@click.option("--count", type=Whole(min=1), required=True, help="How many cards.")
@click.option("--value", type=AMOUNT, required=True, help="Face value of each card.")
@click.option("--tariff", required=True, help="The tariff the cards call with.")
@click.option("--currency", help="Three letters [default: the tariff's; must be the tariff's].")
@click.option(
    "--activation",
    type=click.Choice(ACTIVATIONS),
    default=NOW,
    show_default=True,
    help="now: active at once; first-use: on its first call; manual: by `cards activate`.",
)
@click.option("--valid-days", type=Whole(min=1), help="Valid this many days from activation.")
@click.option("--expires", type=DATE, help="Valid until the end of this day (the tariff's time zone).")
@click.option(
    "--number-digits", type=Whole(), default=12, show_default=True, help="Digits of a number, check digit included."
)
@click.option("--pin-digits", type=Whole(), default=6, show_default=True, help="Digits of a PIN.")
@click.option("--max-calls", type=Whole(min=1), default=1, show_default=True, help="Simultaneous calls per card.")
@click.option("--batch-name", metavar="NAME", help="Name of the batch [default: batch-<id>].")
@output_option(".csv", ".xlsx")
@pass_app
def generate(
    app: App,
    count: int,
    value: int,
    tariff: str,
    currency: str | None,
    activation: str,
    valid_days: int | None,
    expires,
    number_digits: int,
    pin_digits: int,
    max_calls: int,
    batch_name: str | None,
    output: str | None,
) -> None:
    """Generate a batch of cards with random numbers and PINs.

    The PINs are written once, to FILE (or as CSV to standard output), and are not stored:
    keep the file safe. The file is written before the cards are committed, so if it cannot
    be written no card is created.

    Example:

    \b
        asteriskbill cards generate --count 500 --value 15 --tariff retail \\
            --activation first-use --valid-days 183 -o cards.xlsx
    """
    spec = card_batches.BatchSpec(
        count=count,
        value=value,
        tariff=tariff,
        currency=currency,
        activation=activation,
        valid_days=valid_days,
        expires=expires,
        number_digits=number_digits,
        pin_digits=pin_digits,
        max_calls=max_calls,
        name=batch_name,
    )
    if output and not os.access(Path(output).absolute().parent, os.W_OK):
        raise click.BadParameter(f"{output}: its folder does not exist or is not writable", param_hint="-o/--output")
    from asteriskbill.services.secret import installation_secret  # here: --help imports no service

    secret = installation_secret(app.settings.secret_file, create=True)
    # Written beside FILE, with its suffix (the format), renamed to FILE once the cards are committed.
    target = Path(output) if output else None
    partial = target.with_name(f".{target.stem}.partial{target.suffix}") if target else None
    try:
        with ExitStack() as stack:
            batch, new_cards = card_batches.generate(
                app.engine,
                secret,
                app.operator,
                spec,
                limits=ledger.limits(app.settings),
                deliver=card_batches.pin_writer(partial) if partial else None,
                progress=_progress(stack, count, "generating cards"),
            )
    except BaseException:
        if partial:
            partial.unlink(missing_ok=True)
        raise
    if partial and target:
        os.replace(partial, target)
    else:
        sheets.write_csv(
            sys.stdout, card_batches.PIN_COLUMNS, card_batches.pin_rows(batch, new_cards), card_batches.PIN_TYPES
        )
    validity = card_batches.validity_text(batch.valid_days, batch.expires_at)
    click.echo(
        f"batch {batch.name}: {batch.count} cards of {money(batch.face_value, batch.currency)}, tariff "
        f"{batch.tariff}, activation {batch.activation}, {validity}"
        f"; PINs {'in ' + output if output else 'above'}, not stored: keep them safe",
        err=not output,
    )


@cards.command(context_settings=NEGATIVE_ARGUMENTS)
@click.argument("number")
@recharge_options
@pass_app
def recharge(
    app: App, number: str, amount: int, order: str | None, note: str | None, allow_duplicate_order: bool
) -> None:
    """Add AMOUNT to the card's balance (an order number recharges a card once).

    Example:

        asteriskbill cards recharge 400012345676 10 --order 2026-0042
    """
    card, entry = service.recharge(
        app.engine,
        app.operator,
        number,
        amount,
        order,
        note,
        limits=ledger.limits(app.settings),
        allow_duplicate_order=allow_duplicate_order,
    )
    echo_recharged(f"card {card.number}", amount, card.currency, order, entry.balance_after)


def _bulk_command(name: str, done: str, doc: str) -> None:
    """A command NAME that runs the cards service's function of the same name on NUMBER..."""

    @NUMBERS
    @pass_app
    def command(app: App, numbers: tuple[str, ...]) -> None:
        for card in getattr(service, name)(app.engine, app.operator, numbers):
            click.echo(f"card {card.number} {done}: {card.status}")

    command.__doc__ = doc
    cards.command(name=name)(command)


_bulk_command(
    "activate",
    "activated",
    """Activate cards generated with --activation manual
    (or first-use ones before their first call). All or none: one refused card changes nothing.

    Example:

        asteriskbill cards activate 400012345676 400087654325
    """,
)
_bulk_command(
    "enable",
    "enabled",
    """Enable disabled cards again.

    Example:

        asteriskbill cards enable 400012345676
    """,
)
_bulk_command(
    "disable",
    "disabled",
    """Disable cards: they can make no call until enabled.

    Example:

        asteriskbill cards disable 400012345676 400087654325
    """,
)
_bulk_command(
    "delete",
    "deleted",
    """Delete cards that were never used (nor recharged).

    Their unused face value is voided in the ledger. A used card is refused: disable it instead.
    All or none: one refused card changes nothing.

    Example:

        asteriskbill cards delete 400012345676
    """,
)


@cards.command(name="list")
@click.option("--batch", metavar="NAME|ID", help="Only the cards of this batch.")
@click.option("--status", type=click.Choice(STATUSES), help="Only cards in this status [default: all but deleted].")
@click.option("--search", metavar="DIGITS", help="Only numbers containing DIGITS.")
@json_option
@pass_app
def list_(app: App, batch: str | None, status: str | None, search: str | None, as_json: bool) -> None:
    """List cards with their status and balance.

    Example:

        asteriskbill cards list --batch batch-3 --status active --json
    """
    found = service.list_cards(app.engine, batch=batch, status=status, search=search)
    if as_json:
        echo_json([card_dict(c) for c in found])
        return
    echo_table(
        [card_text(c, app.zone) for c in found],
        ["number", "status", "balance", "batch", "expires_at", "last_used_at"],
    )


@cards.command()
@click.argument("number")
@json_option
@pass_app
def show(app: App, number: str, as_json: bool) -> None:
    """Show a card: balance, status and why, dates, and its latest ledger entries (calls included).

    Example:

        asteriskbill cards show 400012345676
    """
    card, entries = service.show(app.engine, number)
    if as_json:
        echo_json({**card_dict(card), "entries": [entry_dict(e) for e in entries]})
        return
    echo_fields(
        card_text(card, app.zone),
        (
            "number",
            "status",
            "reason",
            "pin",
            "balance",
            "batch",
            "tariff",
            "activation",
            "valid_days",
            "max_calls",
            "created_at",
            "activated_at",
            "expires_at",
            "first_used_at",
            "last_used_at",
        ),
    )
    echo_entries(entries, card.currency, app.zone)


@cards.command()
@click.option("--batch", metavar="NAME|ID", help="Only the cards of this batch [default: all].")
@output_option(".csv", ".xlsx")
@pass_app
def export(app: App, batch: str | None, output: str | None) -> None:
    """Export cards (never PINs) to FILE.csv or FILE.xlsx, or as CSV to standard output.

    Example:

        asteriskbill cards export --batch batch-3 -o batch-3.xlsx
    """

    def write(found: list[service.CardView]) -> None:
        rows = ([card_dict(c)[column] for column in EXPORT_COLUMNS] for c in found)
        if output:
            sheets.write_file(output, EXPORT_COLUMNS, rows, _export_types(), sheet="cards")
        else:
            sheets.write_csv(sys.stdout, EXPORT_COLUMNS, rows, _export_types())

    count = service.export(app.engine, app.operator, write, batch)
    if output:
        click.echo(f"{count} cards written to {output}")


def _export_types() -> dict[str, sheet_cells.Kind]:
    """The columns that are numbers and moments (sheet_cells): the rest is text."""
    kind = sheet_cells.Kind
    moments = ("created_at", "activated_at", "expires_at", "first_used_at", "last_used_at")
    return {"balance": kind.AMOUNT, "valid_days": kind.INTEGER, **dict.fromkeys(moments, kind.MOMENT)}


COMMANDS = [cards]


for _command in card_access.COMMANDS:  # PINs and caller IDs: how callers get in
    cards.add_command(_command)

COMMANDS = [cards]
