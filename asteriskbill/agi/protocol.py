"""The AGI wire format, both directions, with no I/O (shared by the transports and the fake Asterisk).

What Asterisk really sends (see tests/fixtures/asterisk/agi/): an ``agi_*: value`` block ended by an empty line
(over TCP it arrives in several reads), then one final line per command: ``200 result=N [(data)] [endpos=N]``,
``510 ...``, ``511 ...`` or a multi-line ``520-...`` whose middle lines carry no prefix, up to ``520 ...``.
FastAGI adds a bare ``HANGUP`` line whenever the channel hangs up, even between commands and after our
last one. Only the standard library's lightest modules are imported: agi-bin scripts start a process per call.

Why not a library: pyst2 0.5.1 crashes on the HANGUP line (``int('')``), writes debug output to stderr
unconditionally and its FastAGI module imports Python 2's ``SocketServer``; panoramisk 1.4 reads only the
first line of a 520, never checks for EOF and swallows handler exceptions.
"""

from __future__ import annotations

import functools
import re
import string
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from asteriskbill.billing.numbers import is_digits

MAX_LINE = 16 * 1024  # longest line accepted from the peer (usage texts are ~300 bytes)
MAX_ENV_LINES = 256  # a real block has ~25 lines plus the AGI() arguments
# A 520 usage text is a few lines (two in the captures): a peer past either cap is not Asterisk.
MAX_USAGE_LINES = 200
MAX_USAGE_BYTES = 64 * 1024
ENCODING = "utf-8"
ERRORS = "surrogateescape"  # bytes that are not UTF-8 survive a round trip unchanged


class AgiError(Exception):
    """Anything the AGI layer reports to an application."""


class ProtocolError(AgiError):
    """The peer sent bytes that are not AGI (garbage, an endless line, a broken environment)."""


class CallerHangup(AgiError):
    """The channel is gone: the caller hung up, Asterisk reported HANGUP/SIGHUP, or the connection ended."""


class DeadChannel(CallerHangup):
    """511: the command needs a live channel and this one has hung up."""


class ConnectionClosed(CallerHangup):
    """Asterisk closed the connection (EOF): no further command can be sent."""


class PeerGone(ConnectionClosed):
    """The session gave up on the peer (no reply in time, or bytes that are not AGI): like a closed connection."""


class CommandError(AgiError):
    """Asterisk refused the command itself."""


class InvalidCommand(CommandError):
    """510: Asterisk does not know the command."""


class UsageError(CommandError):
    """520: wrong arguments; ``usage`` holds Asterisk's usage text lines."""

    def __init__(self, message: str, usage: Sequence[str] = ()):
        super().__init__(message)
        self.usage = tuple(usage)


class UnknownApplication(CommandError):
    """EXEC of an application Asterisk does not have (``200 result=-2``)."""


class PromptMissing(AgiError):
    """A prompt (sound file) could not be played while the channel is still up."""


class Text(str):
    """An argument always sent in double quotes (messages, escape digits), like Asterisk's own tools do."""


Arg = str | int | Text


@dataclass(frozen=True)
class Env:
    """The ``agi_*`` block: ``values`` without the ``agi_`` prefix, ``args`` from ``agi_arg_1..N``."""

    values: Mapping[str, str]
    args: tuple[str, ...] = ()

    def __getitem__(self, name: str) -> str:
        return self.values[name]

    def get(self, name: str, default: str = "") -> str:
        return self.values.get(name, default)

    @property
    def network(self) -> bool:
        return self.get("network") == "yes"

    @property
    def script(self) -> str:
        """FastAGI: the path of ``agi_network_script`` before '?' (``card``); process AGI: the script's file name."""
        if self.network:
            return self.get("network_script").partition("?")[0].strip("/")
        return self.get("request").rpartition("/")[2]

    @property
    def query(self) -> dict[str, str]:
        """FastAGI ``?a=1&b=2`` after the script name (no URL decoding: Asterisk sends it as dialled)."""
        text = self.get("network_script").partition("?")[2]
        pairs = (item.partition("=") for item in text.split("&") if item)
        return {key: value for key, _, value in pairs}

    channel = property(lambda self: self.get("channel"))
    uniqueid = property(lambda self: self.get("uniqueid"))
    callerid = property(lambda self: self.get("callerid"))  # "unknown" when the caller sent none
    calleridname = property(lambda self: self.get("calleridname"))
    context = property(lambda self: self.get("context"))
    extension = property(lambda self: self.get("extension"))
    accountcode = property(lambda self: self.get("accountcode"))  # "" when unset ("agi_accountcode: \n")
    language = property(lambda self: self.get("language"))
    dnid = property(lambda self: self.get("dnid"))


