"""A scripted fake of Asterisk's side of AGI, for tests, benchmarks and ``asteriskbill calls simulate``.

It connects to a FastAGI server over TCP, or spawns an agi-bin script with real pipes, sends the
environment block, and answers every command the way the captured Asterisk did (README of
tests/fixtures/asterisk §2 and §5): digit ASCII codes and ``endpos`` for STREAM FILE, digit strings and
``(timeout)`` for GET DATA, ``-1`` for a missing prompt, 510 for unknown commands, multi-line 520 usage,
511 on a dead channel for everything but variables/VERBOSE/DATABASE/EXEC/NOOP. The caller is a ``Call``:
``keys`` is a queue of key presses, one entry per input command (GET DATA, WAIT FOR DIGIT, and STREAM FILE
or SAY * with escape digits), '#' ends GET DATA input, ``None``/"" is silence (timeout). A hang-up cue
answers the running media command ``200 result=-1`` and then sends ``HANGUP`` (FastAGI, ~40 ms later) or
SIGHUP (agi-bin). Every line is recorded; the variables the application set and Asterisk's AGISTATUS are
reported. ``replay_*`` instead plays a captured transcript back byte for byte.

Simplifications: SET AUTOHANGUP is accepted but never fires; EXEC knows Playback, Set, NoOp, Verbose, Log,
Wait and UserEvent (others answer -2, "no such application"); GET FULL VARIABLE expands ``${VAR}``,
``${LEN(..)}``, ``${CALLERID(num|name)}``, ``${CHANNEL(state|name|uniqueid)}`` only.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import os
import re
import signal
import time
from collections import deque
from collections.abc import Awaitable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

from asteriskbill.agi.protocol import decode_line, encode_line, format_env, parse_command

VERSION = "GIT-master-f0c1c1a7b7"  # the captured Asterisk's agi_version
SAMPLES = 8000  # endpos of a prompt played to the end (1 s at 8 kHz)
UP, RING = 6, 4
DEAD = "511 Command Not Permitted on a dead channel or intercept routine"
USAGE_HEAD, USAGE_END = "520-Invalid command syntax.  Proper usage follows:", "520 End of proper usage."
MEDIA = {"ANSWER", "STREAM FILE", "GET DATA", "WAIT FOR DIGIT", "SAY NUMBER", "SAY DIGITS"}
PROMPTED = {"STREAM FILE", "GET DATA"}
DEAD_OK = {
    "DATABASE DEL",
    "DATABASE DELTREE",
    "DATABASE GET",
    "DATABASE PUT",
    "EXEC",
    "GET FULL VARIABLE",
    "GET VARIABLE",
    "NOOP",
    "SET VARIABLE",
    "VERBOSE",
}
QUIET_APPS = {"noop", "verbose", "log", "wait", "userevent"}
# command -> (fewest arguments, most arguments, usage lines); the GET DATA and SAY NUMBER texts are captured.
SPECS: dict[str, tuple[int, int, tuple[str, ...]]] = {
    "ANSWER": (0, 0, ("Answers channel if not already in answer state.",)),
    "CHANNEL STATUS": (0, 1, ("Returns the status of the specified <replaceable>channelname</replaceable>.",)),
    "DATABASE DEL": (
        2,
        2,
        (
            "Deletes an entry in the Asterisk database for a given <replaceable>family</replaceable> and "
            "<replaceable>key</replaceable>.",
        ),
    ),
    "DATABASE DELTREE": (
        1,
        2,
        (
            "Deletes a <replaceable>family</replaceable> or specific <replaceable>keytree</replaceable> within a "
            "<replaceable>family</replaceable> in the Asterisk database.",
        ),
    ),
    "DATABASE GET": (
        2,
        2,
        (
            "Retrieves an entry in the Asterisk database for a given <replaceable>family</replaceable> and "
            "<replaceable>key</replaceable>.",
        ),
    ),
    "DATABASE PUT": (
        3,
        3,
        (
            "Adds or updates an entry in the Asterisk database for a given <replaceable>family</replaceable>, "
            "<replaceable>key</replaceable>, and <replaceable>value</replaceable>.",
        ),
    ),
    "EXEC": (1, 2, ("Executes <replaceable>application</replaceable> with given <replaceable>options</replaceable>.",)),
    "GET DATA": (
        1,
        3,
        (
            "Stream the given <replaceable>file</replaceable>, and receive DTMF data.",
            "Returns the digits received from the channel at the other end.",
        ),
    ),
    "GET FULL VARIABLE": (1, 2, ("Evaluates the given <replaceable>expression</replaceable> against the channel.",)),
    "GET VARIABLE": (
        1,
        1,
        (
            "Returns <literal>0</literal> if <replaceable>variablename</replaceable> is not set. Returns "
            "<literal>1</literal> if <replaceable>variablename</replaceable> is set and returns the variable in "
            "parentheses.",
        ),
    ),
    "HANGUP": (0, 1, ("Hangs up the specified channel. If no channel name is given, hangs up the current channel",)),
    "NOOP": (0, 99, ("Does nothing.",)),
    "SAY DIGITS": (
        2,
        2,
        ("Say a given digit string, returning early if any of the given DTMF digits are received on the channel.",),
    ),
    "SAY NUMBER": (
        2,
        3,
        (
            "Say a given number, returning early if any of the given DTMF digits are received on the channel.  Returns "
            "<literal>0</literal> if playback completes without a digit being pressed, or the ASCII numerical value of "
            "the digit if one was pressed or <literal>-1</literal> on error/hangup.",
        ),
    ),
    "SET AUTOHANGUP": (
        1,
        1,
        ("Cause the channel to automatically hangup at <replaceable>time</replaceable> seconds in the future.",),
    ),
    "SET VARIABLE": (2, 2, ("Sets a variable to the current channel.",)),
    "STREAM FILE": (2, 3, ("Send the given file, allowing playback to be interrupted by the given digits, if any.",)),
    "VERBOSE": (1, 2, ("Sends <replaceable>message</replaceable> to the console via verbose message system.",)),
    "WAIT FOR DIGIT": (
        1,
        1,
        ("Waits up to <replaceable>timeout</replaceable> milliseconds for channel to receive a DTMF digit.",),
    ),
}
_ids = itertools.count(1)
_T = TypeVar("_T")


@dataclass
class Call:
    """The caller and the call's channel, as the dialplan would hand them to AGI()."""

    script: str = "card"  # FastAGI script path: agi://host:port/<script>[?query]
    query: str = ""
    args: Sequence[str] = ()  # AGI(...,arg1,arg2) -> agi_arg_N (and argv for agi-bin)
    callerid: str = "5551000"
    calleridname: str = "Alice"
    extension: str = "s"
    context: str = "asteriskbill"
    accountcode: str = ""
    dnid: str = "unknown"
    keys: Sequence[str | None] = ()  # one entry per input command; '#' ends GET DATA; None = silence
    hangup_at_prompt: str | None = None  # the caller hangs up while this prompt plays
    hangup_at_command: int | None = None  # ... or at the Nth command (idle hang-up if it is not media)
    missing_prompts: Collection[str] = ()
    variables: Mapping[str, str] = field(default_factory=dict)  # channel variables before the AGI
    hangup_delay: float = 0.04  # FastAGI: the HANGUP line follows the -1 after this long
    reply_delay: float = 0.0  # each reply comes this long after its command (a busy Asterisk, a far network)
    uniqueid: str = field(default_factory=lambda: f"{int(time.time())}.{next(_ids)}")

    @property
    def channel(self) -> str:
        return f"PJSIP/{self.callerid}-{self.uniqueid.rpartition('.')[2].zfill(8)}"


