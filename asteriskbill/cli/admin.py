"""Administration: `asteriskbill init` (database set-up) and `asteriskbill check` (balances against the ledger)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from asteriskbill.cli.common import App, echo_json, json_option, pass_app
from asteriskbill.cli.lazy import LazyModule

if TYPE_CHECKING:
    from asteriskbill.services import ledger
    from asteriskbill.store import migrate, ready
else:
    ledger = LazyModule("asteriskbill.services.ledger")
    migrate = LazyModule("asteriskbill.store.migrate")
    ready = LazyModule("asteriskbill.store.ready")


@click.command()
@pass_app
def init(app: App) -> None:
    """Create the database or upgrade it to the newest schema.

    Safe to run again: it only applies the migrations that are missing. The only command that
    creates a database (a SQLite file and its folder); every other one refuses a database init did
    not make.

    Example:

        asteriskbill init
    """
    engine = app.open(ready.create)
    migrate.upgrade(engine)
    click.echo(
        f"database {engine.url.render_as_string(hide_password=True)} is at revision {migrate.current_revision(engine)}"
    )


@click.command()
@json_option
@pass_app
def check(app: App, as_json: bool) -> None:
    """Check that every balance equals the sum of its ledger entries (and that each entry's
    balance after follows from the one before). Exits 1 naming each difference.

    Example:

        asteriskbill check
    """
    accounts, differences = ledger.check(app.engine)
    if as_json:
        echo_json({"accounts": accounts, "differences": [vars(d) for d in differences]})
    elif not differences:
        click.echo(f"{accounts} accounts checked: every balance equals the sum of its ledger entries")
    for difference in differences if not as_json else ():
        click.echo(f"account {difference.account}: {difference.problem}", err=True)
    if differences:
        raise click.exceptions.Exit(1)


COMMANDS = [init, check]
