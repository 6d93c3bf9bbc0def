"""One AGI session from the first byte to the close, the same for FastAGI and agi-bin scripts.

A ``Session`` is the connection's asyncio protocol: bytes are decoded as they arrive and each reply goes straight
to the command awaiting it, with no reader task and no stream buffer in between; the environment block starts the
application's task. A hot FastAGI server runs thousands of these a second, so a session costs one task, one
decoder, one channel and no timer of its own (agi/deadlines.py).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from asteriskbill import dialplan
from asteriskbill.agi.channel import REPLY_TIMEOUT, Channel, log
from asteriskbill.agi.deadlines import NONE, Deadlines
from asteriskbill.agi.protocol import AgiError, CallerHangup, ConnectionClosed, Decoder, Env, ProtocolError

App = Callable[[Channel, Env], Awaitable[None]]
STATUS_VARIABLE = dialplan.STATUS
REPORT_TIMEOUT = 5.0

# How a session ended: the application returned on a live channel / the channel hung up / it failed.
DONE, HANGUP, ERROR = "done", "hangup", "error"


class Session(asyncio.Protocol):
    """Read the environment within ``env_timeout`` (slow or garbage peers are dropped holding nothing), run the
    application ``choose(env)`` picks (each reply due within ``reply_timeout``), then close, waiting up to
    ``linger`` for Asterisk's trailing HANGUP and EOF. ``on_end(session, outcome)`` is called once, with DONE,
    HANGUP or ERROR, when the session is over. Commands go to ``output`` when given (agi-bin writes to stdout and
    reads stdin), else to the connection itself."""

    def __init__(
        self,
        choose: Callable[[Env], App],
        *,
        env_timeout: float,
        reply_timeout: float = REPLY_TIMEOUT,
        linger: float = 0.0,
        status_variable: str = STATUS_VARIABLE,
        where: str = "",
        output: asyncio.WriteTransport | None = None,
        on_end: Callable[[Session, str], None] | None = None,
    ):
        self.where = where
        self.channel: Channel | None = None
        self.task: asyncio.Task[None] | None = None
        self._choose, self._env_timeout, self._reply_timeout = choose, env_timeout, reply_timeout
        self._linger, self._status_variable = linger, status_variable
        self._output, self._on_end = output, on_end
        self._transport: asyncio.ReadTransport | None = None
        self._decoder = Decoder()
        self.deadline = NONE  # for the environment, watched by the loop's Deadlines until it is read
        self._deadlines: Deadlines | None = None
        self._ended = False

    # -- asyncio's calls ----------------------------------------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.ReadTransport)  # a socket, or stdin's read pipe (agi-bin)
        self._transport = transport
        loop = self._loop = asyncio.get_running_loop()
        self.deadline = loop.time() + self._env_timeout
        self._deadlines = Deadlines.of(loop)
        self._deadlines.watch(self)

    def data_received(self, data: bytes) -> None:
        try:
            events = self._decoder.feed(data)
        except ProtocolError as exc:
            self._broken(exc)
            return
        channel = self.channel
        if channel is None:
            if not events:
                return
            env, *events = events
            assert isinstance(env, Env)  # the decoder yields the environment first
            channel = self._start(env)
        for event in events:
            channel.dispatch(event)

    def eof_received(self) -> None:
        self._input_ended(ConnectionClosed("Asterisk closed the connection"))

    def connection_lost(self, exc: Exception | None) -> None:
        if self._transport is not None:  # else refused before it began
            self._input_ended(ConnectionClosed(f"connection lost: {exc}" if exc else "Asterisk closed the connection"))

    # -- the session ----------------------------------------------------------------------------------------
    def cancel(self) -> None:
        """Stop the session: the application's task is cancelled (its abort hooks run), a peer still sending its
        environment is cut off."""
        if self.task is not None:
            self.task.cancel()
        elif self._transport is not None:
            self._end(ERROR)

    def _start(self, env: Env) -> Channel:
        assert self._transport is not None and self._deadlines is not None
        self._deadlines.forget(self)
        output = self._output or self._transport
        assert isinstance(output, asyncio.WriteTransport)
        channel = self.channel = Channel(env, output, self._reply_timeout)
        self.task = self._loop.create_task(self._run(self._choose(env), channel))
        return channel

    async def _run(self, app: App, channel: Channel) -> None:
        outcome = ERROR
        try:
            outcome = await run_app(app, channel, self._status_variable)
            await channel.close(self._linger)
        except Exception:
            log.exception("AGI session from %s failed", self.where)
        finally:  # also when cancelled, or failed before closing
            channel.shut()
            self._end(outcome)

    def _input_ended(self, error: ConnectionClosed) -> None:
        if self.channel is not None:
            self.channel.input_ended(error)
        elif not self._ended:
            # a connection closed before its first byte is a port check (`asteriskbill status`), not a fault
            self._drop(str(error), quiet=not self._decoder.pending)

    def _broken(self, exc: ProtocolError) -> None:
        assert self._transport is not None
        self._transport.pause_reading()  # a peer that is not AGI is read no further
        if self.channel is not None:
            self.channel.give_up(f"protocol error: {exc}")
        elif not self._ended:
            self._drop(str(exc))

    def expired(self) -> None:
        """The environment did not come in time."""
        self._drop(f"no complete environment within {self._env_timeout:g} s")

    def _drop(self, reason: str, quiet: bool = False) -> None:
        log.log(logging.INFO if quiet else logging.WARNING, "AGI peer %s dropped: %s", self.where, reason)
        self._end(ERROR)

    def _end(self, outcome: str) -> None:
        """Close the connection (closing twice is harmless) and report the outcome, once."""
        assert self._transport is not None and self._deadlines is not None
        self._deadlines.forget(self)
        self._transport.close()
        if self._output is not None:
            self._output.close()
        if not self._ended:
            self._ended = True
            if self._on_end is not None:
                self._on_end(self, outcome)


async def run_app(app: App, channel: Channel, status_variable: str = STATUS_VARIABLE) -> str:
    """Run ``app``; on a hang-up, an error or cancellation run the channel's abort hooks.

    An exception is logged with its traceback and ``status_variable`` is set to ``ERROR`` (SET VARIABLE
    works even on a dead channel), so the dialplan never dials on the strength of a half-done session."""
    outcome = ERROR
    try:
        await app(channel, channel.env)
        outcome = HANGUP if channel.hung_up else DONE
    except CallerHangup as exc:
        log.info("%s: the call ended during the AGI (%s)", channel.env.channel, exc)
        outcome = HANGUP
    except Exception:
        log.exception("AGI application %r failed on %s", channel.env.script, channel.env.channel)
        await report_status(channel, status_variable, "ERROR")
    finally:
        if outcome != DONE:
            await channel.run_abort_hooks()
    return outcome


async def report_status(channel: Channel, variable: str, value: str) -> None:
    """Best effort: leave ``variable=value`` for the dialplan unless the connection is already gone."""
    if channel.closed:
        return
    try:
        await asyncio.wait_for(channel.set_variable(variable, value), REPORT_TIMEOUT)
    except (TimeoutError, AgiError):
        log.warning("could not set %s=%s on %s", variable, value, channel.env.channel)