@dataclass(frozen=True)
class Line:
    """One exchanged line: '<' sent by Asterisk (us), '>' sent by the AGI program, '*' a note."""

    direction: str
    data: bytes | str
    at: float = field(default=0.0, compare=False)  # time.perf_counter() when sent or received

    def __str__(self) -> str:
        text = self.data if isinstance(self.data, str) else self.data.decode("utf-8", "replace")
        return f"{self.direction} {json.dumps(text)}"


@dataclass
class Outcome:
    """What the call left behind: Asterisk's AGISTATUS, the variables the application set, every line."""

    agistatus: str
    variables: dict[str, str]
    lines: list[Line]
    hangup_cause: int | None = None  # None while the channel is up
    exit_status: int | None = None  # agi-bin only
    stderr: bytes = b""

    @property
    def commands(self) -> list[str]:
        return [decode_line(line.data) for line in self.lines if line.direction == ">" and isinstance(line.data, bytes)]

    def transcript(self) -> str:
        return "\n".join(map(str, self.lines))


class PeerError(AssertionError):
    """The AGI program did not behave (timeout, or a replay that did not match the transcript)."""


# -- the simulated channel ---------------------------------------------------------------------------------
class Asterisk:
    """One channel's state and Asterisk's answer to each command (no I/O). ``db`` is the AstDB, shareable."""

    def __init__(self, call: Call, db: dict[tuple[str, str], str] | None = None):
        self.call = call
        self.db = {} if db is None else db
        self.vars = dict(call.variables)
        self.set_by_app: dict[str, str] = {}
        self.state = RING
        self.cause: int | None = None
        self.missing_file = False
        self.keys = deque(call.keys)
        self.count = 0

    @property
    def dead(self) -> bool:
        return self.cause is not None

    def env(self, request: str, script: str | None = None) -> bytes:
        call = self.call
        pairs = [("network", "yes"), ("network_script", script)] if script is not None else []
        pairs += [
            ("request", request),
            ("channel", call.channel),
            ("language", "en"),
            ("type", "PJSIP"),
            ("uniqueid", call.uniqueid),
            ("version", VERSION),
            ("callerid", call.callerid),
            ("calleridname", call.calleridname),
            ("callingpres", "0"),
            ("callingani2", "0"),
            ("callington", "0"),
            ("callingtns", "0"),
            ("dnid", call.dnid),
            ("rdnis", "unknown"),
            ("context", call.context),
            ("extension", call.extension),
            ("priority", "2"),
            ("enhanced", "0.0"),
            ("accountcode", call.accountcode),
            ("threadid", "140000000000000"),
        ]
        pairs += [(f"arg_{n}", arg) for n, arg in enumerate(call.args, 1)]
        return format_env(pairs)

    def handle(self, line: str) -> tuple[bool, list[str], bool]:
        """Answer one command line: (hang up before replying, reply lines, hang up after replying)."""
        self.count += 1
        name, args = _lookup(parse_command(line))
        if name is None:
            return False, ["510 Invalid or unknown command"], False
        before = self._cue_idle(name)
        if self.dead and name not in DEAD_OK:
            return before, [DEAD], False
        low, high, usage = SPECS[name]
        if not low <= len(args) <= high:
            return before, [USAGE_HEAD, *usage, USAGE_END], False
        if not self.dead and self._cue_media(name, args):
            self.hang_up(16)
            return before, ["200 result=-1 endpos=4000" if name == "STREAM FILE" else "200 result=-1"], True
        try:
            reply = getattr(self, "_" + name.lower().replace(" ", "_"))(*args)
        except ValueError:
            return before, [USAGE_HEAD, *usage, USAGE_END], False
        return before, [reply], name == "HANGUP"

    def hang_up(self, cause: int) -> None:
        if not self.dead:
            self.cause = cause

    def agistatus(self, exit_status: int | None = None) -> str:
        if self.dead:
            return "HANGUP"
        return "FAILURE" if exit_status or self.missing_file else "SUCCESS"

    def _cue_idle(self, name: str) -> bool:
        if self.dead or self.count != self.call.hangup_at_command or name in MEDIA:
            return False
        self.hang_up(16)
        return True

    def _cue_media(self, name: str, args: Sequence[str]) -> bool:
        at_prompt = name in PROMPTED and args[0] == self.call.hangup_at_prompt
        return name in MEDIA and (at_prompt or self.count == self.call.hangup_at_command)

    def _next_keys(self) -> str:
        return (self.keys.popleft() or "") if self.keys else ""

    def _interrupt(self, escape_digits: str) -> str | None:
        """The key that cuts a prompt short, if the next key presses start with an escape digit."""
        if not escape_digits or not self.keys:
            return None
        keys = self._next_keys()
        return keys[0] if keys and keys[0] in escape_digits else None

    # -- command handlers (arguments as Asterisk parsed them) -------------------------------------------
    def _answer(self) -> str:
        self.state = UP
        return "200 result=0"

    def _channel_status(self, channel: str = "") -> str:
        return f"200 result={self.state}"

    def _stream_file(self, name: str, escape_digits: str, offset: str = "0") -> str:
        if name in self.call.missing_prompts:
            self.missing_file = True
            return "200 result=-1 endpos=0"
        key = self._interrupt(escape_digits)
        return f"200 result={ord(key)} endpos={SAMPLES // 2}" if key else f"200 result=0 endpos={SAMPLES}"

    def _get_data(self, name: str, timeout: str = "0", most: str = "1024") -> str:
        int(timeout)
        if name in self.call.missing_prompts:
            return "200 result=-1"
        typed = ""
        for key in self._next_keys():
            if key == "#":
                return f"200 result={typed}"
            typed += key
            if len(typed) >= int(most):
                return f"200 result={typed}"
        return f"200 result={typed} (timeout)"

    def _wait_for_digit(self, timeout: str) -> str:
        int(timeout)
        keys = self._next_keys()
        return f"200 result={ord(keys[0]) if keys else 0}"

    def _say_number(self, number: str, escape_digits: str, gender: str = "") -> str:
        int(number)
        return self._say(escape_digits)

    def _say_digits(self, digits: str, escape_digits: str) -> str:
        return self._say(escape_digits)

    def _say(self, escape_digits: str) -> str:
        key = self._interrupt(escape_digits)
        return f"200 result={ord(key) if key else 0}"

    def _set_variable(self, name: str, value: str) -> str:
        self.vars[name] = self.set_by_app[name] = value
        return "200 result=1"

    def _get_variable(self, name: str) -> str:
        value = self._value(name)
        return "200 result=0" if value is None else f"200 result=1 ({value})"

    def _get_full_variable(self, expression: str, channel: str = "") -> str:
        while match := re.search(r"\$\{([^${}]*)\}", expression):
            expression = expression[: match.start()] + (self._value(match[1]) or "") + expression[match.end() :]
        return f"200 result=1 ({expression})"

    def _value(self, name: str) -> str | None:
        if (length := re.fullmatch(r"LEN\((.*)\)", name)) is not None:
            return str(len(length[1]))
        builtin = {
            "CALLERID(num)": self.call.callerid,
            "CALLERID(name)": self.call.calleridname,
            "CHANNEL(state)": "Up" if self.state == UP else "Ring",
            "CHANNEL(name)": self.call.channel,
            "CHANNEL(uniqueid)": self.call.uniqueid,
            "HANGUPCAUSE": str(self.cause or 0),
        }
        return self.vars.get(name, builtin.get(name))

    def _verbose(self, message: str, level: str = "1") -> str:
        return "200 result=1"

    def _exec(self, application: str, options: str = "") -> str:
        app = application.lower()
        if app == "playback":
            missing = options.partition(",")[0] in self.call.missing_prompts
            self.vars["PLAYBACKSTATUS"] = "FAILED" if missing else "SUCCESS"
        elif app == "set":
            name, _, value = options.partition("=")
            self.vars[name] = self.set_by_app[name] = value
        elif app not in QUIET_APPS:
            return "200 result=-2"
        return "200 result=0"

    def _set_autohangup(self, seconds: str) -> str:
        int(seconds)
        return "200 result=0"

    def _database_put(self, family: str, key: str, value: str) -> str:
        self.db[family, key] = value
        return "200 result=1"

    def _database_get(self, family: str, key: str) -> str:
        value = self.db.get((family, key))
        return "200 result=0" if value is None else f"200 result=1 ({value})"

    def _database_del(self, family: str, key: str) -> str:
        self.db.pop((family, key), None)
        return "200 result=1"

    def _database_deltree(self, family: str, keytree: str = "") -> str:
        for entry in [k for k in self.db if k[0] == family and k[1].startswith(keytree)]:
            del self.db[entry]
        return "200 result=1"

    def _noop(self, *_: str) -> str:
        return "200 result=0"

    def _hangup(self, channel: str = "") -> str:
        self.hang_up(0)
        return "200 result=1"


