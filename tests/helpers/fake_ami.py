"""A fake Asterisk manager interface (AMI) on a real TCP port, answering with the messages a real Asterisk sent
(fixtures/asterisk/ami/*.log, recorded through asteriskbill's own client; tests/ami checks that the fake,
given each transcript's requests, sends back its bytes).

It knows the users of the recording's manager.conf (``billing`` may Setvar, ``readonly`` may not) and the
calls up: ``call(name, uniqueid)``, ``hang_up(name)``. Setvar and Getvar find a channel by name or uniqueid,
as Asterisk does; TIMEOUT(absolute) hangs the channel up when it runs out, and setting it again replaces
the deadline. Each answer is the recorded message for its case, with the request's ActionID (and a Getvar's
Variable and Value), sent in the chunks Asterisk wrote it in; a refused Login is answered after the recorded
second and the connection closed, as after Logoff. An action the recording has no answer for gets none and
is kept in ``unexpected``.

Knobs: ``mute`` (read, never answer: the client's timeouts), ``drop()`` (close every connection, as an
Asterisk restart does), ``reorder`` (hold that many requests, then answer them last first).

    async with FakeAmi() as ami:
        ami.call("Local/s@caller-00000000;2", "1796058483.1")
        client = AmiClient(ami.url, USER, SECRET)
"""

from __future__ import annotations

import asyncio
import json
import re
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

FIXTURES = Path(__file__).parent.parent / "fixtures" / "asterisk" / "ami"
USER, SECRET = "billing", "recording-secret"  # write = call
READONLY, READONLY_SECRET = "readonly", "readonly-secret"  # write = (nothing)
USERS = {USER: (SECRET, True), READONLY: (READONLY_SECRET, False)}  # user -> (secret, may Setvar/Getvar)
HARD_LIMIT = "TIMEOUT(absolute)"


@dataclass
class Exchange:
    """One request of a transcript and what Asterisk sent after it, chunk by chunk."""

    request: dict[str, str]
    chunks: list[str] = field(default_factory=list)
    delay: float = 0.0  # from the request to the answer's first chunk
    closed: bool = False  # Asterisk closed the connection after it


@dataclass
class Transcript:
    name: str
    entries: list[tuple[float, str, str]]  # (epoch seconds, '<' '>' or '*', text)

    @classmethod
    def read(cls, path: Path) -> Transcript:
        entries = []
        for line in path.read_text().splitlines():
            if line.startswith("#"):
                continue
            moment, direction, text = line.split(" ", 2)
            entries.append((_epoch(moment), direction, json.loads(text)))
        return cls(path.stem, entries)

    @property
    def banner(self) -> str:
        return next(text for _, direction, text in self.entries if direction == "<").split("\r\n")[0] + "\r\n"

    def exchanges(self) -> list[Exchange]:
        found: list[Exchange] = []
        sent_at = 0.0
        for moment, direction, text in self.entries:
            if direction == ">":
                found += [Exchange(parse(block)) for block in text.split("\r\n\r\n") if block]
                sent_at = moment
            elif direction == "<" and found:
                if not found[-1].chunks:
                    found[-1].delay = moment - sent_at
                found[-1].chunks.append(text)
            elif text == "EOF from Asterisk" and found:
                found[-1].closed = True
        return found


def transcripts() -> list[Transcript]:
    return [Transcript.read(path) for path in sorted(FIXTURES.glob("*.log"))]


def parse(block: str) -> dict[str, str]:
    message = {}
    for line in block.split("\r\n"):
        name, _, value = line.partition(": ")
        if name:
            message.setdefault(name, value)
    return message


def _epoch(stamp: str) -> float:
    return datetime.fromisoformat(stamp).timestamp()


def _recorded() -> dict[str, Exchange]:
    """The answer Asterisk gave in each case, from the transcripts."""
    cases: dict[str, Exchange] = {}
    for transcript in transcripts():
        for exchange in transcript.exchanges():
            answer = parse("".join(exchange.chunks))
            case = f"{exchange.request['Action']}:{answer.get('Message', answer.get('Response'))}"
            if case not in cases or len(exchange.chunks) > len(cases[case].chunks):  # keep a split answer
                cases[case] = exchange
    return cases


