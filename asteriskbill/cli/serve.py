"""`asteriskbill serve`: the engine — FastAGI server and ARI listener."""

from __future__ import annotations

import logging

import click

from asteriskbill import runtime
from asteriskbill.cli.common import App, pass_app
from asteriskbill.store import migrate


@click.command()
@click.option("--host", help="FastAGI address [default: the fastagi_host setting, 127.0.0.1].")
@click.option("--port", type=click.IntRange(0, 65535), help="FastAGI port [default: 4573].")
@click.option("--verbose", "-v", is_flag=True, help="Log every settled call.")
@pass_app
def serve(app: App, host: str | None, port: int | None, verbose: bool) -> None:
    """Run the FastAGI server (apps `card` and `ext`) and an ARI listener for each Asterisk server
    (`asteriskbill servers`, and the ari_url setting as the server "default").

    Runs until SIGINT or SIGTERM; servers added or removed are followed within 30 s. Once FastAGI
    listens it prints "asteriskbill serving FastAGI on HOST:PORT" to stderr (--port 0 picks a free
    port). The database must be at the newest schema (`asteriskbill init`).

    Example:

    \b
        asteriskbill servers add pbx1 --ari-url http://127.0.0.1:8088 --ari-user asteriskbill \\
            --ari-password secret
        asteriskbill serve --port 4573
    """
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    logging.getLogger("asteriskbill.serve").setLevel(logging.INFO)
    if migrate.current_revision(app.engine) != migrate.head_revision():
        raise click.ClickException("the database is not at the newest schema: run `asteriskbill init` first")
    settings = app.settings.replace(fastagi_host=host, fastagi_port=port)
    runtime.run(
        app.engine,
        settings,
        ready=lambda bound, port: click.echo(f"asteriskbill serving FastAGI on {bound}:{port}", err=True),
    )


COMMANDS = [serve]
