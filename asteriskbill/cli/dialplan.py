"""`asteriskbill dialplan`: the dialplan Asterisk needs, with the [globals] of this installation."""

from __future__ import annotations

import ipaddress
import sysconfig
from pathlib import Path
from typing import TYPE_CHECKING

import click

from asteriskbill.cli.common import App, pass_app
from asteriskbill.cli.lazy import LazyModule

if TYPE_CHECKING:
    from asteriskbill import dialplan as contract
else:
    contract = LazyModule("asteriskbill.dialplan")

WILDCARDS = ("0.0.0.0", "::")  # `serve` listens everywhere: Asterisk on this machine reaches it on loopback


def fastagi_address(host: str, port: int) -> str:
    """host:port as an agi:// URL names it (an IPv6 address in brackets)."""
    host = "127.0.0.1" if host in WILDCARDS else host
    try:
        bracketed = ipaddress.ip_address(host).version == 6
    except ValueError:  # a host name
        bracketed = False
    return f"[{host}]:{port}" if bracketed else f"{host}:{port}"


def scripts_folder() -> Path:
    """Where this installation put asteriskbill-card, -ext and -in: its scripts folder (a virtualenv's
    bin/, /usr/local/bin, ...) or, for `pip install --user`, the user one."""
    folders = [Path(sysconfig.get_path("scripts", scheme)) for scheme in _schemes()]
    return next((f for f in folders if (f / contract.AGI_SCRIPTS[0]).exists()), folders[0])


def _schemes() -> list[str]:
    return [sysconfig.get_default_scheme(), sysconfig.get_preferred_scheme("user")]


def _host_port(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    if value is None:
        return None
    host, _, port = value.rpartition(":")
    if not host or not (port.isascii() and port.isdigit() and 1 <= int(port) <= 65535):
        raise click.BadParameter(f"{value!r} is not HOST:PORT, e.g. 127.0.0.1:4573")
    return value


@click.command("dialplan")
@click.option("--globals", "only_globals", is_flag=True, help="Print only the [globals] section.")
@click.option(
    "--fastagi",
    metavar="HOST:PORT",
    callback=_host_port,
    help="Where Asterisk reaches `serve`'s FastAGI [default: the fastagi_host and fastagi_port settings].",
)
@click.option(
    "--agi-bin",
    metavar="DIR",
    help="Folder of the asteriskbill-card, -ext and -in scripts [default: where this installation put them].",
)
@pass_app
def dialplan(app: App, only_globals: bool, fastagi: str | None, agi_bin: str | None) -> None:
    """Print the dialplan: a [globals] section for this installation, then the contexts.

    #include the file from extensions.conf, then `dialplan reload` in Asterisk. The contexts fall back
    to 127.0.0.1:4573 and /usr/local/bin for a global that is unset.

    Example:

        asteriskbill dialplan > /etc/asterisk/extensions_asteriskbill.conf
    """
    fastagi = fastagi or fastagi_address(app.settings.fastagi_host, app.settings.fastagi_port)
    folder = Path(agi_bin).absolute() if agi_bin else scripts_folder()
    if not (folder / contract.AGI_SCRIPTS[0]).exists():  # the FastAGI contexts work all the same
        click.echo(f"{folder} has no {contract.AGI_SCRIPTS[0]}: the -stdio contexts need --agi-bin", err=True)
    click.echo(contract.globals_section(fastagi, str(folder)), nl=False)
    if not only_globals:
        click.echo("\n" + contract.text(), nl=False)


COMMANDS = [dialplan]
