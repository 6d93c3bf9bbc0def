"""`asteriskbill routes ...`: which trunk each destination prefix leaves through."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from asteriskbill.cli.common import App, echo_json, echo_table, json_option, pass_app
from asteriskbill.cli.lazy import LazyModule

if TYPE_CHECKING:
    from asteriskbill.services import routes as service
else:
    service = LazyModule("asteriskbill.services.routes")


@click.group()
def routes() -> None:
    """Routes: prefix -> Dial() target; the longest prefix wins; the AGI hands it over as BILL_DIAL."""


@routes.command()
@click.argument("prefix")
@click.argument("dial")
@click.option("--name", default="", help="A label, e.g. the carrier's name.")
@pass_app
def add(app: App, prefix: str, dial: str, name: str) -> None:
    """Send numbers starting with PREFIX to DIAL (use "" as PREFIX for every number).

    Example:

        asteriskbill routes add 44 'PJSIP/${NUMBER}@carrier1' --name carrier1
    """
    route = service.add_route(app.engine, app.operator, prefix, dial, name)
    click.echo(f"route {route.prefix or '(default)'} -> {route.dial}")


@routes.command(name="list")
@json_option
@pass_app
def list_(app: App, as_json: bool) -> None:
    """List the routes.

    Example:

        asteriskbill routes list --json
    """
    rows = [{"prefix": r.prefix, "dial": r.dial, "name": r.name} for r in service.list_routes(app.engine)]
    if as_json:
        echo_json(rows)
    else:
        echo_table([{**r, "prefix": r["prefix"] or "(default)"} for r in rows], ["prefix", "dial", "name"])


@routes.command()
@click.argument("prefix")
@pass_app
def remove(app: App, prefix: str) -> None:
    """Remove the route of PREFIX.

    Example:

        asteriskbill routes remove 44
    """
    service.remove_route(app.engine, app.operator, prefix)
    click.echo(f"route {prefix or '(default)'} removed")


COMMANDS = [routes]
