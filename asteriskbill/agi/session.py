"""One AGI session from the first byte to the close, the same for FastAGI and agi-bin scripts."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from asteriskbill import dialplan
from asteriskbill.agi.channel import REPLY_TIMEOUT, Channel, log, read_env
from asteriskbill.agi.protocol import AgiError, CallerHangup, ConnectionClosed, Decoder, Env, ProtocolError

App = Callable[[Channel, Env], Awaitable[None]]
STATUS_VARIABLE = dialplan.STATUS
REPORT_TIMEOUT = 5.0

# How a session ended: the application returned on a live channel / the channel hung up / it failed.
DONE, HANGUP, ERROR = "done", "hangup", "error"


async def serve(
    reader: asyncio.StreamReader,
    writer: asyncio.StreamWriter,
    choose: Callable[[Env], App],
    *,
    env_timeout: float,
    reply_timeout: float = REPLY_TIMEOUT,
    linger: float = 0.0,
    status_variable: str = STATUS_VARIABLE,
    where: str = "",
) -> str:
    """Read the environment within ``env_timeout`` (slow or garbage peers are dropped holding nothing),
    run the application ``choose(env)`` picks (each reply due within ``reply_timeout``), then close.
    Returns DONE, HANGUP or ERROR."""
    decoder = Decoder()
    try:
        env, early = await asyncio.wait_for(read_env(reader, decoder), env_timeout)
    except (TimeoutError, ProtocolError, ConnectionClosed, OSError) as exc:
        reason = (
            f"no complete environment within {env_timeout:g} s" if isinstance(exc, asyncio.TimeoutError) else str(exc)
        )
        # a connection closed before its first byte is a port check (`asteriskbill status`), not a fault
        quiet = isinstance(exc, ConnectionClosed) and not decoder.pending
        log.log(logging.INFO if quiet else logging.WARNING, "AGI peer %s dropped: %s", where, reason)
        writer.close()
        return ERROR
    channel = Channel(env, reader, writer, decoder, early, reply_timeout)
    try:
        return await run_app(choose(env), channel, status_variable)
    finally:
        await channel.close(linger)


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
