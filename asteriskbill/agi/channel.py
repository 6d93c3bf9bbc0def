"""The application's view of one call: ``async def app(channel, env)`` over any byte stream pair.

Rules learnt from the captures (tests/fixtures/asterisk/agi/):
- one command at a time: a line written while STREAM FILE / GET DATA runs aborts it without a reply, so
  commands are serialised by a lock and never pipelined;
- ``200 result=-1`` from a media command means hang-up *or* a missing prompt. A HANGUP already seen, or
  ``endpos`` > 0 (samples were played), means hang-up; otherwise one ``CHANNEL STATUS`` decides: ``511``
  -> ``CallerHangup``, an answer -> ``PromptMissing``. Asterisk's own log shows it writes ``HANGUP`` in
  the same millisecond as the ``-1`` (the ~40 ms gap seen on the wire is Nagle/delayed ACK), so the
  channel is already dead when the probe is read. Should a probe ever say "up" wrongly, the next media
  command gets 511 -> ``DeadChannel``, which is a ``CallerHangup`` too.
- after a hang-up media commands get 511 (``DeadChannel``) while SET/GET VARIABLE, VERBOSE, DATABASE,
  EXEC and NOOP still work: an application can always leave ``BILL_STATUS`` for the dialplan;
- the unsolicited ``HANGUP`` line (FastAGI) and SIGHUP (agi-bin) only mark the channel as hung up; they
  may arrive at any time, also after our last command. EOF fails the command in flight with
  ``ConnectionClosed``.
- every reply has a deadline: ``reply_timeout`` plus the time the command itself may wait for the caller
  (GET DATA's and WAIT FOR DIGIT's timeouts). A peer that misses it, or sends what is not AGI, is given up
  (``PeerGone``, one warning): the session ends as on a hang-up, so its abort hooks release what it holds.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass

from asteriskbill.agi.protocol import (
    Arg,
    CallerHangup,
    ConnectionClosed,
    Decoder,
    Env,
    Event,
    Hangup,
    PeerGone,
    PromptMissing,
    ProtocolError,
    Reply,
    Text,
    UnknownApplication,
    check,
    format_command,
)

log = logging.getLogger("asteriskbill.agi")

READ_SIZE = 64 * 1024
REPLY_TIMEOUT = 30.0  # the agi_reply_timeout setting's default
AbortHook = Callable[[], Awaitable[object] | None]  # a plain function, or an async one (its result is ignored)


@dataclass(frozen=True)
class Digits:
    """What GET DATA collected: ``timed_out`` when the caller stopped typing before '#' or the maximum."""

    digits: str
    timed_out: bool


async def read_env(reader: asyncio.StreamReader, decoder: Decoder) -> tuple[Env, list[Event]]:
    """Read until the environment block is complete; also return any events that came in the same reads."""
    while True:
        data = await reader.read(READ_SIZE)
        if not data:
            raise ConnectionClosed("connection closed before the AGI environment was complete")
        events = decoder.feed(data)
        if events:
            env = events[0]
            assert isinstance(env, Env)
            return env, events[1:]


class Channel:
    """The AGI commands an application uses, each awaiting its single reply."""

    def __init__(
        self,
        env: Env,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        decoder: Decoder,
        early: Iterable[Event] = (),
        reply_timeout: float = REPLY_TIMEOUT,
    ):
        self.env = env
        self.reply_timeout = reply_timeout
        self.hung_up = False  # Asterisk said the channel is gone (HANGUP, SIGHUP, 511, -1 confirmed)
        self.closed = False  # the connection ended: nothing more can be sent
        self.hangup_event = asyncio.Event()
        self._reader, self._writer, self._decoder = reader, writer, decoder
        self._lock = asyncio.Lock()
        self._waiting: asyncio.Future[Reply] | None = None
        self._stale = 0  # replies still owed to commands whose caller was cancelled
        self._abort_hooks: list[AbortHook] = []
        for event in early:
            self._dispatch(event)
        self._reading = asyncio.get_running_loop().create_task(self._read_loop())

    # -- lifecycle -------------------------------------------------------------------------------------
    def notify_hangup(self) -> None:
        """The channel hung up (HANGUP line, SIGHUP): commands keep working under dead-channel rules."""
        self.hung_up = True
        self.hangup_event.set()

    def on_abort(self, hook: AbortHook) -> None:
        """Run ``hook`` (plain or async) if the session ends by hang-up, error, cancellation or a broken
        connection rather than by the application returning on a live channel; e.g. release a reservation.
        Hooks run last-registered first, once, after the application has finished."""
        self._abort_hooks.append(hook)

    def forget_abort(self, hook: AbortHook) -> None:
        """``hook`` is no longer to run (e.g. the reservation is being handed to the dialplan)."""
        self._abort_hooks.remove(hook)

    async def run_abort_hooks(self) -> None:
        hooks, self._abort_hooks = self._abort_hooks[::-1], []
        for hook in hooks:
            try:
                outcome = hook()
                if outcome is not None:
                    await outcome
            except Exception:
                log.exception("abort hook %r failed on %s", hook, self.env.channel)

    async def close(self, linger: float = 0.0) -> None:
        """Say we are done (EOF); with ``linger`` wait that long for Asterisk's trailing HANGUP and close."""
        try:
            if linger and self._writer.can_write_eof() and not self.closed:
                self._writer.write_eof()
                await asyncio.wait_for(asyncio.shield(self._reading), linger)
        except (TimeoutError, OSError):
            pass
        finally:
            self._reading.cancel()
            self._writer.close()
            with contextlib.suppress(OSError):
                await self._writer.wait_closed()

    async def _read_loop(self) -> None:
        error: Exception = ConnectionClosed("Asterisk closed the connection")
        try:
            while data := await self._reader.read(READ_SIZE):
                for event in self._decoder.feed(data):
                    self._dispatch(event)
        except ProtocolError as exc:
            error = self._give_up(f"protocol error: {exc}")
        except OSError as exc:
            error = ConnectionClosed(f"connection lost: {exc}")
        self.closed = True
        self.notify_hangup()
        if self._waiting is not None and not self._waiting.done():
            self._waiting.set_exception(error)

    def _dispatch(self, event: Event) -> None:
        if isinstance(event, Hangup):
            self.notify_hangup()
        elif not isinstance(event, Reply):  # a second environment block: the decoder yields only one
            log.warning("unexpected AGI environment on %s: %r", self.env.channel, event)
        elif self._stale:
            self._stale -= 1
        elif self._waiting is not None and not self._waiting.done():
            self._waiting.set_result(event)
        else:
            log.warning("unexpected line from Asterisk on %s: %r", self.env.channel, event)

    def _give_up(self, reason: str) -> PeerGone:
        """End the session with a peer that broke the protocol: one warning, then no more commands."""
        log.warning("AGI peer of %s given up: %s", self.env.channel, reason)
        self.closed = True
        self.notify_hangup()
        return PeerGone(reason)

    # -- the generic command ---------------------------------------------------------------------------
    async def command(self, *words: Arg, wait: float = 0.0) -> Reply:
        """Send one command and return its ``200`` reply; 510/511/520 raise their typed errors. The reply is
        due within ``reply_timeout`` plus ``wait``, the time the command may spend waiting for the caller."""
        line = format_command(words)
        async with self._lock:
            if self.closed:
                raise ConnectionClosed(f"cannot send {words[0]}: the connection is closed")
            waiting = self._waiting = asyncio.get_running_loop().create_future()
            deadline = self.reply_timeout + wait
            try:
                self._writer.write(line)
                async with asyncio.timeout(deadline):
                    await self._writer.drain()
                    reply = await waiting
            except TimeoutError:  # before OSError: it is one
                raise self._give_up(f"no reply to {' '.join(map(str, words[:2]))} within {deadline:g} s") from None
            except OSError as exc:
                raise ConnectionClosed(f"connection lost: {exc}") from None
            finally:
                if waiting.cancelled() or not waiting.done():
                    self._stale += 1  # cancelled: the reply still comes and must not be taken as ours
                self._waiting = None
        if reply.code == 511:
            self.hung_up = True
        return check(reply)

    async def _media(self, prompt: str | None, *words: Arg, wait: float = 0.0) -> Reply:
        """A command that plays audio or waits for DTMF: ``result=-1`` is a hang-up or a missing prompt."""
        reply = await self.command(*words, wait=wait)
        if reply.result != "-1":
            return reply
        if prompt is not None and not self.hung_up and not reply.endpos:
            try:
                await self.command("CHANNEL", "STATUS")
            except CallerHangup:
                pass
            else:
                raise PromptMissing(f"{words[0]} {words[1]} could not play {prompt!r} (missing sound file?)")
        self.notify_hangup()
        raise CallerHangup(f"the caller hung up during {' '.join(map(str, words[:2]))}")

    # -- the commands applications use -----------------------------------------------------------------
    async def answer(self) -> None:
        await self._media(None, "ANSWER")

    async def hangup(self) -> None:
        """Hang the call up ourselves; only the dead-channel commands work afterwards."""
        await self.command("HANGUP")
        self.notify_hangup()

    async def channel_status(self) -> int:
        """Asterisk's channel state number (4 ringing, 6 up)."""
        return (await self.command("CHANNEL", "STATUS")).number

    async def stream_file(self, name: str, escape_digits: str = "") -> str | None:
        """Play a prompt; return the escape digit the caller pressed, or None when it played to the end."""
        reply = await self._media(name, "STREAM", "FILE", name, Text(escape_digits))
        return chr(reply.number) if reply.number > 0 else None

    async def get_data(self, prompt: str, timeout_ms: int, max_digits: int) -> Digits:
        """Play ``prompt`` and collect digits until '#' (not included), ``max_digits`` or the timeout (Asterisk
        waits up to ``timeout_ms`` for each digit)."""
        wait = max(timeout_ms, 0) * max_digits / 1000
        reply = await self._media(prompt, "GET", "DATA", prompt, timeout_ms, max_digits, wait=wait)
        return Digits(reply.result, reply.data == "timeout")

    async def wait_for_digit(self, timeout_ms: int) -> str | None:
        """A key press within ``timeout_ms`` (-1, for ever, still ends after ``reply_timeout``)."""
        reply = await self._media(None, "WAIT", "FOR", "DIGIT", timeout_ms, wait=max(timeout_ms, 0) / 1000)
        return chr(reply.number) if reply.number > 0 else None

    async def say_number(self, number: int, escape_digits: str = "") -> str | None:
        reply = await self._media(str(number), "SAY", "NUMBER", int(number), Text(escape_digits))
        return chr(reply.number) if reply.number > 0 else None

    async def say_digits(self, digits: str, escape_digits: str = "") -> str | None:
        reply = await self._media(digits, "SAY", "DIGITS", digits, Text(escape_digits))
        return chr(reply.number) if reply.number > 0 else None

    async def set_variable(self, name: str, value: object) -> None:
        await self.command("SET", "VARIABLE", name, str(value))

    async def get_variable(self, name: str) -> str | None:
        """The value, or None when the variable is not set (``200 result=0``)."""
        reply = await self.command("GET", "VARIABLE", name)
        return reply.data if reply.result == "1" else None

    async def get_full_variable(self, expression: str) -> str:
        """Evaluate a dialplan expression such as ``${CALLERID(num)}`` ("" when it expands to nothing)."""
        reply = await self.command("GET", "FULL", "VARIABLE", expression)
        return reply.data or ""

    async def verbose(self, message: str, level: int = 1) -> None:
        await self.command("VERBOSE", Text(message), level)

    async def exec(self, application: str, *args: str) -> int:
        """Run a dialplan application with comma-joined arguments; return its result code."""
        words: tuple[Arg, ...] = ("EXEC", application) + ((",".join(args),) if args else ())
        result = (await self.command(*words)).number
        if result == -2:
            raise UnknownApplication(f"Asterisk has no application {application!r}")
        return result

    async def set_autohangup(self, seconds: int) -> None:
        await self.command("SET", "AUTOHANGUP", int(seconds))

    async def database_get(self, family: str, key: str) -> str | None:
        reply = await self.command("DATABASE", "GET", family, key)
        return reply.data if reply.result == "1" else None

    async def database_put(self, family: str, key: str, value: object) -> None:
        await self.command("DATABASE", "PUT", family, key, str(value))

    async def database_del(self, family: str, key: str) -> None:
        await self.command("DATABASE", "DEL", family, key)

    async def noop(self) -> None:
        await self.command("NOOP")