def _lookup(words: list[str]) -> tuple[str | None, list[str]]:
    for size in (3, 2, 1):
        name = " ".join(words[:size]).upper()
        if len(words) >= size and name in SPECS:
            return name, words[size:]
    return None, words


# -- transports ------------------------------------------------------------------------------------------
class _Link:
    """Line I/O with the AGI program, recording every line; subclasses say how a hang-up is signalled."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter):
        self.reader, self.writer = reader, writer
        self.lines: list[Line] = []

    def note(self, text: str, at: float | None = None) -> None:
        self.lines.append(Line("*", text, time.perf_counter() if at is None else at))

    def send(self, data: bytes) -> None:
        self.lines.append(Line("<", data, time.perf_counter()))
        try:
            self.writer.write(data)
        except (OSError, RuntimeError):
            self.note("write failed: the AGI program has gone")

    async def readline(self) -> bytes:
        with contextlib.suppress(OSError):
            await self.writer.drain()
        try:
            line = await self.reader.readline()
        except OSError:
            line = b""
        if line:
            self.lines.append(Line(">", line, time.perf_counter()))
        return line

    def hangup_now(self) -> None:
        raise NotImplementedError

    def hangup_later(self, delay: float) -> None:
        self.hangup_now()

    def flush(self) -> None:
        """Send a hang-up notice still waiting for its delay before anything else."""


class _TcpLink(_Link):
    _timer: asyncio.TimerHandle | None = None

    def hangup_now(self) -> None:
        self.send(b"HANGUP\n")

    def hangup_later(self, delay: float) -> None:
        self._timer = asyncio.get_running_loop().call_later(delay, self.flush)

    def flush(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
            self.hangup_now()

    async def finish(self) -> None:
        """After the program's EOF Asterisk still writes HANGUP, then closes (fast-halfclose.log)."""
        self.flush()
        self.send(b"HANGUP\n")
        self.writer.close()
        with contextlib.suppress(OSError):
            await self.writer.wait_closed()


