"""`asteriskbill servers ...`: the Asterisk servers whose ARI events `serve` follows, and their AMI."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from asteriskbill.cli.common import App, echo_json, echo_table, json_option, pass_app, stamp
from asteriskbill.cli.lazy import LazyModule

if TYPE_CHECKING:
    from asteriskbill.services import servers as service
else:
    service = LazyModule("asteriskbill.services.servers")


def server_dict(server: service.AriServer) -> dict:
    """What may be shown of a server: everything but its password (also one recorded in its URL) and AMI secret."""
    return {
        "name": server.name,
        "ari_url": server.shown_url,
        "ari_user": server.ari_user,
        "ami_url": server.ami_url or None,
        "ami_user": server.ami_user or None,
        "asterisk_id": server.asterisk_id,
        "source": server.source,
        "created_at": stamp(server.created_at),
    }


@click.group()
def servers() -> None:
    """Asterisk servers: `serve` keeps one ARI event connection to each (the ari_url setting, when
    set, is one more server named "default"), and each CDR records the Asterisk it came from."""


@servers.command()
@click.argument("name")
@click.option(
    "--ari-url",
    required=True,
    help="Asterisk's HTTP server (http.conf), e.g. http://10.0.0.5:8088, without user:password@ (see below).",
)
@click.option("--ari-user", required=True, help="The user of ari.conf.")
@click.option(
    "--ari-password",
    required=True,
    prompt=True,
    hide_input=True,
    help="Its password (prompted when not given; never shown again).",
)
@click.option(
    "--ami-url",
    default="",
    help="Its manager interface (manager.conf), e.g. tcp://10.0.0.6:5038: `serve` moves each call's hard limit "
    "there, so calls may hold their credit in slices. Without it they hold their whole maximum.",
)
@click.option("--ami-user", default="", help="The user of manager.conf (write = call).")
@click.option(
    "--ami-secret", default="", help="Its secret (prompted when --ami-url is given without it; never shown again)."
)
@pass_app
def add(
    app: App, name: str, ari_url: str, ari_user: str, ari_password: str, ami_url: str, ami_user: str, ami_secret: str
) -> None:
    """Follow the Asterisk server NAME: a running `serve` connects to it within 30 s.

    Example:

    \b
        asteriskbill servers add pbx2 --ari-url http://10.0.0.6:8088 --ari-user asteriskbill \\
            --ari-password secret --ami-url tcp://10.0.0.6:5038 --ami-user asteriskbill --ami-secret secret
    """
    if ami_url and not ami_secret:
        ami_secret = click.prompt("AMI secret", hide_input=True)
    server = service.add(
        app.engine,
        app.operator,
        name,
        ari_url,
        ari_user,
        ari_password,
        ami_url=ami_url,
        ami_user=ami_user,
        ami_secret=ami_secret,
    )
    ami = f", AMI {server.ami_url} as {server.ami_user}" if server.has_ami else ", no AMI"
    click.echo(f"server {server.name} added: {server.ari_url} as {server.ari_user}{ami}")


@servers.command(name="list")
@json_option
@pass_app
def list_(app: App, as_json: bool) -> None:
    """List the servers with their AMI and the Asterisk entity id each answered with (passwords and
    secrets are never shown).

    Example:

        asteriskbill servers list --json
    """
    rows = [server_dict(s) for s in service.servers(app.engine, app.settings)]
    if as_json:
        echo_json(rows)
    else:
        echo_table(rows, ["name", "ari_url", "ari_user", "ami_url", "ami_user", "asterisk_id", "source"])


@servers.command()
@click.argument("name")
@pass_app
def remove(app: App, name: str) -> None:
    """Stop following the server NAME (its CDRs stay).

    Example:

        asteriskbill servers remove pbx2
    """
    service.remove(app.engine, app.operator, name)
    click.echo(f"server {name} removed: a running `serve` disconnects from it within 30 s")


COMMANDS = [servers]
