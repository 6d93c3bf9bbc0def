"""The bounds FastAGI is measured beside: minimal asyncio servers doing the same round trips with nothing else.

``line_server(commands)``: reads the environment, sends ``commands`` SET VARIABLE lines one reply at a time (the
last BILL_STATUS=OK), then ends as asteriskbill's server does (EOF, wait for Asterisk's HANGUP and close): the
cost of the TCP sessions and round trips themselves. ``raw_sql_server(path)``: the same, doing the ``ext``
authorization's statements inline with raw sqlite3 (with one writer thread committing everything queued in one
transaction: the account by extension, the credit it holds, the new reservation; on one CPU, as serve keeps to
one) and answering the dialplan's five variables: the raw-SQL group-commit bound. Both are ``StartServer``
factories for bench.lean_asterisk.
"""

from __future__ import annotations

import asyncio
import queue
import sqlite3
import threading
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from asteriskbill import affinity
from bench.lean_asterisk import HOST, StartServer

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], "asyncio.Future[None] | object"]


async def _env(reader: asyncio.StreamReader) -> dict[bytes, bytes]:
    values = {}
    while (line := await reader.readline()) not in (b"\n", b""):
        key, _, value = line.partition(b": ")
        values[key] = value[:-1]
    return values


async def _end(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """As asteriskbill ends a session: EOF, then wait for Asterisk's HANGUP line and its close."""
    writer.write_eof()
    while await reader.read(1024):
        pass
    writer.close()


async def _listen(handle: Handler) -> int:
    server = await asyncio.start_server(handle, HOST, 0)  # type: ignore[arg-type]
    port: int = server.sockets[0].getsockname()[1]
    return port


def line_server(commands: int) -> StartServer:
    lines = [b"SET VARIABLE V%d 1\n" % n for n in range(commands - 1)] + [b"SET VARIABLE BILL_STATUS OK\n"]

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await _env(reader)
        for line in lines:
            writer.write(line)
            await reader.readline()
        await _end(reader, writer)

    return lambda: _listen(handle)


# -- the raw-SQL group-commit bound -----------------------------------------------------------------------
_ACCOUNT = "SELECT id, balance, credit_limit, max_calls, status FROM accounts WHERE extension = ?"
_HELD = "SELECT coalesce(sum(amount), 0), count(*) FROM reservations WHERE account_id = ? AND status = 'open'"
_RESERVE = (
    "INSERT INTO reservations (session, account_id, status, amount, held_seconds, max_seconds, deadline_at, "
    "dialled, number, call_class, destination, prefix, dial, priced_at, pricing, channel, uniqueid, callerid, "
    "created_at) VALUES (?, ?, 'open', ?, ?, ?, NULL, ?, ?, 'national', 'bound', ?, ?, ?, '{}', ?, ?, ?, ?)"
)
PRICE_PER_MINUTE = 50_000  # micro-units: the bound's fixed price (serve takes rates from memory)
MAX_SECONDS = 3600


def _connect(path: Path) -> sqlite3.Connection:
    """As the store connects (WAL, synchronous FULL, autocommit with explicit BEGIN)."""
    db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=FULL")
    return db


class _GroupWriter:
    """One thread, one connection: every authorization queued goes into one BEGIN IMMEDIATE ... COMMIT."""

    def __init__(self, path: Path, loop: asyncio.AbstractEventLoop):
        self.db, self.loop = _connect(path), loop
        self.queue: queue.SimpleQueue[tuple[asyncio.Future[str | None], tuple]] = queue.SimpleQueue()
        threading.Thread(target=self._run, daemon=True).start()

    def authorize(self, call: tuple) -> asyncio.Future[str | None]:
        future = self.loop.create_future()
        self.queue.put((future, call))
        return future

    def _run(self) -> None:
        while True:
            group = [self.queue.get()]
            while not self.queue.empty():
                group.append(self.queue.get())
            self.db.execute("BEGIN IMMEDIATE")
            answers = [(future, self._authorize(*call)) for future, call in group]
            self.db.execute("COMMIT")
            self.loop.call_soon_threadsafe(_answer, answers)

    def _authorize(self, extension: str, *call: str) -> str | None:
        """The reservation's session, or None (unknown or blocked account, no credit)."""
        account = self.db.execute(_ACCOUNT, (extension,)).fetchone()
        if account is None or account[4] != "active":
            return None
        account_id, balance, credit_limit, max_calls, _ = account
        held, calls = self.db.execute(_HELD, (account_id,)).fetchone()
        seconds = min(MAX_SECONDS, (balance + credit_limit - held) // PRICE_PER_MINUTE * 60)
        if seconds <= 0 or (max_calls and calls >= max_calls):
            return None
        session = str(uuid.uuid4())
        self.db.execute(_RESERVE, (session, account_id, seconds // 60 * PRICE_PER_MINUTE, seconds, seconds, *call))
        return session


def _answer(answers: list[tuple[asyncio.Future[str | None], str | None]]) -> None:
    for future, session in answers:
        if not future.done():
            future.set_result(session)


def raw_sql_server(path: Path) -> StartServer:
    """The bound over a copy of the database at ``path`` (``<path>.bound``), which is left as it was."""

    async def start() -> int:
        copy = path.with_name(path.name + ".bound")
        with sqlite3.connect(path) as source, sqlite3.connect(copy) as target:
            source.backup(target)
        affinity.pin(affinity.AUTO)  # on one CPU, as serve keeps to one
        writer_thread = _GroupWriter(copy, asyncio.get_running_loop())

        async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            env = await _env(reader)
            dialled, extension = env[b"agi_arg_1"].decode(), env[b"agi_callerid"].decode()
            number, dial, now = dialled.lstrip("0"), f"PJSIP/{dialled}@carrier", datetime.now(UTC).isoformat(" ")
            caller = env[b"agi_channel"].decode(), env[b"agi_uniqueid"].decode(), extension
            session = await writer_thread.authorize((extension, dialled, number, number[:2], dial, now, *caller, now))
            variables = [("BILL_STATUS", "NO_CREDIT")]
            if session is not None:
                variables = [("BILL_SESSION", session), ("BILL_MAX_MS", "3600000"), ("BILL_DIAL", dial)]
                variables += [("BILL_NUMBER", number), ("BILL_STATUS", "OK")]
            for name, value in variables:
                writer.write(f"SET VARIABLE {name} {value}\n".encode())
                await reader.readline()
            await _end(reader, writer)

        return await _listen(handle)

    return start
