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
import logging
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from asteriskbill.agi.deadlines import NONE, Deadlines
from asteriskbill.agi.protocol import (
    Arg,
    CallerHangup,
    ConnectionClosed,
    Env,
    Event,
    Hangup,
    PeerGone,
    PromptMissing,
    Reply,
    Text,
    UnknownApplication,
    check,
    format_command,
)

log = logging.getLogger("asteriskbill.agi")

REPLY_TIMEOUT = 30.0  # the agi_reply_timeout setting's default
AbortHook = Callable[[], Awaitable[object] | None]  # a plain function, or an async one (its result is ignored)


@dataclass(frozen=True)
class Digits:
    """What GET DATA collected: ``timed_out`` when the caller stopped typing before '#' or the maximum."""

    digits: str
    timed_out: bool


def _resolve(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)


class Channel:
    """The AGI commands an application uses, each awaiting its single reply.

    It writes to ``transport``; what Asterisk sends comes in through ``dispatch`` and ``input_ended``
    (agi/session.py reads the connection). Its deadline (a reply's, or the linger's) is watched with every
    other session's by the loop's ``Deadlines``."""

    def __init__(self, env: Env, transport: asyncio.WriteTransport, reply_timeout: float = REPLY_TIMEOUT):
        self.env = env
        self.reply_timeout = reply_timeout
        self.hung_up = False  # Asterisk said the channel is gone (HANGUP, SIGHUP, 511, -1 confirmed)
        self.closed = False  # the connection ended: nothing more can be sent
        self._transport = transport
        self._loop = asyncio.get_running_loop()
        self._busy = False  # a command is in flight (the cheap lock: uncontended, it costs no await)
        self._turns: deque[asyncio.Future[None]] = deque()  # commands of other tasks waiting for their turn
        self._waiting: asyncio.Future[Reply] | None = None
        self._sent: tuple[Arg, ...] = ()  # the command awaiting its reply, for the give-up message
        self._stale = 0  # replies still owed to commands whose caller was cancelled
        self._timeout = reply_timeout  # seconds the command awaiting its reply was given
        self.deadline = NONE  # loop time by which the reply awaited (or the end of the linger) is due
        self._deadlines = Deadlines.of(self._loop)
        self._deadlines.watch(self)
        self._ended: asyncio.Future[None] | None = None  # close() waiting for the input to end
        self._hangup_event: asyncio.Event | None = None
        self._abort_hooks: list[AbortHook] = []

    # -- lifecycle -------------------------------------------------------------------------------------
    @property
    def hangup_event(self) -> asyncio.Event:
        """Set once the channel hangs up (made on first use: most sessions never wait for it)."""
        if self._hangup_event is None:
            self._hangup_event = asyncio.Event()
            if self.hung_up:
                self._hangup_event.set()
        return self._hangup_event

    def notify_hangup(self) -> None:
        """The channel hung up (HANGUP line, SIGHUP): commands keep working under dead-channel rules."""
        self.hung_up = True
        if self._hangup_event is not None:
            self._hangup_event.set()

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
            if linger and not self.closed and self._transport.can_write_eof():
                self._transport.write_eof()
                self._ended = self._loop.create_future()
                self.deadline = self._loop.time() + linger
                await self._ended
        finally:
            self.shut()

    def shut(self) -> None:
        """Close the connection now (closing twice is harmless)."""
        self.closed = True
        self._deadlines.forget(self)
        self._transport.close()

    # -- what Asterisk sends ---------------------------------------------------------------------------
    def dispatch(self, event: Event) -> None:
        if isinstance(event, Reply):
            waiting = self._waiting
            if self._stale:
                self._stale -= 1
            elif waiting is not None and not waiting.done():
                waiting.set_result(event)
            else:
                log.warning("unexpected line from Asterisk on %s: %r", self.env.channel, event)
        elif isinstance(event, Hangup):
            self.notify_hangup()
        else:  # a second environment block: the decoder yields only one
            log.warning("unexpected AGI environment on %s: %r", self.env.channel, event)

    def input_ended(self, error: ConnectionClosed) -> None:
        """Nothing more comes from Asterisk (EOF, a broken connection, bytes that are not AGI): the command in
        flight fails with ``error``."""
        self.closed = True
        self.notify_hangup()
        if self._waiting is not None and not self._waiting.done():
            self._waiting.set_exception(error)
        if self._ended is not None:
            _resolve(self._ended)

    def give_up(self, reason: str) -> None:
        """End the session with a peer that broke the protocol: one warning, then no more commands."""
        log.warning("AGI peer of %s given up: %s", self.env.channel, reason)
        self.input_ended(PeerGone(reason))

    def expired(self) -> None:
        """The deadline passed: the linger ends, or the peer that did not answer in time is given up."""
        self.deadline = NONE
        if self._ended is not None:
            _resolve(self._ended)
        elif self._waiting is not None and not self._waiting.done():
            words = " ".join(map(str, self._sent[:2]))
            self.give_up(f"no reply to {words} within {self._timeout:g} s")

    # -- the generic command ---------------------------------------------------------------------------
    async def _turn(self) -> None:
        """Wait, first come first served, until the commands queued before this one are done."""
        turn = self._loop.create_future()
        self._turns.append(turn)
        try:
            await turn
        except asyncio.CancelledError:
            if turn.done() and not turn.cancelled():
                self._pass_turn()  # handed the turn as this task was cancelled: hand it on
            raise

    def _pass_turn(self) -> None:
        while self._turns:
            turn = self._turns.popleft()
            if not turn.done():
                turn.set_result(None)  # still busy: the turn goes straight to the next command
                return
        self._busy = False

    async def command(self, *words: Arg, wait: float = 0.0) -> Reply:
        """Send one command and return its ``200`` reply; 510/511/520 raise their typed errors. The reply is
        due within ``reply_timeout`` plus ``wait``, the time the command may spend waiting for the caller."""
        line = format_command(words)
        if self._busy:  # another command is in flight: wait for our turn (commands are never pipelined)
            await self._turn()
        self._busy = True
        if self.closed:
            self._pass_turn()
            raise ConnectionClosed(f"cannot send {words[0]}: the connection is closed")
        waiting = self._waiting = self._loop.create_future()
        self._sent, self._timeout = words, self.reply_timeout + wait
        self.deadline = self._loop.time() + self._timeout
        try:
            self._transport.write(line)
            reply = await waiting
        finally:
            if waiting.cancelled() or not waiting.done():
                self._stale += 1  # cancelled: the reply still comes and must not be taken as ours
            self._waiting, self.deadline = None, NONE
            self._pass_turn()
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
