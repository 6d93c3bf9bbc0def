"""`asteriskbill serve`: the engine — FastAGI server and ARI listener."""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING

import click

from asteriskbill.cli.common import App, pass_app
from asteriskbill.cli.lazy import LazyModule
from asteriskbill.cli.options import Whole
from asteriskbill.cli.web import console_line

if TYPE_CHECKING:
    import logging
    import shutil

    from asteriskbill import explain, runtime
    from asteriskbill.services import servers
    from asteriskbill.services.servers import AriServer
    from asteriskbill.settings import Settings
else:
    logging = LazyModule("logging")
    shutil = LazyModule("shutil")
    explain = LazyModule("asteriskbill.explain")
    runtime = LazyModule("asteriskbill.runtime")
    servers = LazyModule("asteriskbill.services.servers")


@click.command()
@click.option("--host", help="FastAGI address [default: the fastagi_host setting, 127.0.0.1].")
@click.option("--port", type=Whole(0, 65535), help="FastAGI port [default: 4573].")
@click.option("--web-host", help="Web console address [default: the web_host setting, 127.0.0.1].")
@click.option("--web-port", type=Whole(0, 65535), help="Web console port [default: 8080].")
@click.option("--no-web", is_flag=True, help="Do not serve the web console.")
@click.option("--verbose", "-v", is_flag=True, help="Log every settled call.")
@pass_app
def serve(
    app: App,
    host: str | None,
    port: int | None,
    web_host: str | None,
    web_port: int | None,
    no_web: bool,
    verbose: bool,
) -> None:
    """Run the FastAGI server (apps `card` and `ext`), an ARI listener for each Asterisk server
    (`asteriskbill servers`, and the ari_url setting as the server "default") and the web console
    (http://127.0.0.1:8080 by default; `asteriskbill users add` makes its first administrator).

    Runs until SIGINT or SIGTERM, which end the AGI sessions in progress: a call not yet sent
    BILL_STATUS=OK leaves nothing held; one sent OK keeps its hold until it is settled. Servers added
    or removed are followed within 30 s. Once FastAGI
    listens it prints "asteriskbill serving FastAGI on HOST:PORT" to stderr (--port 0 picks a free
    port), then where the database, the secret and the log are and what to type next. The database
    must be at the newest schema (`asteriskbill init`).

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
    engine = app.engine  # refused unless `asteriskbill init` made it at this code's schema
    # the settings in effect, so that an error (the port is taken) names the address really used
    app.settings = settings = app.settings.replace(
        fastagi_host=host, fastagi_port=port, web_host=web_host, web_port=web_port
    )
    followed = servers.servers(engine, settings)
    runtime.run(
        engine,
        settings,
        ready=lambda fastagi, console: click.echo(banner(settings, fastagi, console, followed, verbose), err=True),
        web=not no_web,
    )


def banner(settings: Settings, address: str, console: str | None, followed: list[AriServer], verbose: bool) -> str:
    """What `serve` says once it listens: where everything is, and what to type next."""
    me = invoked_as()
    secret = settings.secret_file + ("" if os.path.exists(settings.secret_file) else " (created on first need)")
    if followed:
        ari = "following " + ", ".join(f"{s.name} ({s.shown_url})" for s in followed)
        after = f"{me} status"
    else:
        ari = "no Asterisk server configured: calls are authorized but NOT settled"
        after = f"{me} servers add pbx1 --ari-url http://127.0.0.1:8088 --ari-user asteriskbill --ari-password SECRET"
    lines = [
        f"asteriskbill serving FastAGI on {address}",
        f"  database  {explain.shown_url(settings.db)}",
        f"  secret    {secret}",
        f"  log       this terminal (stderr){'' if verbose else '; -v logs every settled call'}",
        f"  FastAGI   AGI(agi://{address}/card), AGI(agi://{address}/ext) and AGI(agi://{address}/in)",
        f"  ARI       {ari}",
        f"  console   {console_line(console)}",
        f"  next      {after}  (in another terminal)",
    ]
    return "\n".join(lines)


def invoked_as() -> str:
    """How to type this asteriskbill again: its name if PATH finds it, else the path it was started by."""
    found = shutil.which("asteriskbill")
    if found and os.path.realpath(found) == os.path.realpath(sys.argv[0]):
        return "asteriskbill"
    if os.path.basename(sys.argv[0]) == "asteriskbill":
        return sys.argv[0]
    return f"{sys.executable} -m asteriskbill.cli"


COMMANDS = [serve]
