"""`asteriskbill accounts recharge|adjust|history`: an account's money, through the ledger (services/ledger.py).

The recharge options and the credit history's lines are shared with `cards` (a card is an account too).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

import click

from asteriskbill.billing.ledger import ADJUSTMENT, RECHARGE
from asteriskbill.cli.common import App, echo_json, echo_table, json_option, local_stamp, money, pass_app, stamp
from asteriskbill.cli.lazy import LazyModule
from asteriskbill.cli.options import AMOUNT, SIGNED_AMOUNT
from asteriskbill.money import format_amount

if TYPE_CHECKING:
    from asteriskbill.services import accounts as service
    from asteriskbill.services import ledger
    from asteriskbill.services.ledger import Entry
else:
    ledger = LazyModule("asteriskbill.services.ledger")
    service = LazyModule("asteriskbill.services.accounts")

# "-5" is read as an amount (refused by AMOUNT with a clear reason), not as an unknown option.
NEGATIVE_ARGUMENTS = {"ignore_unknown_options": True}


def entry_dict(entry: Entry) -> dict:
    return {
        "id": entry.id,
        "at": stamp(entry.created_at),
        "kind": entry.kind,
        "amount": format_amount(entry.amount),
        "balance_after": format_amount(entry.balance_after),
        "reference": entry.reference,
        "note": entry.note,
        "operator": entry.operator,
    }


def echo_entries(entries: list[Entry], currency: str, zone: ZoneInfo) -> None:
    """A credit history for people, newest first, its times in ``zone``."""
    echo_table(
        [
            {
                **entry_dict(e),
                "at": local_stamp(e.created_at, zone),
                "amount": money(e.amount, currency),
                "balance_after": money(e.balance_after, currency),
            }
            for e in entries
        ],
        ["at", "kind", "amount", "balance_after", "reference", "note", "operator"],
    )


def recharge_options(command: Callable) -> Callable:
    """AMOUNT (never negative: "-5" is refused as an amount, not taken for an option), --order, --note and
    --allow-duplicate-order."""
    for option in (
        click.option(
            "--allow-duplicate-order",
            is_flag=True,
            help="Recharge even if this order number recharged the account already (refused otherwise).",
        ),
        click.option("--note", metavar="TEXT", help="A note kept with the ledger entry."),
        click.option("--order", metavar="ORDER-NUMBER", help="The order number or receipt of the payment."),
        click.argument("amount", type=AMOUNT),
    ):
        command = option(command)
    return command


def echo_recharged(what: str, amount: int, currency: str, order: str | None, balance: int) -> None:
    click.echo(ledger.recharged(what, amount, currency, order, balance))


@click.command(context_settings=NEGATIVE_ARGUMENTS)
@click.argument("account")
@recharge_options
@pass_app
def recharge(
    app: App, account: str, amount: int, order: str | None, note: str | None, allow_duplicate_order: bool
) -> None:
    """Add AMOUNT (in the account's currency) to ACCOUNT's balance.

    An order number recharges an account once. AMOUNT is at most the max_amount setting, and the
    balance after it at most max_balance.

    Example:

        asteriskbill accounts recharge acme-0001 300 --order 2026-0042
    """
    after, entry = service.post(
        app.engine,
        app.operator,
        account,
        RECHARGE,
        amount,
        order,
        note,
        limits=ledger.limits(app.settings),
        allow_duplicate_order=allow_duplicate_order,
    )
    echo_recharged(after.name, amount, after.currency, order, entry.balance_after)


@click.command(context_settings=NEGATIVE_ARGUMENTS)
@click.argument("account")
@click.argument("amount", type=SIGNED_AMOUNT)
@click.option("--note", metavar="TEXT", required=True, help="Why: kept with the ledger entry.")
@pass_app
def adjust(app: App, account: str, amount: int, note: str) -> None:
    """Correct ACCOUNT's balance by AMOUNT (negative to take money off), with a note saying why.

    Example:

        asteriskbill accounts adjust acme-0001 -2.50 --note "paid twice"
    """
    after, entry = service.post(
        app.engine, app.operator, account, ADJUSTMENT, amount, None, note, limits=ledger.limits(app.settings)
    )
    click.echo(
        f"adjusted {after.name} by {money(amount, after.currency)}: "
        f"balance {money(entry.balance_after, after.currency)}"
    )


@click.command()
@click.argument("account")
@json_option
@pass_app
def history(app: App, account: str, as_json: bool) -> None:
    """Show ACCOUNT's credit history: recharges with order numbers, call charges, adjustments, newest first.

    Example:

        asteriskbill accounts history acme-0001 --json
    """
    found, entries = service.history(app.engine, account)
    if as_json:
        echo_json(
            {
                "account": found.name,
                "currency": found.currency,
                "balance": format_amount(found.balance),
                "entries": [entry_dict(e) for e in entries],
            }
        )
        return
    click.echo(f"{found.kind} {found.name}: balance {money(found.balance, found.currency)}")
    echo_entries(entries, found.currency, app.zone)


COMMANDS = [recharge, adjust, history]
