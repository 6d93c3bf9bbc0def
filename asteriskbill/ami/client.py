"""A small asyncio client of Asterisk's manager interface (AMI): Login, Setvar, Getvar, Ping, Logoff.

Why AMI: a call's hard limit is TIMEOUT(absolute) on its caller channel, and ARI answers 409 to setting a
variable on a channel that is in no Stasis application, i.e. on every dialplan call; AMI's Setvar runs the
same setter on any channel. Why our own: four actions need no dependency, and none of the asyncio AMI
libraries is maintained.

The protocol, as recorded from a real Asterisk (tests/fixtures/asterisk/ami/): a banner line
``Asterisk Call Manager/<version>``, then messages of ``Key: value`` lines, each ended by an empty line
(CRLF throughout). Every action carries an ActionID that its response repeats; other messages (events:
none come with ``Events: off``) are skipped. A refused Login is answered after a second and the connection
closed. Each answer is awaited at most ``timeout`` seconds; a connection that stops answering is dropped,
and the next action after a lost connection opens a new one and logs in again. The secret is sent in the
Login and nowhere else: never logged, never in a message or a repr.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import os
from collections.abc import Awaitable
from typing import TypeVar

from asteriskbill.ami import address
from asteriskbill.settings import SettingsError, masked

log = logging.getLogger("asteriskbill.ami")

BANNER = b"Asterisk Call Manager/"
END = b"\r\n\r\n"  # the empty line that ends a message
MAX_MESSAGE = 64 * 1024  # far above any answer to our actions: more is not Asterisk
T = TypeVar("T")
Message = dict[str, str]  # header names lower-cased


class AmiError(Exception):
    """AMI did not do what was asked: one line saying why (no answer, connection lost, login refused)."""


class NoSuchChannel(AmiError):
    """The channel named is not up on that Asterisk: the call has ended."""


class AmiDenied(AmiError):
    """Asterisk refused the login, or the action to this user (manager.conf)."""


class AmiClient:
    """``async with AmiClient(url, user, secret) as ami: await ami.setvar(channel, "TIMEOUT(absolute)", "300")``"""

    def __init__(self, url: str, user: str, secret: str, *, timeout: float = 5.0):
        try:
            self.host, self.port = address.split(url)
        except ValueError as exc:
            raise SettingsError(f"ami_url {masked(repr(url))}: {exc}") from None
        self.user, self._secret, self.timeout = user, secret, timeout
        self.where = f"AMI at {self.host}:{self.port}"
        self._ids = itertools.count(1)
        self._pending: dict[str, asyncio.Future[Message]] = {}
        self._writer: asyncio.StreamWriter | None = None
        self._reading: asyncio.Task[None] | None = None
        self._connecting = asyncio.Lock()
        self.banner = ""  # "Asterisk Call Manager/<version>", once connected

    def __repr__(self) -> str:
        return f"AmiClient({self.host}:{self.port} as {self.user!r})"

    async def __aenter__(self) -> AmiClient:
        return self  # the first action connects: an Asterisk down now is an AmiError then, not here

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    @property
    def connected(self) -> bool:
        return self._reading is not None and not self._reading.done()

    # -- the actions ----------------------------------------------------------------------------

    async def setvar(self, channel: str, variable: str, value: str) -> None:
        """Set ``variable`` (or a function: TIMEOUT(absolute)) on ``channel``, named by its name or its
        uniqueid; NoSuchChannel when it is not up."""
        await self._action("Setvar", Channel=_channel(channel), Variable=variable, Value=value)

    async def getvar(self, channel: str, variable: str) -> str:
        """The value of ``variable`` (or a function) on ``channel``; "" when unset."""
        answer = await self._action("Getvar", Channel=_channel(channel), Variable=variable)
        return answer.get("value", "")

    async def ping(self) -> None:
        await self._action("Ping")

    async def connect(self) -> None:
        """Connect and log in, unless connected already (each action calls it first)."""
        async with self._connecting:
            if not self.connected:
                await self._open()

    async def aclose(self) -> None:
        """Log off (the answer waited for briefly) and close."""
        if self.connected:
            with contextlib.suppress(AmiError):  # closing anyway
                await self._send("Logoff", {})
        await self._drop()
        if self._writer is not None:
            with contextlib.suppress(OSError, TimeoutError):  # closed on our side: the peer's part is its own
                await asyncio.wait_for(self._writer.wait_closed(), self.timeout)
            self._writer = None

    # -- the connection -------------------------------------------------------------------------

    async def _action(self, action: str, **headers: str) -> Message:
        await self.connect()
        answer = await self._send(action, headers)
        if answer.get("response", "").lower() != "error":
            return answer
        message = answer.get("message", "")
        if message == "No such channel":
            raise NoSuchChannel(f"{self.where}: no channel {headers['Channel']!r} (the call has ended)")
        if message == "Permission denied":
            raise AmiDenied(f"{self.where}: ami_user {self.user!r} may not run {action} (manager.conf: write = call)")
        raise AmiError(f"{self.where} refused {action}: {message or 'no reason given'}")

    async def _open(self) -> None:
        opening = asyncio.open_connection(self.host, self.port, limit=MAX_MESSAGE)
        reader, writer = await self._within("the connection", opening)
        try:
            banner = await self._within("the connection", reader.readline())
        except BaseException:
            writer.close()
            raise
        if not banner.startswith(BANNER):
            writer.close()
            said = f"it said {banner[:60]!r}" if banner else "it closed the connection"
            raise AmiError(f"{self.where} does not answer like Asterisk's manager interface: {said}")
        self._writer = writer
        self._reading = asyncio.create_task(self._read(reader, writer))
        answer = await self._send("Login", {"Username": self.user, "Secret": self._secret, "Events": "off"})
        if answer.get("response", "").lower() == "error":
            await self._drop()
            raise AmiDenied(
                f"{self.where} refused ami_user {self.user!r} ({answer.get('message') or 'no reason given'}): "
                "check the user, its secret and permit= in manager.conf"
            )
        self.banner = banner.decode(errors="replace").strip()
        log.info("AMI connected to %s:%d as %r (%s)", self.host, self.port, self.user, self.banner)

    async def _send(self, action: str, headers: dict[str, str]) -> Message:
        """Write one action and wait for the message with its ActionID."""
        if self._writer is None or not self.connected:
            raise AmiError(f"{self.where}: the connection was lost")
        action_id = f"asteriskbill-{next(self._ids)}"
        answer: asyncio.Future[Message] = asyncio.get_running_loop().create_future()
        self._pending[action_id] = answer
        try:
            self._writer.write(_encode(action, action_id, headers))
            return await self._within(action, _drained(self._writer, answer))
        except AmiError:
            await self._drop()  # a connection that stops answering is not trusted with the next action
            raise
        finally:
            self._pending.pop(action_id, None)

    async def _within(self, what: str, step: Awaitable[T]) -> T:
        try:
            async with asyncio.timeout(self.timeout):
                return await step
        except TimeoutError:
            raise AmiError(f"{self.where}: no answer to {what} within {self.timeout:g} s") from None
        except OSError as exc:
            raise AmiError(f"{self.where}: {_reason(exc)}") from None

    async def _read(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """Hand each answer to the action waiting for it, until the connection ends."""
        reason = "the connection was closed"
        try:
            while True:
                message = _decode(await reader.readuntil(END))
                waiting = self._pending.get(message.get("actionid", ""))
                if waiting is not None and not waiting.done():
                    waiting.set_result(message)
                if _last_words(message):
                    return  # Asterisk closes now, as asked: nothing to warn about
        except asyncio.IncompleteReadError:
            reason = "Asterisk closed the connection"
        except asyncio.LimitOverrunError:
            reason = "a message too long for AMI: the connection was dropped"
        except OSError as exc:
            reason = f"the connection was lost: {_reason(exc)}"
        finally:
            writer.close()
            for waiting in self._pending.values():
                if not waiting.done():
                    waiting.set_exception(AmiError(f"{self.where}: {reason}"))
        log.warning("%s: %s; the next action reconnects", self.where, reason)

    async def _drop(self) -> None:
        reading, self._reading = self._reading, None
        if reading is not None and not reading.done():
            reading.cancel()
            await asyncio.wait([reading])  # not `await reading`: this task's own cancellation must go on


async def _drained(writer: asyncio.StreamWriter, answer: asyncio.Future[Message]) -> Message:
    await writer.drain()
    return await answer


def _reason(exc: OSError) -> str:
    """An OSError in words: asyncio's "Connect call failed ('10.0.0.5', 5038)" says less than its errno."""
    if exc.errno and exc.errno > 0:  # socket.gaierror's are negative: its strerror says it
        return os.strerror(exc.errno)
    return exc.strerror or str(exc) or type(exc).__name__


def _last_words(message: Message) -> bool:
    """The answer after which Asterisk closes the connection: to Logoff, or to a refused Login."""
    return message.get("response", "").lower() == "goodbye" or message.get("message") == "Authentication failed"


def _channel(channel: str) -> str:
    if not channel:  # Asterisk would set a global variable instead
        raise ValueError("an AMI Setvar or Getvar needs a channel")
    return channel


def _encode(action: str, action_id: str, headers: dict[str, str]) -> bytes:
    lines = [("Action", action), ("ActionID", action_id), *headers.items()]
    for name, value in lines:
        if "\r" in value or "\n" in value:  # it would end the header and start one of the sender's choosing
            raise ValueError(f"AMI {action}: a line break in {name}")
    return "".join(f"{name}: {value}\r\n" for name, value in lines).encode() + b"\r\n"


def _decode(block: bytes) -> Message:
    message: Message = {}
    for line in block.decode("utf-8", "replace").split("\r\n"):
        name, colon, value = line.partition(":")
        if colon:
            message.setdefault(name.strip().lower(), value.removeprefix(" "))
    return message