class FakeAmi:
    def __init__(self) -> None:
        self.banner = transcripts()[0].banner
        self.answers = _recorded()
        self.channels: dict[str, str] = {}  # name -> uniqueid of every call up
        self.variables: dict[tuple[str, str], str] = {}
        self.deadlines: dict[str, asyncio.TimerHandle] = {}
        self.actions: list[dict[str, str]] = []  # every request, as received
        self.unexpected: list[dict[str, str]] = []
        self.connections = 0
        self.mute = False
        self.reorder = 0
        self._held: list[tuple[asyncio.StreamWriter, dict[str, str], dict[str, str]]] = []
        self._writers: set[asyncio.StreamWriter] = set()
        self._server: asyncio.Server | None = None

    @property
    def port(self) -> int:
        assert self._server is not None
        return self._server.sockets[0].getsockname()[1]

    @property
    def url(self) -> str:
        return f"tcp://127.0.0.1:{self.port}"

    async def __aenter__(self) -> FakeAmi:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        self.drop()
        assert self._server is not None
        self._server.close()
        await self._server.wait_closed()

    # -- the calls -------------------------------------------------------------------------------

    def call(self, name: str, uniqueid: str) -> None:
        self.channels[name] = uniqueid

    def hang_up(self, name: str) -> None:
        self.channels.pop(name, None)
        deadline = self.deadlines.pop(name, None)
        if deadline is not None:
            deadline.cancel()

    def drop(self) -> None:
        for writer in list(self._writers):
            writer.close()

    def _channel(self, wanted: str) -> str | None:
        """The name of the channel ``wanted`` names by its name or its uniqueid."""
        return next((name for name, uniqueid in self.channels.items() if wanted in (name, uniqueid)), None)

    # -- the protocol ----------------------------------------------------------------------------

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        self._writers.add(writer)
        user = None
        try:
            writer.write(self.banner.encode())
            while True:
                request = parse((await reader.readuntil(b"\r\n\r\n")).decode())
                self.actions.append(request)
                if self.mute:
                    continue
                case, values = self._case(request, user)
                if case not in self.answers:
                    self.unexpected.append(request)
                    continue
                if case == "Login:Authentication accepted":
                    user = request.get("Username")
                if self.reorder:
                    self._held.append((writer, request, {"case": case, **values}))
                    if len(self._held) == self.reorder:
                        await self._release()
                    continue
                if not await self._answer(writer, request, case, values):
                    return
        except (asyncio.IncompleteReadError, ConnectionError):
            return
        finally:
            self._writers.discard(writer)
            writer.close()

    async def _release(self) -> None:
        held, self._held = self._held, []
        for writer, request, values in reversed(held):
            await self._answer(writer, request, values.pop("case"), values)

    async def _answer(self, writer: asyncio.StreamWriter, request: dict[str, str], case: str, values: dict) -> bool:
        """Send the recorded answer of ``case``; False when Asterisk closed the connection after it."""
        recorded = self.answers[case]
        await asyncio.sleep(recorded.delay if case == "Login:Authentication failed" else 0)
        was = parse("".join(recorded.chunks))
        replaced = {f"{name}: {was[name]}\r\n": f"{name}: {value}\r\n" for name, value in values.items()}
        replaced[f"ActionID: {was['ActionID']}\r\n"] = f"ActionID: {request.get('ActionID', '')}\r\n"
        for chunk in recorded.chunks:
            for old, new in replaced.items():
                chunk = chunk.replace(old, new)
            writer.write(chunk.encode())
            await writer.drain()
        return not recorded.closed

    def _case(self, request: dict[str, str], user: str | None) -> tuple[str, dict[str, str]]:
        """Which recorded answer the request gets (a case of ``answers``), and the values to put in it."""
        action = request.get("Action", "")
        if action == "Login":
            secret, _ = USERS.get(request.get("Username", ""), (None, False))
            accepted = secret is not None and request.get("Secret") == secret
            return ("Login:Authentication accepted" if accepted else "Login:Authentication failed"), {}
        if action == "Ping":
            return "Ping:Success", {"Timestamp": f"{time.time():.6f}"}
        if action == "Logoff":
            return "Logoff:Thanks for all the fish.", {}
        if action not in ("Setvar", "Getvar") or user is None:
            return "", {}
        if not USERS[user][1]:
            return f"{action}:Permission denied", {}
        name = self._channel(request.get("Channel", ""))
        if name is None:
            return f"{action}:No such channel", {}
        variable = request.get("Variable", "")
        if action == "Setvar":
            self._set(name, variable, request.get("Value", ""))
            return "Setvar:Variable Set", {}
        return "Getvar:Success", {"Variable": variable, "Value": self._get(name, variable)}

    def _set(self, name: str, variable: str, value: str) -> None:
        if variable != HARD_LIMIT:
            self.variables[name, variable] = value
            return
        previous = self.deadlines.pop(name, None)
        if previous is not None:
            previous.cancel()
        seconds = float(match.group()) if (match := re.match(r"\d+(\.\d*)?", value)) else 0.0
        if seconds > 0:  # 0, or what is not a number, cancels the limit (func_timeout)
            self.deadlines[name] = asyncio.get_running_loop().call_later(seconds, self.hang_up, name)

    def _get(self, name: str, variable: str) -> str:
        if variable == HARD_LIMIT:
            deadline = self.deadlines.get(name)
            return "0" if deadline is None else f"{deadline.when() - asyncio.get_running_loop().time():.3f}"
        builtin = {"CHANNEL(name)": name, "UNIQUEID": self.channels[name]}
        return builtin.get(variable, self.variables.get((name, variable), ""))