@dataclass(frozen=True)
class Reply:
    """One final answer to a command."""

    code: int
    result: str = ""  # the text after ``result=`` ("" for GET DATA's '#' alone or a timeout)
    data: str | None = None  # the text in parentheses: a variable's value, ``timeout``
    endpos: int | None = None  # samples played (STREAM FILE)
    message: str = ""  # the text of a 5xx line
    usage: tuple[str, ...] = ()

    @property
    def number(self) -> int:
        try:
            return int(self.result)
        except ValueError:
            raise ProtocolError(f"expected a number in result={self.result!r}") from None


@dataclass(frozen=True)
class Hangup:
    """The bare ``HANGUP`` line: the channel hung up (sent unsolicited, FastAGI only)."""


Event = Env | Reply | Hangup

_REPLY = re.compile(r"200 result=(\S*)(?: \((.*)\))?(?: endpos=(-?\d+))?", re.ASCII)
# ``agi_accountcode: `` -> ("accountcode", ""): the value keeps every byte after ': ' (spaces too)
_ENV_LINE = re.compile(r"^agi_([^:\n]*): ?(.*)$", re.MULTILINE)
_ARG_LINE = re.compile(r"\nagi_arg_([0-9]+): ?(.*)")  # on "\n" + the block: a literal prefix is searched fast
_SAFE = string.ascii_letters + string.digits + "_.,:@/+${}()-"  # sent as they are


def parse_reply(line: str) -> Reply:
    """A one-line reply (``200``, ``510``, ``511``, or the one-line ``520``) without its newline."""
    # replies are immutable and most are one of a few short lines ("200 result=1"): those are parsed once
    return _parse_short(line) if len(line) <= 64 else _parse_reply(line)


def _parse_reply(line: str) -> Reply:
    match = _REPLY.fullmatch(line)
    if match:
        result, data, endpos = match.groups()
        return Reply(200, result, data, int(endpos) if endpos is not None else None)
    code, _, message = line.partition(" ")
    if code in ("510", "511", "520"):
        return Reply(int(code), message=message)
    raise ProtocolError(f"not an AGI reply: {line[:200]!r}")


_parse_short = functools.lru_cache(maxsize=256)(_parse_reply)


def build_env(values: Mapping[str, str]) -> Env:
    args = sorted((int(k[4:]), v) for k, v in values.items() if k.startswith("arg_") and is_digits(k[4:]))
    return Env(dict(values), tuple(v for _, v in args))


def format_env(values: Iterable[tuple[str, str]]) -> bytes:
    """The block Asterisk writes: ``agi_<key>: <value>`` lines in the given order, then an empty line."""
    return b"".join(encode_line(f"agi_{key}: {value}") for key, value in values) + b"\n"


def quote(arg: Arg) -> str:
    """Asterisk's argument parser splits on spaces/tabs, groups "...", and takes \\ as an escape.

    Quote what is empty, is a ``Text``, or holds anything beyond a conservative safe set; quoting is
    always harmless, so ``=``, ``#``, ``*`` are quoted too (as Asterisk's captured tools did)."""
    text = str(arg)
    if text and not text.lstrip(_SAFE) and not isinstance(arg, Text):  # lstrip: every character is safe
        return text
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def format_command(words: Sequence[Arg]) -> bytes:
    """``("STREAM", "FILE", "beep", Text(""))`` -> ``b'STREAM FILE beep ""\\n'``."""
    line = " ".join(map(quote, words))
    if "\n" in line or "\r" in line or "\0" in line:
        raise ValueError(f"an AGI argument cannot hold a line break or NUL: {line!r}")
    return encode_line(line)


def parse_command(line: str) -> list[str]:
    """Split a command line exactly like res_agi's parse_args (used by the fake Asterisk)."""
    words: list[str] = []
    quoted = escaped = False
    between = True
    for char in line:
        if char == '"' and not escaped:
            quoted = not quoted
            if quoted and between:
                words.append("")
                between = False
        elif char in " \t" and not quoted and not escaped:
            between = True
        elif char == "\\" and not escaped:
            escaped = True
        else:
            if between:
                words.append("")
                between = False
            words[-1] += char
            escaped = False
    return words


def encode_line(text: str) -> bytes:
    return (text + "\n").encode(ENCODING, ERRORS)


def decode_line(raw: bytes) -> str:
    """A line without its ``\\n`` (and a stray ``\\r``)."""
    return raw.decode(ENCODING, ERRORS).removesuffix("\n").removesuffix("\r")