class _ProcessLink(_Link):
    def __init__(self, process: asyncio.subprocess.Process):
        assert process.stdout is not None and process.stdin is not None
        super().__init__(process.stdout, process.stdin)
        self.process = process

    def hangup_now(self) -> None:
        self.note("SIGHUP sent")
        try:
            self.process.send_signal(signal.SIGHUP)
        except ProcessLookupError:
            self.note("SIGHUP not delivered: the program has exited")


async def _converse(fake: Asterisk, link: _Link, env: bytes) -> None:
    for line in env.splitlines(keepends=True):
        link.send(line)
    while line := await link.readline():
        if not line.endswith(b"\n"):
            link.note("EOF in the middle of a line")
            break
        link.flush()
        if fake.call.reply_delay:
            await asyncio.sleep(fake.call.reply_delay)
        before, replies, after = fake.handle(decode_line(line))
        if before:
            link.hangup_now()
        for reply in replies:
            link.send(encode_line(reply))
        if after:
            link.hangup_later(fake.call.hangup_delay)
    link.note("EOF from the AGI program")


async def _within(coro: Awaitable[_T], timeout: float, link: _Link | None = None) -> _T:
    try:
        return await asyncio.wait_for(coro, timeout)
    except TimeoutError:
        sofar = "\n".join(map(str, link.lines)) if link else ""
        raise PeerError(f"the AGI program did not finish within {timeout:g} s; lines so far:\n{sofar}") from None


