"""A lean fake Asterisk for load, and the forked server process it loads.

The fake Asterisk of asteriskbill/agi/peer.py parses and records every line: 0.4-0.6 ms of CPU per session,
as much as the server it drives, so on two cores it starves the server it measures. Here each session is a
socket on one epoll, no asyncio: it writes a prebuilt environment block, answers every command line
``200 result=1`` and, after the server's EOF, does what Asterisk does (a ``HANGUP`` line, then close). What it
received is kept only to check that each session ended as expected (e.g. ``SET VARIABLE BILL_STATUS OK``) and
to count commands.

The server runs in its own forked process, as in production; a ``StartServer`` is called inside that process's
running loop (so an app factory there builds its objects, threads and connections in the server process) and
returns the port it listens on. The server process reports its own CPU time (``time.process_time``, every
thread) and can profile its loop thread with cProfile on request.
"""

from __future__ import annotations

import asyncio
import contextlib
import cProfile
import multiprocessing
import selectors
import socket
import threading
import time
from collections.abc import Awaitable, Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from multiprocessing.connection import Connection

StartServer = Callable[[], Awaitable[int]]  # in the server's loop: listen on 127.0.0.1:0, return the port
HOST = "127.0.0.1"
REPLY = b"200 result=1\n"  # what Asterisk answers SET VARIABLE, ANSWER, VERBOSE...
HANGUP = b"HANGUP\n"  # Asterisk's trailing line after the AGI program's EOF (fast-halfclose.log)
CONCURRENCY = 50


@dataclass(frozen=True)
class Load:
    """One measured run: its sessions, wall time, command lines answered, and CPU seconds of each side."""

    sessions: int
    seconds: float
    commands: int
    server_cpu: float
    driver_cpu: float

    @property
    def per_second(self) -> float:
        return self.sessions / self.seconds

    @property
    def server_ms(self) -> float:
        """Server CPU per session, in milliseconds."""
        return self.server_cpu / self.sessions * 1000

    @property
    def driver_ms(self) -> float:
        return self.driver_cpu / self.sessions * 1000

    @property
    def per_session(self) -> float:
        """Commands (round trips) per session."""
        return self.commands / self.sessions


class SessionFailed(RuntimeError):
    """A session did not end as expected; the message holds what the server sent."""


# -- the server process ---------------------------------------------------------------------------------
class ServerProcess:
    """The forked server: its port, its CPU time, and cProfile of its loop thread."""

    def __init__(self, process: multiprocessing.process.BaseProcess, control: Connection, port: int):
        self.process, self._control, self.port = process, control, port

    def cpu(self) -> float:
        return self._ask("cpu")

    def profile(self, path: str | None) -> None:
        """Start profiling the server's loop thread; ``None``: stop and dump the profile to the last path given."""
        self._ask("profile", path)

    def _ask(self, *request: object) -> float:
        self._control.send(request)
        answer = self._control.recv()
        if isinstance(answer, BaseException):
            raise answer
        return float(answer)


@contextmanager
def server_process(start: StartServer) -> Iterator[ServerProcess]:
    """Fork a process running ``start`` in its own event loop until the block ends."""
    context = multiprocessing.get_context("fork")
    here, there = context.Pipe()
    process = context.Process(target=_serve, args=(start, there), daemon=True)
    process.start()
    try:
        answer = here.recv()
        if isinstance(answer, BaseException):
            raise answer
        yield ServerProcess(process, here, answer)
    finally:
        process.kill()
        process.join()


def _serve(start: StartServer, control: Connection) -> None:
    async def main() -> None:
        try:
            port = await start()
        except BaseException as exc:
            control.send(exc)
            raise
        control.send(port)
        loop = asyncio.get_running_loop()
        threading.Thread(target=_answer, args=(control, loop), daemon=True).start()
        await loop.create_future()  # until killed

    asyncio.run(main())


def _answer(control: Connection, loop: asyncio.AbstractEventLoop) -> None:
    """The control thread: answers CPU readings; starts and stops the profiler in the loop thread."""
    profiler: cProfile.Profile | None = None
    path = ""
    while True:
        request, *args = control.recv()
        try:
            if request == "cpu":
                control.send(time.process_time())
            elif args[0] is not None:
                path, profiler = args[0], cProfile.Profile()
                _in_loop(loop, profiler.enable)
                control.send(0.0)
            else:
                assert profiler is not None, "profiling was not started"
                _in_loop(loop, profiler.disable)
                profiler.dump_stats(path)
                control.send(0.0)
        except Exception as exc:
            control.send(exc)


def _in_loop(loop: asyncio.AbstractEventLoop, fn: Callable[[], None]) -> None:
    async def call() -> None:
        fn()

    asyncio.run_coroutine_threadsafe(call(), loop).result()


# -- the driver ---------------------------------------------------------------------------------------
def measure(server: ServerProcess, envs: Sequence[bytes], expect: bytes, concurrency: int = CONCURRENCY) -> Load:
    """Run one session per environment block, ``concurrency`` at a time; each must receive ``expect``."""
    server_cpu, driver_cpu = server.cpu(), time.process_time()
    began = time.perf_counter()
    commands = drive(server.port, envs, expect, concurrency)
    seconds = time.perf_counter() - began
    return Load(len(envs), seconds, commands, server.cpu() - server_cpu, time.process_time() - driver_cpu)


def drive(port: int, envs: Sequence[bytes], expect: bytes, concurrency: int = CONCURRENCY) -> int:
    """The sessions over real TCP, on non-blocking sockets and one epoll (no asyncio: ~0.12 ms of CPU per session,
    mostly the kernel's, where asyncio Protocols took ~0.2 ms); returns the command lines answered. Raises
    SessionFailed on the first session that does not receive ``expect``."""
    pending = iter(envs)
    commands = running = 0
    with selectors.DefaultSelector() as selector:

        def start() -> None:
            nonlocal running
            env = next(pending, None)
            if env is not None:
                sock = socket.socket()
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # as Asterisk and asyncio do
                sock.connect((HOST, port))  # at once on loopback: the kernel completes the handshake
                sock.setblocking(False)
                sock.send(env)
                selector.register(sock, selectors.EVENT_READ, [b""])  # what the server sent
                running += 1

        for _ in range(concurrency):
            start()
        while running:
            for key, _ in selector.select():
                sock, received = key.fileobj, key.data
                assert isinstance(sock, socket.socket)
                data = _recv(sock)
                if data:
                    received[0] += data
                    lines = data.count(b"\n")  # commands never hold a newline: each one is a command line ended
                    if lines:
                        sock.send(REPLY * lines)
                    continue
                _hang_up(sock)  # the server's EOF
                selector.unregister(sock)
                sock.close()
                running -= 1
                commands += received[0].count(b"\n")
                if expect not in received[0]:
                    raise SessionFailed(f"expected {expect!r}, the server sent:\n{received[0].decode()}")
                start()
    return commands


def _recv(sock: socket.socket) -> bytes:
    try:
        return sock.recv(65536)
    except ConnectionResetError:
        return b""


def _hang_up(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):  # a server that closed rather than half-closed: nothing to tell it
        sock.send(HANGUP)