@dataclass
class Decoder:
    """Turns bytes from Asterisk, fed in any chunks, into events: one ``Env``, then ``Reply``/``Hangup``."""

    max_line: int = MAX_LINE
    env_done: bool = False
    _rest: bytes = b""  # an unfinished line
    _env: dict[str, str] = field(default_factory=dict)
    _usage: list[str] | None = None
    _usage_bytes: int = 0

    def feed(self, data: bytes) -> list[Event]:
        if self._rest:
            data = self._rest + data
        end = data.rfind(b"\n")
        self._rest = data[end + 1 :]
        if len(self._rest) > self.max_line:
            raise ProtocolError(f"line longer than {self.max_line} bytes")
        events: list[Event] = []
        if end < 0:
            return events
        # one decode for every whole line: no UTF-8 sequence holds a newline byte, so this splits as bytes would
        text = data[:end].decode(ENCODING, ERRORS)
        if "\r" in text:
            text = "\n".join(line.removesuffix("\r") for line in text.split("\n"))
        rest = text if self.env_done else self._env_text(text, events)
        for line in rest.split("\n") if rest is not None else ():
            event = self._line(line)
            if event is not None:
                events.append(event)
        return events

    @property
    def pending(self) -> bool:
        """Bytes of an unfinished line or reply are buffered."""
        return bool(self._rest) or self._usage is not None or bool(self._env)

    def _line(self, line: str) -> Event | None:
        if self._usage is not None:
            if not line.startswith("520 "):
                self._add_usage(line)
                return None
            usage, self._usage = tuple(self._usage), None
            return Reply(520, message=line[4:], usage=usage)
        if line == "HANGUP":
            return Hangup()
        if line.startswith("520-"):
            self._usage, self._usage_bytes = [], 0
            return None
        return parse_reply(line)

    def _add_usage(self, line: str) -> None:
        assert self._usage is not None
        self._usage.append(line)
        self._usage_bytes += len(line) + 1
        if len(self._usage) > MAX_USAGE_LINES or self._usage_bytes > MAX_USAGE_BYTES:
            raise ProtocolError(f"520 usage text longer than {MAX_USAGE_LINES} lines or {MAX_USAGE_BYTES} bytes")

    def _env_text(self, text: str, events: list[Event]) -> str | None:
        """Take the environment's lines from the front of ``text`` (whole lines, without the last newline), its Env
        into ``events`` once the empty line ends it; return the lines after that one (None: there are none)."""
        rest: str | None = None
        if not text or text[0] == "\n":  # the first line is the empty one
            block, rest, ended = "", text[1:] if text else None, True
        elif (cut := text.find("\n\n")) >= 0:
            block, rest, ended = text[:cut], text[cut + 2 :], True
        else:  # the last line is the empty one, or more is to come
            ended = text[-1] == "\n"
            block = text[:-1] if ended else text
        whole = not self._env  # the block came in this one read (as it does: Asterisk writes it at once)
        if block:
            self._take_env_lines(block)
        if ended:
            if not self._env:
                raise ProtocolError("empty AGI environment")
            self.env_done = True
            events.append(_env_of(self._env, block) if whole else build_env(self._env))
            self._env = {}
        return rest

    def _take_env_lines(self, block: str) -> None:
        lines = block.count("\n") + 1
        if len(self._env) + lines > MAX_ENV_LINES:
            raise ProtocolError(f"AGI environment longer than {MAX_ENV_LINES} lines")
        pairs = _ENV_LINE.findall(block)  # one pass over ~25 lines, each (name, value)
        if len(pairs) != lines:
            bad = next(line for line in block.split("\n") if not _ENV_LINE.fullmatch(line))
            raise ProtocolError(f"not an AGI environment line: {bad[:200]!r}")
        self._env.update(pairs)


def _env_of(values: dict[str, str], block: str) -> Env:
    """``build_env`` for values just read from ``block``: its arguments found by a second regex pass rather than a
    look at every name, when they are the usual ``agi_arg_1..N`` in order."""
    numbered = _ARG_LINE.findall("\n" + block)
    if [number for number, _ in numbered] != [str(n) for n in range(1, len(numbered) + 1)]:
        return build_env(values)
    return Env(values, tuple(value for _, value in numbered))


def check(reply: Reply) -> Reply:
    """Return a 200 reply; raise the typed error for 510/511/520."""
    if reply.code == 200:
        return reply
    if reply.code == 510:
        raise InvalidCommand(reply.message or "510 Invalid or unknown command")
    if reply.code == 511:
        raise DeadChannel(reply.message or "511 Command Not Permitted on a dead channel")
    raise UsageError(reply.message or "520 Invalid command syntax", reply.usage)
