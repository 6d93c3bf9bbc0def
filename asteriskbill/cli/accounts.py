"""`asteriskbill accounts ...`: extensions, companies and gateways, their balance and credit history."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

import click

from asteriskbill.billing.accounts import KINDS, SHEET_KINDS
from asteriskbill.billing.ledger import ADJUSTMENT, RECHARGE
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
from asteriskbill.cli.options import AMOUNT, SIGNED_AMOUNT, Whole
from asteriskbill.money import format_amount

if TYPE_CHECKING:
    from asteriskbill.services import account_sheets, ledger
    from asteriskbill.services import accounts as service
    from asteriskbill.services.ledger import Entry
else:
    account_sheets = LazyModule("asteriskbill.services.account_sheets")
    ledger = LazyModule("asteriskbill.services.ledger")
    service = LazyModule("asteriskbill.services.accounts")

PLURALS = {"company": "companies", "extension": "extensions", "gateway": "gateways"}
# "-5" is read as an amount (refused by AMOUNT with a clear reason), not as an unknown option.
NEGATIVE_ARGUMENTS = {"ignore_unknown_options": True}


def account_dict(account: service.AccountView) -> dict:
    return {
        "name": account.name,
        "kind": account.kind,
        "parent": account.parent,
        "tariff": account.tariff,
        "effective_tariff": account.effective_tariff,
        "currency": account.currency,
        "balance": format_amount(account.balance),
        "credit_limit": format_amount(account.credit_limit),
        "status": account.status,
        "effective_status": account.effective_status,
        "reason": account.reason,
        "max_calls": account.max_calls,
        "extension": account.extension,
        "accountcode": account.accountcode,
        "booth": account.booth,
        "created_at": stamp(account.created_at),
    }


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


def _status_text(account: service.AccountView) -> str:
    if account.effective_status == account.status:
        return account.status
    return f"{account.status}, {account.effective_status} by its company"


@click.group()
def accounts() -> None:
    """Accounts: extensions, companies and gateways (cards: see `cards`), each with a balance and ledger."""


@accounts.command()
@click.argument("kind", type=click.Choice(KINDS))
@click.argument("name")
@click.option("--parent", metavar="COMPANY", help="The company this extension or gateway belongs to.")
@click.option("--tariff", help="Its tariff [default: its company's].")
@click.option("--currency", help="Three letters [default: the tariff's, else the company's].")
@click.option(
    "--credit-limit",
    type=AMOUNT,
    default="0",
    show_default=True,
    help="How far below zero the balance may go (0: prepaid).",
)
@click.option("--max-calls", type=Whole(min=1), help="Simultaneous calls allowed [default: no limit].")
@click.option("--extension", metavar="EXT", help="The extension number (extension accounts).")
@click.option("--accountcode", metavar="CODE", help="The Asterisk CDR(accountcode) that identifies it.")
@click.option(
    "--booth",
    is_flag=True,
    help="A callshop booth (extension accounts): it calls only between `callshop start` and `stop`.",
)
@pass_app
def create(
    app: App,
    kind: str,
    name: str,
    parent: str | None,
    tariff: str | None,
    currency: str | None,
    credit_limit: int,
    max_calls: int | None,
    extension: str | None,
    accountcode: str | None,
    booth: bool,
) -> None:
    """Create an account of KIND (extension, company or gateway) named NAME.

    Example:

    \b
        asteriskbill accounts create company acme --tariff retail
        asteriskbill accounts create extension acme-0001 --parent acme \\
            --extension 0001 --max-calls 2
        asteriskbill accounts create extension booth-301 --tariff retail \\
            --extension 301 --booth
    """
    account = service.create(
        app.engine,
        app.operator,
        service.NewAccount(
            kind=kind,
            name=name,
            parent=parent,
            tariff=tariff,
            currency=currency,
            credit_limit=credit_limit,
            max_calls=max_calls,
            extension=extension,
            accountcode=accountcode,
            booth=booth,
        ),
    )
    owner = f" of company {account.parent}" if account.parent else ""
    click.echo(
        f"{'booth' if account.booth else account.kind} {account.name}{owner} created in {account.currency}, "
        f"tariff {account.effective_tariff or '(none yet)'}"
    )


@accounts.command(name="list")
@click.option("--kind", type=click.Choice(KINDS), help="Only this kind (cards are listed only with --kind card).")
@click.option("--parent", metavar="COMPANY", help="Only the accounts of this company.")
@click.option("--search", metavar="TEXT", help="Only names, extensions or accountcodes containing TEXT.")
@json_option
@pass_app
def list_(app: App, kind: str | None, parent: str | None, search: str | None, as_json: bool) -> None:
    """List accounts with their balance and status.

    Example:

        asteriskbill accounts list --parent acme --json
    """
    found = service.list_accounts(app.engine, kind=kind, parent=parent, search=search)
    if as_json:
        echo_json([account_dict(a) for a in found])
        return
    columns = ["name", "kind", "parent", "extension", "tariff", "balance", "status"]
    echo_table(
        [
            {
                "name": a.name,
                "kind": a.kind,
                "parent": a.parent or "",
                "extension": a.extension or "",
                "tariff": a.effective_tariff or "",
                "balance": money(a.balance, a.currency),
                "status": _status_text(a),
                "booth": "booth" if a.booth else "",
            }
            for a in found
        ],
        [*columns, "booth"] if any(a.booth for a in found) else columns,
    )  # no column when no callshop


@accounts.command()
@click.argument("name")
@json_option
@pass_app
def show(app: App, name: str, as_json: bool) -> None:
    """Show one account: balance, credit limit, tariff, status (its company's included).

    Example:

        asteriskbill accounts show acme-0001
    """
    account = service.show(app.engine, name)
    if as_json:
        echo_json(account_dict(account))
        return
    data = account_dict(account)
    data.update(
        balance=money(account.balance, account.currency),
        credit_limit=money(account.credit_limit, account.currency),
        status=_status_text(account),
        tariff=account.tariff or (account.effective_tariff and f"{account.effective_tariff} (its company's)"),
        booth="yes (see `asteriskbill callshop status`)" if account.booth else "",
    )
    echo_fields(
        data,
        (
            "name",
            "kind",
            "parent",
            "tariff",
            "balance",
            "credit_limit",
            "status",
            "reason",
            "max_calls",
            "extension",
            "accountcode",
            "booth",
            "created_at",
        ),
    )


def _status_command(action: str, done: str, doc: str) -> click.Command:
    @click.argument("name")
    @pass_app
    def command(app: App, name: str) -> None:
        account = service.change_status(app.engine, app.operator, name, action)
        click.echo(f"{account.kind} {account.name} {done}")

    command.__doc__ = doc
    return accounts.command(name=action)(command)


_status_command(
    "freeze",
    "frozen: no new calls (nor from its accounts, for a company)",
    """Freeze an account: it
    (and, for a company, every account of the company) can make no call until unfrozen.

    Example:

        asteriskbill accounts freeze acme
    """,
)
_status_command(
    "unfreeze",
    "is active again",
    """Unfreeze a frozen account.

    Example:

        asteriskbill accounts unfreeze acme
    """,
)
_status_command(
    "close",
    "closed for good",
    """Close an account for good: no calls, no recharges.

    A company is closed only after all its accounts are.

    Example:

        asteriskbill accounts close acme-0001
    """,
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


@accounts.command(context_settings=NEGATIVE_ARGUMENTS)
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


@accounts.command(context_settings=NEGATIVE_ARGUMENTS)
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


@accounts.command()
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


@accounts.command(name="import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@json_option
@pass_app
def import_(app: App, file: Path, as_json: bool) -> None:
    """Create the companies, extensions and gateways of FILE (CSV, or XLSX as written by export).

    Columns (header row, any order; kind and name are required): kind (company, extension or
    gateway), name, parent (its company: in the file, before or after it, or in the database),
    tariff, currency (default: the tariff's, else the company's; it must be the tariff's),
    credit_limit, max_calls, extension, accountcode, status (active, frozen or closed; default
    active), booth (yes for a callshop booth), balance (ignored: a balance changes only through the
    ledger, so every account starts at 0; move money with `accounts recharge`).

    All or nothing: if any line is bad, the errors are listed with their line numbers and
    nothing is written. Names, extensions and accountcodes must be new. About 2,000 accounts
    a second, each checked against the database.

    Example:

        asteriskbill accounts import extensions.xlsx
    """
    result = account_sheets.import_accounts(app.engine, app.operator, file)
    ignored = "ignored: balances change only through the ledger (`asteriskbill accounts recharge`)"
    if as_json:
        echo_json(
            {
                "file": file.name,
                "created": result.counts,
                "total": result.total,
                "balance_column": ignored if result.balance_ignored else None,
            }
        )
        return
    kinds = ", ".join(
        f"{count} {kind if count == 1 else PLURALS[kind]}" for kind, count in result.counts.items() if count
    )
    click.echo(
        f"imported {result.total} account{'' if result.total == 1 else 's'} from {file.name}"
        + (f": {kinds}" if kinds else "")
    )
    if result.balance_ignored:
        click.echo(f"the balance column was {ignored}; every account starts at 0.00")


@accounts.command()
@click.option("--kind", type=click.Choice(SHEET_KINDS), help="Only this kind.")
@click.option("--parent", metavar="COMPANY", help="Only this company and its accounts.")
@output_option(".csv", ".xlsx")
@pass_app
def export(app: App, kind: str | None, parent: str | None, output: str | None) -> None:
    """Export companies, extensions and gateways, companies first, with the columns that import
    reads (and their balance). CSV on standard output, or to -o FILE.csv / FILE.xlsx.

    Example:

        asteriskbill accounts export --parent acme -o acme.xlsx
    """
    if output is None:
        account_sheets.export_accounts(app.engine, sys.stdout, kind, parent)
        return
    count = account_sheets.export_accounts(app.engine, output, kind, parent)
    click.echo(f"exported {count} account{'' if count == 1 else 's'} to {output}", err=True)


COMMANDS = [accounts]
