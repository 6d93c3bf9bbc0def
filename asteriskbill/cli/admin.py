"""Database set-up: `asteriskbill init`."""

from __future__ import annotations

import click

from asteriskbill.cli.common import App, pass_app
from asteriskbill.store import migrate


@click.command()
@pass_app
def init(app: App) -> None:
    """Create the database or upgrade it to the newest schema.

    Safe to run again: it only applies the migrations that are missing.

    Example:

        asteriskbill init
    """
    migrate.upgrade(app.engine)
    click.echo(f"database {app.engine.url.render_as_string(hide_password=True)} is at revision "
               f"{migrate.current_revision(app.engine)}")


COMMANDS = [init]
