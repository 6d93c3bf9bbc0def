"""`asteriskbill trunks ...`: a vendor's connections, each a Dial() target with ${NUMBER}."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from asteriskbill.cli.common import App, echo_json, echo_table, json_option, pass_app
from asteriskbill.cli.lazy import LazyModule
from asteriskbill.cli.options import Whole

if TYPE_CHECKING:
    from asteriskbill.services import trunks as service
else:
    service = LazyModule("asteriskbill.services.trunks")


def _trunk_dict(trunk: service.TrunkView) -> dict:
    return {
        "name": trunk.name,
        "vendor": trunk.vendor,
        "dial": trunk.dial,
        "strip": trunk.strip_digits,
        "add_prefix": trunk.add_prefix,
        "channels": trunk.channel_limit,
        "enabled": trunk.enabled,
        "demoted": trunk.demoted_note,
    }


def _describe(trunk: service.TrunkView) -> str:
    changes = [f"strip {trunk.strip_digits}"] if trunk.strip_digits else []
    changes += [f"add {trunk.add_prefix}"] if trunk.add_prefix else []
    limit = "no channel limit" if trunk.channel_limit is None else f"{trunk.channel_limit} channels"
    state = "" if trunk.enabled else ", disabled"
    return f"trunk {trunk.name} of vendor {trunk.vendor}: {trunk.dial} ({', '.join([*changes, limit])}{state})"


@click.group()
def trunks() -> None:
    """Trunks: how calls reach a vendor. Routing groups (`routing`) offer calls to them."""


@trunks.command()
@click.argument("vendor")
@click.argument("name")
@click.option(
    "--dial", required=True, help="The Dial() target, with ${NUMBER} for the number, e.g. PJSIP/${NUMBER}@c1."
)
@click.option("--strip", type=Whole(min=0), default=0, show_default=True, help="Digits taken off the number's start.")
@click.option("--add-prefix", metavar="DIGITS", default="", help="Digits put before the number (a tech prefix).")
@click.option("--channels", type=Whole(min=1), help="Calls it may carry at once [default: no limit].")
@pass_app
def add(app: App, vendor: str, name: str, dial: str, strip: int, add_prefix: str, channels: int | None) -> None:
    """Add trunk NAME to VENDOR (trunk names are unique across vendors).

    Example:

        asteriskbill trunks add carrier1 c1-sofia --dial 'PJSIP/${NUMBER}@carrier1' --add-prefix 0011 --channels 30
    """
    trunk = service.add_trunk(app.engine, app.operator, vendor, name, dial, strip, add_prefix, channels)
    click.echo(f"{_describe(trunk)} added")


@trunks.command(name="list")
@click.option("--vendor", help="Only this vendor's trunks.")
@json_option
@pass_app
def list_(app: App, vendor: str | None, as_json: bool) -> None:
    """List the trunks.

    Example:

        asteriskbill trunks list --vendor carrier1
    """
    rows = [_trunk_dict(trunk) for trunk in service.list_trunks(app.engine, vendor)]
    if as_json:
        echo_json(rows)
        return
    shown = [{**row, "enabled": "yes" if row["enabled"] else "no"} for row in rows]
    echo_table(shown, ["name", "vendor", "dial", "strip", "add_prefix", "channels", "enabled", "demoted"])


@trunks.command()
@click.argument("name")
@click.option("--dial", help="The Dial() target, with ${NUMBER}.")
@click.option("--strip", type=Whole(min=0), help="Digits taken off the number's start.")
@click.option("--add-prefix", metavar="DIGITS", help='Digits put before the number ("" for none).')
@click.option("--channels", type=Whole(min=1), help="Calls it may carry at once.")
@click.option("--no-limit", is_flag=True, help="No channel limit.")
@click.option("--enable/--disable", "enabled", default=None, help="Offer it calls, or not.")
@pass_app
def edit(
    app: App,
    name: str,
    dial: str | None,
    strip: int | None,
    add_prefix: str | None,
    channels: int | None,
    no_limit: bool,
    enabled: bool | None,
) -> None:
    """Change a trunk's dial string, the number's change, its channel limit, or turn it off and on.

    Example:

        asteriskbill trunks edit c1-sofia --channels 60 --disable
    """
    changes = service.TrunkChanges(dial, strip, add_prefix, channels, no_limit, enabled)
    click.echo(f"{_describe(service.edit_trunk(app.engine, app.operator, name, changes))} now")


COMMANDS = [trunks]
