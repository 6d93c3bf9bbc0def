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


class Console:
    """The console bound to its address (bound at once: a port taken is told before anything starts) and its
    server, run inside a loop someone else owns and stopped by ``stop()``."""

    def __init__(self, engine: Engine, settings: Settings):
        self.socket = bind(settings.web_host, settings.web_port)
        config = uvicorn.Config(
            create_app(engine, settings),
            lifespan="off",
            log_level="warning",
            access_log=False,
            timeout_graceful_shutdown=SHUTDOWN_GRACE,
            server_header=False,
        )
        self.server = ConsoleServer(config)

    @property
    def address(self) -> str:
        host, port = self.socket.getsockname()[:2]
        return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"

    async def start(self) -> asyncio.Task:
        """The task serving the console, once it answers (its error, if it ended at once, is raised)."""
        task = asyncio.create_task(self.server.serve(sockets=[self.socket]))
        while not self.server.started and not task.done():
            await asyncio.sleep(0.01)
        if task.done():
            task.result()
        return task

    def stop(self) -> None:
        """Ends the task of ``start`` within SHUTDOWN_GRACE (open pages' event streams are cut)."""
        self.server.should_exit = True


def run_alone(console: Console) -> None:
    """Serve ``console`` until SIGINT or SIGTERM (`asteriskbill web`)."""

    async def main() -> None:
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, console.stop)
        await (await console.start())

    asyncio.run(main())
