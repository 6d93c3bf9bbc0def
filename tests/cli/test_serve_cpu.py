"""`serve` keeps to one CPU (asteriskbill/affinity.py): its event loop and its writer took turns at the interpreter
lock from two CPUs, each turn carrying their objects between the CPUs' caches. The serve_cpu setting chooses."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest

from asteriskbill import affinity
from tests.helpers.serve import serve_process

CPUS = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else []
pytestmark = pytest.mark.skipif(len(CPUS) < 2, reason="needs Linux and two CPUs to choose from")


def _allowed(pid: int) -> dict[int, set[int]]:
    """Each thread of the process ``pid``: the CPUs it may run on."""
    found = {}
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            status = (task / "status").read_text()
        except FileNotFoundError:  # a thread that just ended
            continue
        listed = status.split("Cpus_allowed_list:")[1].split()[0]
        found[int(task.name)] = _cpu_list(listed)
    return found


def _cpu_list(listed: str) -> set[int]:
    """ "0-1,3" -> {0, 1, 3}"""
    cpus: set[int] = set()
    for part in listed.split(","):
        low, _, high = part.partition("-")
        cpus.update(range(int(low), int(high or low) + 1))
    return cpus


def test_serve_runs_every_thread_on_one_cpu(sqlite_url, tmp_path):
    log = tmp_path / "serve.log"
    with serve_process(sqlite_url, log) as (process, _port, _console):
        threads = _allowed(process.pid)
    assert len(threads) >= 3  # the event loop, the writer, the console's and the catalog's
    (cpu,) = {frozenset(cpus) for cpus in threads.values()}  # every one the same
    assert len(cpu) == 1 and set(cpu) <= set(CPUS)
    assert f"serve runs on CPU {min(cpu)}" in log.read_text()


def test_serve_cpu_names_the_cpu_or_turns_it_off(sqlite_url, tmp_path):
    log = tmp_path / "serve.log"
    last = CPUS[-1]
    with serve_process(sqlite_url, log, serve_cpu=str(last)) as (process, _port, _console):
        assert set(map(frozenset, _allowed(process.pid).values())) == {frozenset({last})}
    with serve_process(sqlite_url, log, serve_cpu="off") as (process, _port, _console):
        assert set(map(frozenset, _allowed(process.pid).values())) == {frozenset(CPUS)}
    assert "serve runs on any CPU" in log.read_text()


def test_one_cpu_holds_for_the_block_and_the_threads_started_in_it():
    seen: dict[str, object] = {}

    def pinned_here() -> None:  # in a thread of its own: the test's own thread is never pinned
        with affinity.one_cpu(affinity.AUTO) as cpu:
            seen["cpu"], seen["inside"] = cpu, os.sched_getaffinity(0)
            child = threading.Thread(target=lambda: seen.update(child=os.sched_getaffinity(0)))
            child.start()
            child.join()
        seen["after"] = os.sched_getaffinity(0)

    worker = threading.Thread(target=pinned_here)
    worker.start()
    worker.join()
    assert seen["cpu"] in CPUS
    assert seen["inside"] == seen["child"] == {seen["cpu"]}
    assert seen["after"] == set(CPUS)
