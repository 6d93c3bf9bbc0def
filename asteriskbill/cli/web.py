"""`asteriskbill web`: the web console alone (`serve` runs it too), e.g. on another machine over the same PostgreSQL."""

from __future__ import annotations

import click

from asteriskbill.cli.common import App, pass_app
from asteriskbill.cli.options import Whole


@click.command()
@click.option("--host", help="Address to listen on [default: the web_host setting, 127.0.0.1].")
@click.option("--port", type=Whole(0, 65535), help="Port [default: the web_port setting, 8080; 0 picks a free one].")
@pass_app
def web(app: App, host: str | None, port: int | None) -> None:
    """Serve the web console alone, until SIGINT or SIGTERM. Once it listens it prints
    "asteriskbill console on http://HOST:PORT/" to stderr. Log in with a user made by `asteriskbill users add`.

    Example:

    \b
        asteriskbill users add alice --role admin
        asteriskbill --db postgresql+psycopg://billing@db1/billing web --host 0.0.0.0 --port 8080
    """
    engine = app.engine  # refused unless `asteriskbill init` made it at this code's schema
    app.settings = settings = app.settings.replace(web_host=host, web_port=port)
    from asteriskbill.web import server  # here: Starlette, Jinja2 and uvicorn cost every command ~0.1 s to import

    console = server.Console(engine, settings)
    click.echo(f"asteriskbill console on {console_line(console.address)}", err=True)
    server.run_alone(console)


def console_line(address: str | None) -> str:
    """Where the console is, and how to make its first user."""
    if address is None:
        return "off (--no-web)"
    return f"http://{address}/  (first administrator: asteriskbill users add NAME --role admin)"


COMMANDS = [web]
