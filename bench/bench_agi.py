"""AGI: FastAGI round trips with 50 concurrent channels over real TCP, and agi-bin start-up time.

(a) The FastAGI server runs in its own process (as in production); the fake Asterisk drives sessions
from this one. ``fastagi_rows(app, session)`` takes any app and any ``Call`` factory, so the real
authorization app can be measured the same way later. The bound is a bare asyncio line server in the
same set-up answering every line at once (no AGI codec, no app), driven by the same clients.
(b) Time from spawning an agi-bin style script to its first AGI command line, under the fake Asterisk;
the bound is a bare interpreter that reads the environment and writes ANSWER.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from multiprocessing.process import BaseProcess
from pathlib import Path

from asteriskbill.agi.channel import Channel
from asteriskbill.agi.peer import Call, call_fastagi, call_process
from asteriskbill.agi.protocol import Env
from asteriskbill.agi.session import App
from bench.common import Row

CONCURRENCY = 50
SESSIONS = 5000
STARTS = 15


async def trivial_app(channel: Channel, env: Env) -> None:
    """Five round trips, the shape of an authorization: answer, two inputs, two variables."""
    await channel.answer()
    number = await channel.get_data("enter-card", 5000, 16)
    await channel.stream_file("you-have", "#")
    await channel.set_variable("BILL_NUMBER", number.digits)
    await channel.set_variable("BILL_STATUS", "OK")


def trivial_session(n: int) -> Call:
    return Call(keys=[f"{4000 + n}#"], uniqueid=f"1.{n}")


# -- the servers, each in a forked process ----------------------------------------------------------------
def _fastagi_server(apps: dict[str, App], ready) -> None:
    from asteriskbill.agi.server import start_server

    async def main() -> None:
        server = await start_server(apps, port=0)
        ready.send(server.address[1])
        await server.serve_forever()

    asyncio.run(main())


def _echo_server(ready) -> None:
    """The bound: reads lines, answers each command line with '200 result=0' at once."""

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        in_env = True
        try:
            while line := await reader.readline():
                if in_env:
                    in_env = line != b"\n"
                    if not in_env:
                        writer.write(b"ANSWER\n")
                elif line.startswith(b"200"):
                    writer.write(b"NOOP\n")
        except ConnectionResetError:  # the client closes after its last reply, as Asterisk does
            pass
        writer.close()

    async def main() -> None:
        server = await asyncio.start_server(handle, "127.0.0.1", 0)
        ready.send(server.sockets[0].getsockname()[1])
        await server.serve_forever()

    asyncio.run(main())


def _in_process(target: Callable, *args) -> tuple[BaseProcess, int]:
    context = multiprocessing.get_context("fork")
    here, there = context.Pipe()
    process = context.Process(target=target, args=(*args, there), daemon=True)
    process.start()
    port: int = here.recv()
    return process, port


# -- the drivers ------------------------------------------------------------------------------------------
async def _drive(port: int, session: Callable[[int], Call], sessions: int) -> tuple[float, int]:
    queue = iter(range(sessions))
    commands = 0

    async def worker() -> None:
        nonlocal commands
        for n in queue:
            outcome = await call_fastagi(session(n), "127.0.0.1", port)
            if outcome.agistatus != "SUCCESS":
                raise RuntimeError(f"session {n} ended {outcome.agistatus}:\n{outcome.transcript()}")
            commands += len(outcome.commands)

    began = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(CONCURRENCY)))
    return time.perf_counter() - began, commands


async def _drive_bound(port: int, sessions: int, per_session: int) -> float:
    """Same connections and round trips against the bare line server, with a raw client."""
    queue = iter(range(sessions))
    block = b"agi_network: yes\nagi_network_script: card\nagi_request: agi://127.0.0.1/card\n\n"

    async def worker() -> None:
        for _ in queue:
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.write(block)
            for _ in range(per_session):
                await reader.readline()
                writer.write(b"200 result=0\n")
            writer.close()

    began = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(CONCURRENCY)))
    return time.perf_counter() - began


def fastagi_rows(
    app: App = trivial_app,
    session: Callable[[int], Call] = trivial_session,
    sessions: int = SESSIONS,
    name: str = "trivial app, 5 commands",
) -> list[Row]:
    server, port = _in_process(_fastagi_server, {"card": app})
    try:
        asyncio.run(_drive(port, session, CONCURRENCY))  # warm up
        cpu = _cpu_seconds(server)
        seconds, commands = asyncio.run(_drive(port, session, sessions))
        cpu = _cpu_seconds(server) - cpu
    finally:
        server.kill()
    bound_server, bound_port = _in_process(_echo_server)
    try:
        per_session = commands // sessions
        bound = asyncio.run(_drive_bound(bound_port, sessions, per_session))
    finally:
        bound_server.kill()
    return [
        Row(
            "FastAGI, 50 channels, real TCP",
            f"sessions ({name})",
            f"{sessions / seconds:,.0f} sessions/s",
            f"{sessions} sessions; server in its own process, fake Asterisk (Python) in this one",
        ),
        Row(
            "FastAGI, 50 channels, real TCP",
            "command round trips",
            f"{commands / seconds:,.0f} round trips/s",
            f"bound: bare asyncio line server + raw client, same pattern: {sessions * per_session / bound:,.0f}/s",
        ),
        Row(
            "FastAGI, 50 channels, real TCP",
            "server CPU per session",
            f"{cpu / sessions * 1000:.2f} ms",
            f"= {sessions / cpu:,.0f} sessions/s per core for the server alone; the Python client is the limit",
        ),
    ]


def _cpu_seconds(process: BaseProcess) -> float:
    """User + system CPU of a live process (Linux /proc)."""
    assert process.pid is not None  # started
    fields = Path(f"/proc/{process.pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


# -- agi-bin start-up -------------------------------------------------------------------------------------
MINIMAL = """\
from asteriskbill.agi.stdio import main

async def app(channel, env):
    await channel.answer()

main(app)
"""
BARE = """\
import sys
for line in sys.stdin:
    if line == "\\n":
        break
sys.stdout.write("ANSWER\\n"); sys.stdout.flush()
sys.stdin.readline()
"""


def _first_command_ms(script: Path) -> float:
    outcome = asyncio.run(call_process(Call(), [sys.executable, str(script)]))
    spawned = next(line.at for line in outcome.lines if line.direction == "*")
    first = next(line.at for line in outcome.lines if line.direction == ">")
    return (first - spawned) * 1000


def startup_rows(script: Path | None = None, starts: int = STARTS) -> list[Row]:
    with tempfile.TemporaryDirectory() as folder:
        minimal, bare = Path(folder, "minimal"), Path(folder, "bare")
        minimal.write_text(MINIMAL)
        bare.write_text(BARE)
        measured = script or minimal
        ours = statistics.median(_first_command_ms(measured) for _ in range(starts))
        bound = statistics.median(_first_command_ms(bare) for _ in range(starts))
    what = script.name if script else "minimal agi-bin script on asteriskbill.agi.stdio"
    return [
        Row(
            "agi-bin start-up",
            f"process start -> first AGI command ({what})",
            f"{ours:.0f} ms",
            f"median of {starts}; bound: bare python reading the env, writing ANSWER: {bound:.0f} ms",
        )
    ]


def run() -> list[Row]:
    return fastagi_rows() + startup_rows()