async def call_fastagi(
    call: Call,
    host: str = "127.0.0.1",
    port: int = 4573,
    *,
    db: dict[tuple[str, str], str] | None = None,
    timeout: float = 60.0,
) -> Outcome:
    """Place ``call`` on a FastAGI server like ``AGI(agi://host:port/script?query,args)`` would."""
    fake = Asterisk(call, db)
    try:
        reader, writer = await asyncio.open_connection(host, port)
    except OSError as exc:
        return Outcome("FAILURE", {}, [Line("*", f"connect to {host}:{port} failed: {exc}")])
    link = _TcpLink(reader, writer)
    script = call.script + (f"?{call.query}" if call.query else "")
    try:
        await _within(_converse(fake, link, fake.env(f"agi://{host}:{port}/{script}", script)), timeout, link)
    finally:
        await link.finish()
    return Outcome(fake.agistatus(), fake.set_by_app, link.lines, fake.cause)


async def call_process(
    call: Call,
    argv: Sequence[str],
    *,
    db: dict[tuple[str, str], str] | None = None,
    timeout: float = 60.0,
    environ: Mapping[str, str] | None = None,
) -> Outcome:
    """Run an agi-bin script like ``AGI(/path/script,args)``: ``argv`` + the call's args, real pipes, SIGHUP
    on hang-up. ``agi_request`` is the last element of ``argv`` (the script, also when run by python)."""
    fake = Asterisk(call, db)
    spawned = time.perf_counter()
    try:
        process = await asyncio.create_subprocess_exec(
            *argv,
            *call.args,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env=environ,
        )
    except OSError as exc:  # Asterisk: NOTFOUND when the file does not exist, FAILURE when exec fails
        agistatus = "NOTFOUND" if isinstance(exc, FileNotFoundError) else "FAILURE"
        return Outcome(agistatus, {}, [Line("*", f"failed to execute {argv[0]}: {exc}")])
    link = _ProcessLink(process)
    link.note(f"spawned {argv[-1]} as pid {process.pid}", spawned)
    assert process.stderr is not None  # stderr=PIPE
    stderr = asyncio.ensure_future(process.stderr.read())
    try:
        await _within(_converse(fake, link, fake.env(argv[-1])), timeout, link)
        status = await _within(process.wait(), timeout, link)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    link.note(f"exit status {status}")
    return Outcome(fake.agistatus(status), fake.set_by_app, link.lines, fake.cause, status, await stderr)


