"""`serve` on one CPU: its event loop (every AGI session, ARI event and console page), its database writer
(store/writer.py) and its other threads.

The event loop and the writer take turns at Python's one interpreter lock several times per call. On two CPUs
every turn carried the objects they share from one CPU's cache to the other's, and both threads ran at about
half speed: on 2 cores, FastAGI `ext` authorizations went from about 1,750/s with the threads spread to about
3,000/s with them on one CPU (bench/bench_authorize.py). The interpreter lock lets serve's Python use one CPU at a
time anyway; what one CPU costs is only work done without it alongside (SQLite running a long report's query).
The serve_cpu setting: "auto" (the CPU `serve` starts on; nothing when the process may use one CPU only),
"off", or a CPU's number.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

log = logging.getLogger("asteriskbill.serve")
AUTO, OFF = "auto", "off"


def allowed() -> set[int] | None:
    """The CPUs the calling thread may run on; None where the system cannot pin threads (not Linux)."""
    if not hasattr(os, "sched_setaffinity"):
        return None
    return os.sched_getaffinity(0)


@contextmanager
def one_cpu(setting: str) -> Iterator[int | None]:
    """``pin`` for the block: the calling thread may run where it could before once it ends."""
    before = allowed()
    cpu = pin(setting)
    try:
        yield cpu
    finally:
        if cpu is not None and before is not None:
            os.sched_setaffinity(0, before)


def pin(setting: str) -> int | None:
    """Keep the calling thread, and the threads it starts from now on, on the CPU ``setting`` names; returns it,
    or None when nothing was pinned."""
    cpus = allowed()
    if setting == OFF or cpus is None or (setting == AUTO and len(cpus) < 2):
        return None
    cpu = _running_on() if setting == AUTO else int(setting)
    if cpu is None or cpu not in cpus:
        return None
    try:
        os.sched_setaffinity(0, {cpu})
    except OSError as exc:  # a container may refuse it: the threads run where the system puts them
        log.warning("serve could not keep to CPU %d: %s", cpu, exc)
        return None
    return cpu


def _running_on() -> int | None:
    """The CPU the calling thread runs on (field 39 of /proc/thread-self/stat)."""
    try:
        stat = Path("/proc/thread-self/stat").read_text()
    except OSError:
        return None
    return int(stat.rpartition(")")[2].split()[36])
