"""Process-per-call AGI: run an application over stdin/stdout (``AGI(/path/agi-bin/asteriskbill-card)``).

Asterisk signals a hang-up with SIGHUP and no line; Python's default action would kill the script before
it can leave ``BILL_STATUS`` or release a reservation, so SIGHUP is caught from the very start and turned
into ``channel.hung_up`` (commands then follow the dead-channel rules). Only the standard library is
imported here: an agi-bin script pays for every import on every call.

    # agi-bin/asteriskbill-card
    from asteriskbill.agi.stdio import main
    from mypackage import card_app
    main(card_app)
"""

from __future__ import annotations

import asyncio
import os
import signal
import stat
import sys
from typing import BinaryIO, NoReturn

from asteriskbill.agi.channel import REPLY_TIMEOUT, Channel
from asteriskbill.agi.protocol import Env
from asteriskbill.agi.session import ERROR, STATUS_VARIABLE, App, Session

ENV_TIMEOUT = 10.0  # Asterisk writes the environment at once; a script left waiting longer is orphaned


class _Sighup:
    """Remembers SIGHUP from process start; forwards it to the channel once there is one."""

    def __init__(self) -> None:
        self.received = False
        self.channel: Channel | None = None

    def __call__(self, *_: object) -> None:
        self.received = True
        if self.channel is not None:
            self.channel.notify_hangup()


class _Stdout(asyncio.Protocol):
    """Write side of stdout: ``closed`` once what was written is flushed and the pipe closed."""

    def __init__(self) -> None:
        self.closed = asyncio.get_running_loop().create_future()

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.closed.done():
            self.closed.set_result(None)


async def _run(
    app: App, stdin: BinaryIO, stdout: BinaryIO, sighup: _Sighup, status_variable: str, reply_timeout: float
) -> str:
    loop = asyncio.get_running_loop()
    output, stdout_protocol = await loop.connect_write_pipe(_Stdout, stdout)
    ended: asyncio.Future[str] = loop.create_future()

    async def with_sighup(channel: Channel, env: Env) -> None:
        sighup.channel = channel
        if sighup.received:
            channel.notify_hangup()
        await app(channel, env)

    session = Session(
        lambda env: with_sighup,
        env_timeout=ENV_TIMEOUT,
        reply_timeout=reply_timeout,
        status_variable=status_variable,
        where="stdin",
        output=output,
        on_end=lambda _, outcome: ended.set_result(outcome),
    )
    loop.add_signal_handler(signal.SIGHUP, sighup)
    await loop.connect_read_pipe(lambda: session, stdin)
    outcome = await ended
    await stdout_protocol.closed  # every command written reached the pipe
    return outcome


def run(
    app: App,
    *,
    stdin: BinaryIO | None = None,
    stdout: BinaryIO | None = None,
    status_variable: str = STATUS_VARIABLE,
    reply_timeout: float = REPLY_TIMEOUT,
) -> int:
    """Run ``app`` for the call on stdin/stdout; return the exit status (1 when the application failed,
    which Asterisk reports as ``AGISTATUS=FAILURE``; a caller hang-up is a normal end)."""
    sighup = _Sighup()
    signal.signal(signal.SIGHUP, sighup)
    stdin = stdin or os.fdopen(os.dup(0), "rb", buffering=0)
    stdout = stdout or os.fdopen(os.dup(1), "wb", buffering=0)
    problem = _not_from_asterisk(stdin, stdout)
    if problem:
        print(problem, file=sys.stderr)
        return 1
    try:
        outcome = asyncio.run(_run(app, stdin, stdout, sighup, status_variable, reply_timeout))
    finally:
        signal.signal(signal.SIGHUP, sighup)  # closing the loop reset SIGHUP to its deadly default
    return 1 if outcome == ERROR else 0


def _not_from_asterisk(stdin: BinaryIO, stdout: BinaryIO) -> str | None:
    """Asterisk talks to an AGI script over pipes; a regular file (``script < file``) is no call, and asyncio
    cannot wait on one anyway."""
    for name, stream in (("stdin", stdin), ("stdout", stdout)):
        mode = os.fstat(stream.fileno()).st_mode
        if not (stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode) or stat.S_ISCHR(mode)):
            return (
                f"AGI script: {name} is a file, not a pipe from Asterisk — run it from the dialplan, "
                "e.g. AGI(/path/to/agi-bin/asteriskbill-ext)"
            )
    return None


def main(app: App) -> NoReturn:
    """Entry point for an agi-bin script: run the call, exit with its status."""
    sys.exit(run(app))
