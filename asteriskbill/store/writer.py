"""One database writer with group commit, for `serve`'s hot path (authorizations, settlements).

SQLite has one write lock: six threads taking turns at it spent most of their time in the busy handler's sleeps
while the lock sat idle. Here one thread owns one connection and writes everything: it takes what is queued, runs
it all in ONE transaction (BEGIN IMMEDIATE on SQLite), then COMMITs once, and only then answers each caller —
durability is unchanged (``synchronous=FULL`` still syncs before anyone hears "done"), and one commit's sync pays
for the whole group. When an item fails, the group is rolled back and run again with each item under its own
SAVEPOINT, so the failing item is rolled back alone and gets its exception (the items run again must do nothing
but their database work).
PostgreSQL runs the same code and keeps its row locks.

Items queued with the same ``fn_many`` (``submit_many``) run together as ``fn_many(conn, items)``, the way K
settlements become a few statements; if that raises, each item is retried alone under its own SAVEPOINT.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from typing import Any, TypeVar

from sqlalchemy import Connection, Engine

log = logging.getLogger("asteriskbill.store")
T = TypeVar("T")
A = TypeVar("A")
MAX_GROUP = 256  # items per transaction: enough to pay one sync over many, short enough to keep the lock brief
Many = Callable[[Connection, list[Any]], Sequence[Any]]


@dataclass
class _Item:
    future: Future | asyncio.Future  # an asyncio one is answered on its loop, with the rest of its group
    fn: Callable[[Connection], Any] | None = None  # a single item
    many: Many | None = None  # or one of a group run together
    arg: Any = None
    loop: asyncio.AbstractEventLoop | None = None  # the asyncio future's

    def wanted(self) -> bool:
        """Not given up by its caller (a cancelled item is skipped)."""
        if isinstance(self.future, Future):
            return self.future.set_running_or_notify_cancel()
        return not self.future.cancelled()


Answer = tuple[_Item, bool, Any]  # (item, succeeded, its result or exception)


@dataclass
class _Group:
    """The items of one transaction, the batched ones gathered by their function."""

    single: list[_Item] = field(default_factory=list)
    batched: dict[Many, list[_Item]] = field(default_factory=dict)


class Writer:
    """``submit(fn)`` runs ``fn(conn)`` in the writer's next transaction; the future is answered after COMMIT."""

    def __init__(self, engine: Engine, *, max_group: int = MAX_GROUP):
        self.engine = engine
        self.max_group = max_group
        self._queue: queue.SimpleQueue[_Item | None] = queue.SimpleQueue()  # None: stop
        self._thread = threading.Thread(target=self._loop, name="asteriskbill-writer", daemon=True)
        self._thread.start()

    # -- the callers' side ---------------------------------------------------------------------------
    def submit(self, fn: Callable[[Connection], T]) -> Future[T]:
        future: Future[T] = Future()
        self._queue.put(_Item(future, fn=fn))
        return future

    def submit_many(self, fn_many: Callable[[Connection, list[A]], Sequence[T]], item: A) -> Future[T]:
        future: Future[T] = Future()
        self._queue.put(_Item(future, many=fn_many, arg=item))
        return future

    async def run(self, fn: Callable[[Connection], T]) -> T:
        return await self.future(fn)

    def future(self, fn: Callable[[Connection], T]) -> asyncio.Future[T]:
        """``run`` as the future of the running loop that the writer answers (no task around it)."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[T] = loop.create_future()
        self._queue.put(_Item(future, fn=fn, loop=loop))
        return future

    async def run_many(self, fn_many: Callable[[Connection, list[A]], Sequence[T]], item: A) -> T:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[T] = loop.create_future()
        self._queue.put(_Item(future, many=fn_many, arg=item, loop=loop))
        return await future

    def close(self) -> None:
        """Finish what is queued, then stop the thread."""
        self._queue.put(None)
        self._thread.join()

    # -- the writer's side ---------------------------------------------------------------------------
    def _loop(self) -> None:
        with self.engine.connect() as conn:
            while True:
                items, stop = self._take()
                if items:
                    self._write(conn, items)
                if stop:
                    return

    def _take(self) -> tuple[list[_Item], bool]:
        """Wait for one item, then take whatever else is queued, up to max_group."""
        first = self._queue.get()
        if first is None:
            return [], True
        items = [first]
        while len(items) < self.max_group:
            try:
                more = self._queue.get_nowait()
            except queue.Empty:
                break
            if more is None:
                return items, True
            items.append(more)
        return items, False

    def _write(self, conn: Connection, items: list[_Item]) -> None:
        items = [item for item in items if item.wanted()]
        group = _Group()
        for item in items:
            if item.many is None:
                group.single.append(item)
            else:
                group.batched.setdefault(item.many, []).append(item)
        try:
            try:
                with conn.begin():
                    answers = _at_once(conn, group)
            except _Spoiled as spoiled:  # rolled back: again, each item under a SAVEPOINT of its own
                with conn.begin():
                    answers = _one_by_one(conn, group, spoiled.culprit)
        except Exception as exc:  # the COMMIT (or BEGIN) failed: nothing of the group was written
            log.warning("a group of %d writes failed: %s", len(items), exc)
            answers = [(item, False, exc) for item in items]
        _answer(answers)


class _Spoiled(Exception):
    """An item failed in a group run without SAVEPOINTs: the group is rolled back and run again with them."""

    def __init__(self, culprit: _Item | Many):
        super().__init__()
        self.culprit = culprit  # the single item, or the function of the batch, that failed


def _at_once(conn: Connection, group: _Group) -> list[Answer]:
    """The group's items with no SAVEPOINT (two statements an item, and the interpreter lock handed to the event
    loop at each): nearly every group succeeds whole. An item's failure spoils the group (``_Spoiled``), so each
    item must do nothing but its database work: it may run again."""
    answers: list[Answer] = []
    for item in group.single:
        assert item.fn is not None
        try:
            answers.append((item, True, item.fn(conn)))
        except Exception as exc:
            raise _Spoiled(item) from exc
    for many, batch in group.batched.items():
        try:
            results = many(conn, [item.arg for item in batch])
        except Exception as exc:
            raise _Spoiled(many) from exc
        answers.extend((item, True, result) for item, result in zip(batch, results, strict=True))
    return answers


def _one_by_one(conn: Connection, group: _Group, culprit: _Item | Many) -> list[Answer]:
    """The group again, each item (and each batch) under its own SAVEPOINT; the batch that failed, item by item."""
    answers = [_one(conn, item) for item in group.single]
    for many, batch in group.batched.items():
        answers.extend(_batch(conn, many, batch, together=many is not culprit))
    return answers


def _answer(answers: list[Answer]) -> None:
    """Answer each caller; those waiting on an event loop with one wake-up of that loop per group."""
    by_loop: dict[asyncio.AbstractEventLoop, list[Answer]] = {}
    for item, ok, value in answers:
        if item.loop is None:
            _reply(item, ok, value)
        else:
            by_loop.setdefault(item.loop, []).append((item, ok, value))
    for loop, replies in by_loop.items():
        with suppress(RuntimeError):  # that loop is closed: its callers are gone
            loop.call_soon_threadsafe(_reply_all, replies)


def _reply_all(replies: list[Answer]) -> None:
    for item, ok, value in replies:
        _reply(item, ok, value)


def _reply(item: _Item, ok: bool, value: Any) -> None:
    if item.future.done():  # an asyncio caller cancelled meanwhile
        return
    if ok:
        item.future.set_result(value)
    else:
        item.future.set_exception(value)


def _one(conn: Connection, item: _Item) -> Answer:
    assert item.fn is not None
    try:
        with _savepoint(conn):
            return item, True, item.fn(conn)
    except Exception as exc:
        return item, False, exc


def _batch(conn: Connection, many: Many, batch: list[_Item], together: bool = True) -> list[Answer]:
    """The group's items of one function together; if that fails (or ``together`` is False), each alone."""
    if together and len(batch) > 1:
        try:
            with _savepoint(conn):
                results = many(conn, [item.arg for item in batch])
            return [(item, True, result) for item, result in zip(batch, results, strict=True)]
        except Exception:
            log.debug("a batch of %d failed together: retried one by one", len(batch), exc_info=True)
    answers: list[Answer] = []
    for item in batch:
        try:
            with _savepoint(conn):
                (result,) = many(conn, [item.arg])
            answers.append((item, True, result))
        except Exception as exc:
            answers.append((item, False, exc))
    return answers


@contextmanager
def _savepoint(conn: Connection) -> Iterator[None]:
    """A SAVEPOINT sent straight to the driver (SQLAlchemy's begin_nested compiles its clause every time, a
    quarter of a small authorization's cost): rolled back to, and released, when the item fails."""
    cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    try:
        cursor.execute("SAVEPOINT writer_item")
        try:
            yield
        except BaseException:
            cursor.execute("ROLLBACK TO SAVEPOINT writer_item")
            cursor.execute("RELEASE SAVEPOINT writer_item")
            raise
        cursor.execute("RELEASE SAVEPOINT writer_item")
    finally:
        cursor.close()


def write_now(engine: Engine, fn: Callable[[Connection], T]) -> T:
    """``fn(conn)`` in a transaction of its own: the same conn-level use case where no writer runs (CLI, agi-bin)."""
    with engine.begin() as conn:
        return fn(conn)
