"""The console's HTTP server: uvicorn on a socket bound first, so a port already taken is told before anything runs."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import socket
from collections.abc import Iterator

import uvicorn
from sqlalchemy import Engine

from asteriskbill.settings import Settings
from asteriskbill.web.app import create_app

SHUTDOWN_GRACE = 2  # seconds for open pages (their live event streams never end by themselves)


class ConsoleServer(uvicorn.Server):
    """uvicorn inside `serve`'s event loop: `serve` handles SIGINT and SIGTERM, and stops it with should_exit."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


def bind(host: str, port: int) -> socket.socket:
    """A listening socket on ``host:port`` (port 0: any free port); an error is marked as the console's, so that
    explain.py names the web_host and web_port settings."""
    try:
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        return socket.create_server((host, port), family=family)
    except OSError as exc:
        exc.listening = "web"  # type: ignore[attr-defined]
        raise


def address(sock: socket.socket) -> str:
    host, port = sock.getsockname()[:2]
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def console(engine: Engine, settings: Settings) -> ConsoleServer:
    """The console's server, not started: ``await server.serve(sockets=[bind(...)])``, stopped by should_exit."""
    config = uvicorn.Config(
        create_app(engine, settings),
        lifespan="off",
        log_level="warning",
        access_log=False,
        timeout_graceful_shutdown=SHUTDOWN_GRACE,
        server_header=False,
    )
    return ConsoleServer(config)


def run_alone(engine: Engine, settings: Settings, sock: socket.socket) -> None:
    """Serve the console on ``sock`` until SIGINT or SIGTERM (`asteriskbill web`)."""

    async def main() -> None:
        server = console(engine, settings)
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, setattr, server, "should_exit", True)
        await server.serve(sockets=[sock])

    asyncio.run(main())
