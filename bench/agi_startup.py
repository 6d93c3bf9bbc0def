"""agi-bin start-up: process start -> first AGI command line, the script spawned on real pipes by the fake
Asterisk, beside the bound measured in the same run, interleaved start by start: a bare interpreter that reads
the environment block and writes ANSWER.

Without a database, a minimal agi-bin script on asteriskbill.agi.stdio. With one (``startup_rows(db, call)``,
``call`` a call the database authorizes), the real agi-bin/asteriskbill-ext: relayed to a running
`asteriskbill serve` (agi/relay.py), and in this process when no server answers (the fallback).
"""

from __future__ import annotations

import asyncio
import os
import re
import resource
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import partial
from pathlib import Path

from asteriskbill.agi.peer import Call, Outcome, call_fastagi, call_process
from bench.common import Row

STARTS = 15
AGI_BIN = Path(__file__).resolve().parents[1] / "agi-bin"
Run = Callable[[], float]  # one start, its milliseconds
READY = re.compile(r"serving FastAGI on (\S+):(\d+)")
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


def _first_command_ms(argv: list[str], call: Call, environ: dict[str, str] | None = None) -> float:
    """Spawning the script -> its first command line."""
    return _ms_to_first_command(asyncio.run(call_process(call, argv, environ=environ)), "*")


def _server_ms(port: int, call: Call) -> float:
    """The server's share: the environment block sent over FastAGI -> the first command line."""
    return _ms_to_first_command(asyncio.run(call_fastagi(call, "127.0.0.1", port)), "<")


def _ms_to_first_command(outcome: Outcome, start: str) -> float:
    began = next(line.at for line in outcome.lines if line.direction == start)
    first = next(line.at for line in outcome.lines if line.direction == ">")
    return (first - began) * 1000


def _medians(runs: dict[str, Run], starts: int) -> dict[str, float]:
    """Each run's median over ``starts`` starts, the runs taking turns so that a noisy moment hits them all; and
    as "<name> cpu" the mean CPU milliseconds of the processes it started, which a busy machine inflates less."""
    times: dict[str, list[float]] = {name: [] for name in runs}
    cpu = dict.fromkeys(runs, 0.0)
    for _ in range(starts):
        for name, run in runs.items():
            before = _children_cpu()
            times[name].append(run())
            cpu[name] += _children_cpu() - before
    medians = {name: statistics.median(values) for name, values in times.items()}
    return medians | {f"{name} cpu": seconds * 1000 / starts for name, seconds in cpu.items()}


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


@contextmanager
def _serving(db: str, folder: Path) -> Iterator[int]:
    """`asteriskbill serve` on ``db`` (FastAGI on a free port, no console): its port once it listens."""
    log = folder / "serve.log"
    with log.open("w") as stderr:
        server = subprocess.Popen(
            [sys.executable, "-m", "asteriskbill.cli", "--db", db, "serve", "--port", "0", "--no-web"],
            stdout=subprocess.DEVNULL,
            stderr=stderr,
        )
    try:
        deadline = time.monotonic() + 60
        while not (found := READY.search(log.read_text())):
            if server.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"serve did not start: {log.read_text()}")
            time.sleep(0.05)
        yield int(found.group(2))
    finally:
        server.terminate()
        server.wait(30)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _relay_environ(db: str, port: int) -> dict[str, str]:
    fastagi = {"ASTERISKBILL_FASTAGI_HOST": "127.0.0.1", "ASTERISKBILL_FASTAGI_PORT": str(port)}
    return {**os.environ, "ASTERISKBILL_DB": db, **fastagi}


def startup_rows(db: str | None = None, call: Call | None = None, starts: int = STARTS) -> list[Row]:
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        (folder / "bare").write_text(BARE)
        bare = partial(_first_command_ms, [sys.executable, str(folder / "bare")], Call())
        if db is not None:
            return _agi_bin_rows(db, call or Call(script="ext"), bare, folder, starts)
        (folder / "minimal").write_text(MINIMAL)
        minimal = partial(_first_command_ms, [sys.executable, str(folder / "minimal")], Call())
        return [
            _row(
                "minimal agi-bin script on asteriskbill.agi.stdio",
                starts,
                _medians({"bare": bare, "ours": minimal}, starts),
            )
        ]


def _agi_bin_rows(db: str, call: Call, bare: Run, folder: Path, starts: int) -> list[Row]:
    script = [str(AGI_BIN / "asteriskbill-ext")]
    with _serving(db, folder) as port:
        _server_ms(port, call)  # serve's first authorization warms it
        relay = partial(_first_command_ms, script, call, _relay_environ(db, port))
        relayed = _medians({"bare": bare, "ours": relay, "serve": partial(_server_ms, port, call)}, starts)
    alone = partial(_first_command_ms, script, call, _relay_environ(db, _free_port()))
    serve_share = f"; of it serve's authorization (env -> first command over FastAGI): {relayed['serve']:.0f} ms"
    return [
        _row("agi-bin/asteriskbill-ext relayed to a running serve", starts, relayed, serve_share),
        _row(
            "agi-bin/asteriskbill-ext, no server answering: in this process",
            starts,
            _medians({"bare": bare, "ours": alone}, starts),
        ),
    ]


def _row(what: str, starts: int, medians: dict[str, float], more: str = "") -> Row:
    return Row(
        "agi-bin start-up",
        f"process start -> first AGI command ({what})",
        f"{medians['ours']:.0f} ms",
        f"medians of {starts}, interleaved; bound: bare python reading the env, writing ANSWER "
        f"{medians['bare']:.0f} ms{more}; CPU per start {medians['ours cpu']:.0f} ms, bare's "
        f"{medians['bare cpu']:.0f} ms",
    )
