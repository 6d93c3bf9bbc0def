"""`asteriskbill servers ...`: the Asterisk servers whose ARI events `serve` follows."""

from __future__ import annotations

import click

from asteriskbill.cli.common import App, echo_json, echo_table, json_option, pass_app, stamp
from asteriskbill.services import servers as service


def server_dict(server: service.AriServer) -> dict:
    """What may be shown of a server: everything but its password (also one recorded in its URL)."""
    return {
        "name": server.name,
        "ari_url": server.shown_url,
        "ari_user": server.ari_user,
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
@pass_app
def add(app: App, name: str, ari_url: str, ari_user: str, ari_password: str) -> None:
    """Follow the Asterisk server NAME: a running `serve` connects to it within 30 s.

    Example:

    \b
        asteriskbill servers add pbx2 --ari-url http://10.0.0.6:8088 --ari-user asteriskbill \\
            --ari-password secret
    """
    server = service.add(app.engine, app.operator, name, ari_url, ari_user, ari_password)
    click.echo(f"server {server.name} added: {server.ari_url} as {server.ari_user}")


@servers.command(name="list")
@json_option
@pass_app
def list_(app: App, as_json: bool) -> None:
    """List the servers with the Asterisk entity id each answered with (passwords are never shown).

    Example:

        asteriskbill servers list --json
    """
    rows = [server_dict(s) for s in service.servers(app.engine, app.settings)]
    if as_json:
        echo_json(rows)
    else:
        echo_table(rows, ["name", "ari_url", "ari_user", "asterisk_id", "source"])


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
