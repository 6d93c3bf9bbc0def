"""CLI start-up: `asteriskbill --help` and a group's help, spawn to exit, beside a bare interpreter
(`python -c pass`) measured in the same run, start by start in turn so that a noisy moment hits them all."""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from bench.common import Row, timer

STARTS = 15
TARGET_MS = 250  # issue 12


def _command() -> list[str]:
    """The installed console script, as a person runs it; the module when there is none."""
    script = Path(sys.executable).with_name("asteriskbill")
    return [str(script)] if script.exists() else [sys.executable, "-m", "asteriskbill.cli"]


def _ms(argv: list[str], env: dict[str, str]) -> float:
    with timer() as elapsed:
        subprocess.run(argv, env=env, stdout=subprocess.DEVNULL, check=True)
    return elapsed() * 1000


def run() -> list[Row]:
    cli = _command()
    runs = {"bare": [sys.executable, "-c", "pass"], "help": [*cli, "--help"], "group": [*cli, "cards", "--help"]}
    times: dict[str, list[float]] = {name: [] for name in runs}
    with tempfile.TemporaryDirectory() as home:  # no config file of this machine's user is read
        env = {k: v for k, v in os.environ.items() if not k.startswith(("ASTERISKBILL_", "XDG_", "PYTHONDONTWRITE"))}
        # byte-code cached, as an installed package runs (pip compiles it), in a folder of its own, warmed below
        env |= {"HOME": home, "PYTHONPYCACHEPREFIX": str(Path(home) / "pycache")}
        for argv in runs.values():
            _ms(argv, env)
        for _ in range(STARTS):
            for name, argv in runs.items():
                times[name].append(_ms(argv, env))
    bare, shown, group = (statistics.median(times[name]) for name in runs)
    bound = f"bound: bare `python -c pass` {bare:.0f} ms; target <= {TARGET_MS} ms"
    return [
        Row("CLI start-up", f"`asteriskbill --help`, spawn to exit (median of {STARTS})", f"{shown:.0f} ms", bound),
        Row(
            "CLI start-up", f"`asteriskbill cards --help`, spawn to exit (median of {STARTS})", f"{group:.0f} ms", bound
        ),
    ]
