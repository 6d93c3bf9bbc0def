"""serve's one writer: what is queued goes into one transaction, and every caller is answered only after the COMMIT;
a failing item is rolled back alone (the group run again, each item under its own SAVEPOINT). On SQLite and
PostgreSQL."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import event, func, insert, select

from asteriskbill.store.models import AuditEntry
from asteriskbill.store.writer import Writer


def note(subject: str):
    def write(conn):
        conn.execute(insert(AuditEntry).values(operator="t", action="test.write", subject=subject))
        return subject

    return write


def failing(conn):
    conn.execute(insert(AuditEntry).values(operator="t", action="test.write", subject="doomed"))
    raise ValueError("this item fails")


def subjects(engine) -> list[str]:
    with engine.begin() as conn:
        return sorted(conn.execute(select(AuditEntry.subject).where(AuditEntry.action == "test.write")).scalars())


class Gate:
    """Holds the writer inside its first item until the others are queued, so that they form one group."""

    def __init__(self):
        self.entered, self.open = threading.Event(), threading.Event()

    def __call__(self, conn):
        self.entered.set()
        assert self.open.wait(30)
        return "gate"


def commits(engine) -> list[int]:
    seen: list[int] = []
    event.listen(engine, "commit", lambda conn: seen.append(1))
    return seen


def test_queued_items_share_one_commit_and_are_answered_after_it(engine):
    committed = commits(engine)
    writer = Writer(engine)
    try:
        gate = Gate()
        first = writer.submit(gate)
        assert gate.entered.wait(30)
        futures = [writer.submit(note(f"n{i}")) for i in range(20)]
        assert not any(f.done() for f in futures)
        gate.open.set()
        assert first.result(30) == "gate"
        assert [f.result(30) for f in futures] == [f"n{i}" for i in range(20)]
    finally:
        writer.close()
    assert len(committed) == 2  # the gate's group, then the twenty together
    assert subjects(engine) == sorted(f"n{i}" for i in range(20))


def test_a_failing_item_is_rolled_back_alone(engine):
    writer = Writer(engine)
    try:
        gate = Gate()
        writer.submit(gate)
        assert gate.entered.wait(30)
        good, bad, after = writer.submit(note("a")), writer.submit(failing), writer.submit(note("b"))
        gate.open.set()
        assert (good.result(30), after.result(30)) == ("a", "b")
        with pytest.raises(ValueError, match="this item fails"):
            bad.result(30)
    finally:
        writer.close()
    assert subjects(engine) == ["a", "b"]  # "doomed" was written by the failing item, and rolled back with it


def test_savepoints_only_once_an_item_failed(engine):
    """A group that succeeds runs its items as they are (a SAVEPOINT was two statements an item); a failure makes
    the group run again with them. SQLite's trace shows the writer's statements."""
    if engine.dialect.name != "sqlite":
        pytest.skip("the statements are read from SQLite's trace")
    statements: list[str] = []
    trace = lambda dbapi, _record: dbapi.set_trace_callback(statements.append)  # noqa: E731
    event.listen(engine, "connect", trace)
    engine.dispose()  # the writer's connection is a new one, traced
    writer = Writer(engine)
    try:
        assert [writer.submit(note(f"s{i}")).result(30) for i in range(3)] == ["s0", "s1", "s2"]
        assert statements and not any("SAVEPOINT" in s for s in statements)
        gate = Gate()
        writer.submit(gate)
        assert gate.entered.wait(30)
        good, bad = writer.submit(note("t")), writer.submit(failing)
        gate.open.set()
        assert good.result(30) == "t"
        with pytest.raises(ValueError):
            bad.result(30)
        assert sum(s == "SAVEPOINT writer_item" for s in statements) == 2
    finally:
        writer.close()
        event.remove(engine, "connect", trace)
    assert subjects(engine) == ["s0", "s1", "s2", "t"]


def write_all(conn, items: list[str]) -> list[str]:
    if "bad" in items and len(items) > 1:
        raise ValueError("one bad item spoils a batch")
    if items == ["bad"]:
        raise ValueError("bad alone")
    for item in items:
        note(item)(conn)
    return [item.upper() for item in items]


def test_batched_items_run_together_and_alone_when_the_batch_fails(engine):
    calls: list[list[str]] = []

    def many(conn, items):
        calls.append(list(items))
        return write_all(conn, items)

    writer = Writer(engine)
    try:
        gate = Gate()
        writer.submit(gate)
        assert gate.entered.wait(30)
        together = [writer.submit_many(many, s) for s in ("p", "q")]
        gate.open.set()
        assert [f.result(30) for f in together] == ["P", "Q"]
        assert calls == [["p", "q"]]

        calls.clear()
        gate = Gate()
        writer.submit(gate)
        assert gate.entered.wait(30)
        mixed = [writer.submit_many(many, s) for s in ("x", "bad", "y")]
        gate.open.set()
        assert mixed[0].result(30) == "X" and mixed[2].result(30) == "Y"
        with pytest.raises(ValueError, match="bad alone"):
            mixed[1].result(30)
        assert calls == [["x", "bad", "y"], ["x"], ["bad"], ["y"]]
    finally:
        writer.close()
    assert subjects(engine) == ["p", "q", "x", "y"]


def test_close_writes_what_is_queued_and_a_cancelled_item_is_skipped(engine):
    writer = Writer(engine)
    gate = Gate()
    writer.submit(gate)
    assert gate.entered.wait(30)
    kept = [writer.submit(note(f"k{i}")) for i in range(3)]
    dropped = writer.submit(note("gone"))
    assert dropped.cancel()
    gate.open.set()
    writer.close()
    assert all(f.done() and f.result() for f in kept)
    assert subjects(engine) == ["k0", "k1", "k2"]


def test_a_group_whose_commit_fails_fails_every_item(engine):
    def refuse(conn):
        raise RuntimeError("the disk is full")

    event.listen(engine, "commit", refuse)
    writer = Writer(engine)
    try:
        futures = [writer.submit(note(f"c{i}")) for i in range(3)]
        for future in futures:
            with pytest.raises(RuntimeError, match="disk is full"):
                future.result(30)
    finally:
        writer.close()
        event.remove(engine, "commit", refuse)
    with engine.begin() as conn:
        assert conn.execute(select(func.count()).where(AuditEntry.action == "test.write")).scalar_one() == 0
