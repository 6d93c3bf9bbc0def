"""AGI: FastAGI sessions with 50 concurrent channels over real TCP, and agi-bin start-up time.

(a) The FastAGI server runs in its own forked process (as in production) and is loaded by the lean fake Asterisk
(bench/lean_asterisk.py: ~0.2 ms of CPU per session, mostly the kernel's TCP, where the Python fake Asterisk of
agi/peer.py took 0.4-0.6 ms and starved the server on two cores). Each figure is printed beside its bound,
measured in the same run with the same driver, runs interleaved, the median of ``RUNS``: by default a bare session
(an app doing the ``ext`` app's six SET VARIABLEs) beside a bare asyncio line server doing the same round trips
(bench/agi_bounds.py). ``fastagi_rows(make_apps, session, ..., bound=...)`` measures any apps (built in the
server process by ``make_apps``, so a writer thread of `serve` lives there too) against any bound server, e.g.
the ``ext`` authorization against the raw-SQL group-commit bound (bench/bench_authorize.py).
(b) Time from spawning an agi-bin style script to its first AGI command line (bench/agi_startup.py).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from asteriskbill.agi.channel import Channel
from asteriskbill.agi.peer import Asterisk, Call
from asteriskbill.agi.protocol import Env
from asteriskbill.agi.session import App
from bench.agi_bounds import line_server
from bench.agi_startup import startup_rows
from bench.common import Row
from bench.lean_asterisk import CONCURRENCY, Load, StartServer, measure, server_process

SESSIONS = 5000
RUNS = 3
OK = b"SET VARIABLE BILL_STATUS OK\n"  # how every measured session must end


async def trivial_app(channel: Channel, env: Env) -> None:
    """The ``ext`` app's round trips with no work: BILL_SESSION, _MAX_MS, _DIAL, _NUMBER, a hard limit, the status."""
    for name in ("BILL_SESSION", "BILL_MAX_MS", "BILL_DIAL", "BILL_NUMBER", "BILL_HARD_LIMIT"):
        await channel.set_variable(name, env.uniqueid)
    await channel.set_variable("BILL_STATUS", "OK")


def trivial_apps() -> dict[str, App]:
    return {"card": trivial_app}


def trivial_session(n: int) -> Call:
    return Call(uniqueid=f"1.{n}")


def fastagi_server(make_apps: Callable[[], Mapping[str, App]]) -> StartServer:
    """asteriskbill's FastAGI server, its apps made by ``make_apps`` in the server's process and loop."""

    async def start() -> int:
        from asteriskbill.agi.server import start_server

        server = await start_server(make_apps(), port=0)
        return server.address[1]

    return start


def fastagi_rows(
    make_apps: Callable[[], Mapping[str, App]] = trivial_apps,
    session: Callable[[int], Call] = trivial_session,
    sessions: int = SESSIONS,
    name: str = "bare session (6 SET VARIABLE, no work)",
    *,
    bound: StartServer | None = None,
    bound_name: str = "bare asyncio line server, same round trips",
) -> list[Row]:
    """Sessions/s and server CPU per session of asteriskbill's FastAGI server running ``make_apps()`` for the calls
    ``session(n)`` (each must end with BILL_STATUS=OK), beside ``bound`` (default: the bare line server doing as
    many round trips as the apps do)."""
    envs = [_env(session(n)) for n in range(sessions)]
    with server_process(fastagi_server(make_apps)) as ours:
        measure(ours, envs[: CONCURRENCY * 4], OK)  # warm up (imports, caches, the database's pages)
        commands = round(measure(ours, envs[: CONCURRENCY * 4], OK).per_session)
        with server_process(bound or line_server(commands)) as theirs:
            measure(theirs, envs[: CONCURRENCY * 4], OK)
            runs = [(measure(ours, envs, OK), measure(theirs, envs, OK)) for _ in range(RUNS)]
    ours_load, bound_load = (_median([run[side] for run in runs]) for side in (0, 1))
    share = ours_load.per_second / bound_load.per_second
    where = f"FastAGI, {CONCURRENCY} channels, real TCP, lean driver"
    return [
        Row(
            where,
            f"{name}: sessions/s",
            f"{ours_load.per_second:,.0f} sessions/s",
            f"bound: {bound_name}: {bound_load.per_second:,.0f}/s (= {share:.0%});"
            f" {sessions} sessions of {ours_load.per_session:.1f} commands, median of {RUNS}",
        ),
        Row(
            where,
            f"{name}: server CPU per session",
            f"{ours_load.server_ms:.3f} ms",
            f"bound: {bound_load.server_ms:.3f} ms; the driver's own CPU: {ours_load.driver_ms:.3f} ms per session",
        ),
    ]


def _env(call: Call) -> bytes:
    return Asterisk(call).env(f"agi://127.0.0.1:4573/{call.script}", call.script)


def _median(loads: list[Load]) -> Load:
    """The run of median rate (its CPU figures come with it)."""
    return sorted(loads, key=lambda load: load.per_second)[len(loads) // 2]


def run() -> list[Row]:
    return fastagi_rows() + startup_rows()