# -- replay of captured transcripts ------------------------------------------------------------------------
def read_transcript(path: str | os.PathLike[str]) -> list[Line]:
    """The lines of a capture in tests/fixtures/asterisk/agi/ (timestamps and '#' comments dropped)."""
    lines = []
    for text in Path(path).read_text().splitlines():
        if not text or text.startswith("#"):
            continue
        _, direction, payload = text.split(" ", 2)
        value = json.loads(payload)
        lines.append(Line(direction, value if direction == "*" else value.encode("utf-8", "surrogateescape")))
    return lines


async def _replay(lines: list[Line], link: _Link) -> None:
    outgoing: list[bytes] = []

    def flush() -> None:
        if outgoing:
            link.send(b"".join(outgoing))
            outgoing.clear()

    for index, line in enumerate(lines):
        if line.direction == "<":
            assert isinstance(line.data, bytes)  # read_transcript: '<' and '>' lines are bytes, '*' notes text
            outgoing.append(line.data)
            continue
        flush()
        if line.direction == ">":
            got = await link.readline()
            if got != line.data:
                raise PeerError(f"transcript line {index}: expected {line}, the program sent {got!r}")
        elif "SIGHUP" in line.data:
            link.hangup_now()
        elif "half-closes" in line.data:
            await _expect_eof(link)
    flush()
    await _expect_eof(link)


async def _expect_eof(link: _Link) -> None:
    rest = await link.reader.read()
    if rest:
        raise PeerError(f"the program sent more than the transcript: {rest!r}")


async def replay_fastagi(path: str | os.PathLike[str], host: str, port: int, *, timeout: float = 30.0) -> list[Line]:
    """Act as the captured Asterisk towards a FastAGI server: send the recorded '<' bytes, require the
    recorded '>' bytes, then EOF. Returns the exchanged lines."""
    reader, writer = await asyncio.open_connection(host, port)
    link = _TcpLink(reader, writer)
    try:
        await _within(_replay(read_transcript(path), link), timeout, link)
    finally:
        writer.close()
    return link.lines


async def replay_process(
    path: str | os.PathLike[str],
    argv: Sequence[str],
    *,
    timeout: float = 30.0,
    environ: Mapping[str, str] | None = None,
) -> tuple[list[Line], int]:
    """The same for an agi-bin program on pipes; '*' SIGHUP notes become real SIGHUPs. Returns the
    exchanged lines and the exit status."""
    process = await asyncio.create_subprocess_exec(
        *argv, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, env=environ
    )
    link = _ProcessLink(process)
    try:
        await _within(_replay(read_transcript(path), link), timeout, link)
        status = await _within(process.wait(), timeout, link)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    return link.lines, status
