"""The `asteriskbill` command: a thin layer over the services, one module per command group."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import click

from asteriskbill import __version__
from asteriskbill.cli.common import App
from asteriskbill.cli.lazy import LazyCommands, LazyModule

if TYPE_CHECKING:
    from asteriskbill import settings as settings_module
else:
    settings_module = LazyModule("asteriskbill.settings")  # top-level --help reads no settings

# Each command and the module that defines it, imported when the command runs or shows its help (cli/lazy.py).
COMMAND_MODULES = {
    "init": "asteriskbill.cli.admin",
    "check": "asteriskbill.cli.admin",
    "accounts": "asteriskbill.cli.accounts",
    "audit": "asteriskbill.cli.audit",
    "batches": "asteriskbill.cli.batches",
    "calls": "asteriskbill.cli.calls",
    "callshop": "asteriskbill.cli.callshop",
    "cards": "asteriskbill.cli.cards",
    "cdr": "asteriskbill.cli.cdr",
    "currency": "asteriskbill.cli.currency",
    "dialplan": "asteriskbill.cli.dialplan",
    "dids": "asteriskbill.cli.dids",
    "numbers": "asteriskbill.cli.numbers",
    "plans": "asteriskbill.cli.plans",
    "quote": "asteriskbill.cli.quote",
    "rates": "asteriskbill.cli.rates",
    "routes": "asteriskbill.cli.routes",
    "routing": "asteriskbill.cli.routing",
    "serve": "asteriskbill.cli.serve",
    "servers": "asteriskbill.cli.servers",
    "status": "asteriskbill.cli.status",
    "tariff": "asteriskbill.cli.tariff",
    "trunks": "asteriskbill.cli.trunks",
    "users": "asteriskbill.cli.users",
    "vendor-rates": "asteriskbill.cli.vendors",
    "vendors": "asteriskbill.cli.vendors",
    "web": "asteriskbill.cli.web",
}


class Group(click.Group):
    """Turns an error a person can act on (bad input, or the environment: see explain.py) into one line on
    stderr and exit status 1; --debug (ASTERISKBILL_DEBUG=1) keeps the traceback instead."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except BrokenPipeError:
            raise  # the reader went away (`| head`): click's main() ends quietly with status 1
        except (click.exceptions.Exit, click.ClickException, click.Abort):
            raise  # click's own ends (--help, a usage error): nothing to explain, and explain.py needs SQLAlchemy
        except Exception as exc:
            from asteriskbill.explain import explain  # here: it needs SQLAlchemy, which --help does not

            app = ctx.obj if isinstance(ctx.obj, App) else None
            line = None if ctx.params.get("debug") else explain(exc, app.settings if app else None)
            if line is None:
                raise
            raise click.ClickException(line) from None


@click.group(
    cls=Group, commands=LazyCommands(COMMAND_MODULES), context_settings={"help_option_names": ["-h", "--help"]}
)
@click.version_option(__version__, prog_name="asteriskbill")
@click.option(
    "--config",
    type=click.Path(dir_okay=False),
    envvar="ASTERISKBILL_CONFIG",
    help="TOML settings file [default: /etc/asteriskbill/asteriskbill.toml as root, "
    "else $XDG_CONFIG_HOME/asteriskbill/asteriskbill.toml].",
)
@click.option("--db", help="Database URL (any SQLAlchemy URL) [env: ASTERISKBILL_DB].")
@click.option("--operator", help="Name recorded in the audit log [default: the OS user].")
@click.option(
    "--debug", is_flag=True, envvar="ASTERISKBILL_DEBUG", help="Show the traceback of an error, not one line."
)
@click.pass_context
def main(ctx: click.Context, config: str | None, db: str | None, operator: str | None, debug: bool) -> None:
    """Prepaid billing for Asterisk: tariffs, rates, cards, accounts, calls and CDRs.

    Settings come from defaults, then the config file, then ASTERISKBILL_* variables,
    then these options.

    Example:

        asteriskbill --db sqlite:///billing.db init
    """
    app = App(settings_module.load(config, db=db))
    if operator:
        app.operator = operator
    ctx.obj = app
    ctx.call_on_close(lambda: app._engine.dispose() if app._engine else None)
