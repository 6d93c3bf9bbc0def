"""`asteriskbill dids ...`: the numbers of ours (toll-free, direct) that ring an account, for incoming calls."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from asteriskbill.cli.common import App, echo_json, echo_table, json_option, pass_app, stamp
from asteriskbill.cli.lazy import LazyModule

if TYPE_CHECKING:
    from asteriskbill.services import dids as service
else:
    service = LazyModule("asteriskbill.services.dids")


def did_dict(did: service.DidView) -> dict:
    return {
        "number": did.number,
        "account": did.account,
        "extension": did.extension,
        "incoming_tariff": did.incoming_tariff,
        "created_at": stamp(did.created_at),
    }


@click.group()
def dids() -> None:
    """DIDs: numbers of ours that ring an extension account; calls to them are its incoming calls, billed by its
    incoming tariff (`accounts create/edit --incoming-tariff`) through the asteriskbill-in context."""


@dids.command()
@click.argument("number")
@click.argument("account")
@pass_app
def add(app: App, number: str, account: str) -> None:
    """Make calls to NUMBER (as the inbound context's ${EXTEN} shows it) incoming calls of ACCOUNT, which ring
    its extension.

    Example:

        asteriskbill dids add 18005550100 acme-201
    """
    did = service.add(app.engine, app.operator, number, account)
    billed = (
        f"billed by incoming tariff {did.incoming_tariff}" if did.incoming_tariff else "not billed (no incoming tariff)"
    )
    click.echo(f"DID {did.number} -> {did.account} (extension {did.extension}), {billed}")


@dids.command()
@click.argument("number")
@pass_app
def remove(app: App, number: str) -> None:
    """Take NUMBER back from its account: the inbound context then refuses calls to it.

    Example:

        asteriskbill dids remove 18005550100
    """
    did = service.remove(app.engine, app.operator, number)
    click.echo(f"DID {did.number} removed from {did.account}")


@dids.command(name="list")
@click.option("--account", metavar="NAME", help="Only this account's DIDs.")
@json_option
@pass_app
def list_(app: App, account: str | None, as_json: bool) -> None:
    """List the DIDs by number, with the account each rings and its incoming tariff.

    Example:

        asteriskbill dids list --account acme-201 --json
    """
    rows = [did_dict(did) for did in service.list_dids(app.engine, account)]
    if as_json:
        echo_json(rows)
        return
    echo_table(
        [{**row, "incoming_tariff": row["incoming_tariff"] or "(not billed)"} for row in rows],
        ["number", "account", "extension", "incoming_tariff"],
    )


COMMANDS = [dids]
