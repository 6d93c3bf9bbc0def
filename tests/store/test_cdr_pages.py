"""CDRs a page at a time (services/cdr_pages.py) on every backend: keyset pages walk every CDR exactly once in
either order, ties on the start included, and never count the CDRs the filters match."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import event

from asteriskbill.errors import UserError
from asteriskbill.services import cdr_pages, cdrs
from tests.helpers.cdr_rows import Call, add_cdrs

T = datetime(2026, 11, 2, 10, 0, tzinfo=UTC)
COUNT = 23


@pytest.fixture
def started(cli, engine) -> dict[int, datetime]:
    """COUNT CDRs of extension acme-201 at 7 moments a minute apart (ties on each), written out of time order;
    their start by id."""
    cli("tariff", "create", "retail", "--currency", "USD")
    cli("accounts", "create", "extension", "acme-201", "--tariff", "retail", "--extension", "201")
    moments = [T + timedelta(minutes=n * 3 % 7) for n in range(COUNT)]
    ids = add_cdrs(engine, "acme-201", [Call(moment) for moment in moments])
    return dict(zip(ids, moments, strict=True))


def in_order(started: dict[int, datetime], oldest_first: bool = False) -> list[int]:
    return sorted(started, key=lambda cdr_id: (started[cdr_id], cdr_id), reverse=not oldest_first)


def walk(engine, f: cdrs.Filters, size: int) -> list[list[int]]:
    """Every page's CDR ids, following next_after until there is none."""
    pages: list[list[int]] = []
    after = None
    while len(pages) <= COUNT:
        found = cdr_pages.cdr_page(engine, replace(f, after=after), size)
        pages.append([cdr.id for cdr in found.rows])
        if found.next_after is None:
            return pages
        last = found.rows[-1]
        assert found.next_after == (last.started_at, last.id)
        after = found.next_after
    raise AssertionError("the pages never end")


@pytest.mark.parametrize("oldest_first", [False, True])
@pytest.mark.parametrize("size", [1, 4, COUNT, COUNT + 1])
def test_pages_walk_every_cdr_once_in_order(started, engine, oldest_first, size):
    pages = walk(engine, cdrs.Filters(oldest_first=oldest_first), size)
    assert [cdr_id for page in pages for cdr_id in page] == in_order(started, oldest_first)
    assert [len(page) for page in pages] == [size] * (COUNT // size) + ([COUNT % size] if COUNT % size else [])


@pytest.mark.parametrize("oldest_first", [False, True])
def test_pages_within_a_period(started, engine, oldest_first):
    since, until = T + timedelta(minutes=2), T + timedelta(minutes=5)
    f = cdrs.Filters(since=since, until=until, oldest_first=oldest_first)
    expected = [cdr_id for cdr_id in in_order(started, oldest_first) if since <= started[cdr_id] < until]
    assert [cdr_id for page in walk(engine, f, 3) for cdr_id in page] == expected


def test_no_next_page_at_the_end_nor_when_nothing_matches(started, engine):
    last = in_order(started)[-1]
    found = cdr_pages.cdr_page(engine, cdrs.Filters(after=(started[last], last)), 5)
    assert (found.rows, found.next_after) == ([], None)
    nothing = cdr_pages.cdr_page(engine, cdrs.Filters(since=T - timedelta(days=2), until=T - timedelta(days=1)), 5)
    assert (nothing.rows, nothing.next_after) == ([], None)


def test_a_page_never_counts_the_cdrs(started, engine):
    statements: list[str] = []

    def seen(conn, cursor, statement, *args):
        statements.append(statement.lower())

    event.listen(engine, "before_cursor_execute", seen)
    try:
        cdr_pages.cdr_page(engine, cdrs.Filters(since=T), 5)
    finally:
        event.remove(engine, "before_cursor_execute", seen)
    assert statements and not any("count(" in statement for statement in statements)


def test_the_page_size_is_at_least_one(started, engine):
    with pytest.raises(UserError, match="at least 1"):
        cdr_pages.cdr_page(engine, cdrs.Filters(), 0)


def test_the_newest_page_of_a_period_reads_the_start_index_on_sqlite(started, engine):
    """No sort of every CDR in the period: SQLite walks ix_cdrs_started_at backwards and stops after a page."""
    if engine.dialect.name != "sqlite":
        pytest.skip("EXPLAIN QUERY PLAN is SQLite's")
    executed: list[tuple] = []

    def seen(conn, cursor, statement, parameters, *args):
        if "FROM cdrs" in statement:
            executed.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", seen)
    try:
        cdr_pages.cdr_page(engine, cdrs.Filters(since=T, until=T + timedelta(days=1)), 5)
    finally:
        event.remove(engine, "before_cursor_execute", seen)
    [(statement, parameters)] = executed
    with engine.connect() as conn:
        plan = " | ".join(row[-1] for row in conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", parameters))
    assert "SEARCH cdrs USING INDEX ix_cdrs_started_at (started_at>? AND started_at<?)" in plan, plan
    assert "TEMP B-TREE" not in plan, plan
