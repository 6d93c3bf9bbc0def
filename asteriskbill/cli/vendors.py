"""`asteriskbill vendors ...` and `asteriskbill vendor-rates ...`: the carriers calls are bought from, their
prepaid balance, and their destination sets (buy rates), imported like sell rates."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from asteriskbill.cli.common import (
    App,
    echo_fields,
    echo_json,
    echo_table,
    file_progress,
    json_option,
    local_stamp,
    money,
    pass_app,
    stamp,
)
from asteriskbill.cli.lazy import LazyModule
from asteriskbill.cli.options import AMOUNT, SIGNED_AMOUNT
from asteriskbill.cli.rates import PROGRESS_FROM
from asteriskbill.money import format_amount
from asteriskbill.rating.csvrow import describe_validity, format_rate

if TYPE_CHECKING:
    from asteriskbill.services import vendors as service
else:
    service = LazyModule("asteriskbill.services.vendors")

NEGATIVE_ARGUMENTS = {"ignore_unknown_options": True}  # "-2.50" is an amount, not an option


def _vendor_dict(vendor: service.VendorView) -> dict:
    return {
        "name": vendor.name,
        "currency": vendor.currency,
        "prepaid": vendor.prepaid,
        "balance": format_amount(vendor.balance) if vendor.prepaid else None,
        "rates": vendor.rates,
        "tariff": vendor.tariff,
        "timezone": vendor.timezone,
        "trunks": vendor.trunks,
        "created": stamp(vendor.created_at),
    }


@click.group()
def vendors() -> None:
    """Vendors: the carriers calls are bought from, each with its trunks and its rates (`vendor-rates`)."""


@vendors.command()
@click.argument("name")
@click.option("--currency", required=True, help="Three letters: the currency the vendor bills in.")
@click.option("--prepaid", is_flag=True, help="We pay the vendor in advance: calls use a balance kept here.")
@click.option("--timezone", help="IANA zone of the vendor's peak hours [default: the timezone setting].")
@pass_app
def add(app: App, name: str, currency: str, prepaid: bool, timezone: str | None) -> None:
    """Add a vendor, with an empty set of rates (the tariff vendor:NAME).

    Example:

        asteriskbill vendors add carrier1 --currency USD --prepaid
    """
    vendor = service.add_vendor(app.engine, app.settings, app.operator, name, currency, prepaid, timezone or "")
    kind = "prepaid" if vendor.prepaid else "postpaid"
    click.echo(f"vendor {vendor.name} added ({vendor.currency}, {kind}; its rates: tariff {vendor.tariff})")


@vendors.command(name="list")
@json_option
@pass_app
def list_(app: App, as_json: bool) -> None:
    """List the vendors with their balance (prepaid ones), rates and trunks.

    Example:

        asteriskbill vendors list --json
    """
    rows = [_vendor_dict(vendor) for vendor in service.list_vendors(app.engine)]
    if as_json:
        echo_json(rows)
        return
    shown = [{**row, "prepaid": "yes" if row["prepaid"] else "no", "trunks": len(row["trunks"])} for row in rows]
    echo_table(shown, ["name", "currency", "prepaid", "balance", "rates", "trunks"])


@vendors.command()
@click.argument("name")
@json_option
@pass_app
def show(app: App, name: str, as_json: bool) -> None:
    """Show a vendor: its currency, balance (prepaid), number of rates and trunks.

    Example:

        asteriskbill vendors show carrier1
    """
    data = _vendor_dict(service.show_vendor(app.engine, name))
    if as_json:
        echo_json(data)
        return
    text = {**data, "prepaid": "yes" if data["prepaid"] else "no", "trunks": ", ".join(data["trunks"]) or "(none)"}
    echo_fields(text, ["name", "currency", "prepaid", "balance", "rates", "tariff", "timezone", "trunks", "created"])


@vendors.command()
@click.argument("name")
@click.option("--name", "new_name", metavar="NEW-NAME", help="Rename the vendor (and its tariff).")
@click.option("--currency", help="Three letters; only while the vendor has no rates and no ledger entries.")
@click.option("--prepaid/--postpaid", default=None, help="Keep a prepaid balance, or not (only at a zero balance).")
@pass_app
def edit(app: App, name: str, new_name: str | None, currency: str | None, prepaid: bool | None) -> None:
    """Change a vendor's name, currency or whether it is prepaid.

    Example:

        asteriskbill vendors edit carrier1 --prepaid
    """
    vendor = service.edit_vendor(app.engine, app.operator, name, new_name=new_name, currency=currency, prepaid=prepaid)
    kind = "prepaid" if vendor.prepaid else "postpaid"
    click.echo(f"vendor {vendor.name} changed ({vendor.currency}, {kind})")


@vendors.command(context_settings=NEGATIVE_ARGUMENTS)
@click.argument("name")
@click.argument("amount", type=AMOUNT)
@click.option("--reference", metavar="TEXT", help="The payment's reference, e.g. the vendor's invoice number.")
@click.option("--note", metavar="TEXT", help="A note kept with the ledger entry.")
@pass_app
def recharge(app: App, name: str, amount: int, reference: str | None, note: str | None) -> None:
    """Add AMOUNT (in the vendor's currency) to a prepaid vendor's balance: money paid in to it.

    AMOUNT is at most the max_amount setting, and the balance after it at most max_balance.

    Example:

        asteriskbill vendors recharge carrier1 500 --reference INV-2026-118
    """
    vendor = service.post(app.engine, app.settings, app.operator, name, service.RECHARGE, amount, reference, note)
    click.echo(
        f"recharged vendor {vendor.name} with {money(amount, vendor.currency)}: "
        f"balance {money(vendor.balance, vendor.currency)}"
    )


@vendors.command(context_settings=NEGATIVE_ARGUMENTS)
@click.argument("name")
@click.argument("amount", type=SIGNED_AMOUNT)
@click.option("--note", metavar="TEXT", required=True, help="Why: kept with the ledger entry.")
@pass_app
def adjust(app: App, name: str, amount: int, note: str) -> None:
    """Correct a prepaid vendor's balance by AMOUNT (negative to take money off), with a note saying why.

    Example:

        asteriskbill vendors adjust carrier1 -12.40 --note "their statement of November"
    """
    vendor = service.post(app.engine, app.settings, app.operator, name, service.ADJUST, amount, None, note)
    click.echo(
        f"adjusted vendor {vendor.name} by {money(amount, vendor.currency)}: "
        f"balance {money(vendor.balance, vendor.currency)}"
    )


@vendors.command()
@click.argument("name")
@json_option
@pass_app
def history(app: App, name: str, as_json: bool) -> None:
    """Show a prepaid vendor's ledger: recharges, adjustments and calls, newest first.

    Example:

        asteriskbill vendors history carrier1
    """
    vendor, entries = service.history(app.engine, name)
    rows = [
        {
            "at": local_stamp(entry.created_at, app.zone),
            "kind": entry.kind,
            "amount": format_amount(entry.amount),
            "balance_after": format_amount(entry.balance_after),
            "reference": entry.reference,
            "note": entry.note,
            "operator": entry.operator,
        }
        for entry in entries
    ]
    if as_json:
        echo_json({"vendor": vendor.name, "currency": vendor.currency, "entries": rows})
    else:
        echo_table(rows, ["at", "kind", "amount", "balance_after", "reference", "note", "operator"])


@click.group(name="vendor-rates")
def vendor_rates() -> None:
    """Vendor rates: what each destination costs to buy from a vendor, in the vendor's currency.

    The file is a rates file (see `asteriskbill rates --help`): the same columns, time windows and checks.
    """


@vendor_rates.command(name="import")
@click.argument("vendor")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--replace", is_flag=True, help="Delete the vendor's rates first (in the same transaction).")
@pass_app
def import_(app: App, vendor: str, file: Path, replace: bool) -> None:
    """Import the rates of FILE (CSV or XLSX, as `rates import` reads) into VENDOR's rates.

    All or nothing: if any line is bad, the errors are listed with their line numbers and nothing is written.

    Example:

        asteriskbill vendor-rates import carrier1 carrier1.csv --replace
    """
    with file_progress(file, PROGRESS_FROM) as advance:
        result = service.import_rates(app.engine, vendor, file, replace, advance, operator=app.operator)
    click.echo(result.summary)


@vendor_rates.command(name="list")
@click.argument("vendor")
@click.argument("prefix", default="")
@json_option
@pass_app
def list_rates(app: App, vendor: str, prefix: str, as_json: bool) -> None:
    """List VENDOR's rates by prefix, of the prefixes starting with PREFIX [default: all].

    Example:

        asteriskbill vendor-rates list carrier1 44
    """
    found = service.list_rates(app.engine, vendor, prefix)
    if as_json:
        echo_json([format_rate(rate) for rate in found])
        return
    rows = [{**format_rate(rate), "valid": describe_validity(rate)} for rate in found]
    echo_table(rows, ["prefix", "destination", "price", "increments", "intervals", "connect_fee", "valid"])


COMMANDS = [vendors, vendor_rates]
