"""`asteriskbill accounts import|export`: companies, extensions and gateways in CSV or XLSX sheets
(services/account_sheets.py)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from asteriskbill.billing.accounts import SHEET_KINDS
from asteriskbill.cli.common import App, echo_json, json_option, output_option, pass_app
from asteriskbill.cli.lazy import LazyModule

if TYPE_CHECKING:
    from asteriskbill.services import account_sheets as service
else:
    service = LazyModule("asteriskbill.services.account_sheets")

PLURALS = {"company": "companies", "extension": "extensions", "gateway": "gateways"}


@click.command(name="import")
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
    result = service.import_accounts(app.engine, app.operator, file)
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


@click.command()
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
        service.export_accounts(app.engine, sys.stdout, kind, parent)
        return
    count = service.export_accounts(app.engine, output, kind, parent)
    click.echo(f"exported {count} account{'' if count == 1 else 's'} to {output}", err=True)


COMMANDS = [import_, export]
