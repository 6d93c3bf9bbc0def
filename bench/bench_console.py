"""The console's heaviest pages over 1,000,000 CDRs: the calls page (/calls: today, newest first, the first page)
and the statistics page (/stats: today), rendered by the real application in-process (Starlette's TestClient,
logged in as an administrator), the median of RUNS after one warm-up.

The CDRs (bench_cdr's fill) are spread over the last DAYS days, TODAY of them since midnight. Bounds, measured
in the same run on the same file: for /calls, the same page of rows fetched by bare sqlite3 and joined into an
HTML table string; for /stats, the bare GROUP BY queries of the same period.
"""

from __future__ import annotations

import html
import sqlite3
import statistics
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, time, timedelta
from pathlib import Path

from sqlalchemy import Engine
from starlette.testclient import TestClient

from asteriskbill.services import users
from asteriskbill.settings import Settings
from asteriskbill.store.engine import make_engine
from asteriskbill.web.app import create_app
from asteriskbill.web.auth import SESSION_COOKIE
from bench.bench_cdr import CDRS, fill
from bench.common import Row, timer

DAYS = 60
TODAY = 3_000
RUNS = 5
PAGE = 100  # the calls page's rows (web/pages/calls.py PAGE_SIZE)
TARGET_MS = 150


def run() -> list[Row]:
    now = datetime.now(UTC)
    midnight = datetime.combine(now.date(), time.min, tzinfo=UTC)  # the timezone setting: UTC
    with tempfile.TemporaryDirectory(prefix="bench_console_") as name:
        db = Path(name) / "console.db"
        with timer() as filled:
            fill(db, _spread(now, midnight))
        settings = Settings(db=f"sqlite:///{db}", secret_file=str(Path(name) / "secret"))
        engine = make_engine(settings)
        period = (_stamp(midnight), _stamp(midnight + timedelta(days=1)))
        with _logged_in(engine, settings) as client:
            rows = [
                Row(
                    "console pages",
                    f"fill: {CDRS:,} CDRs over {DAYS} days, {TODAY:,} of them today",
                    f"{filled():.1f} s",
                    f"database {db.stat().st_size / 2**20:,.0f} MiB",
                ),
                _page_row(client, "/calls", "today, newest first, first page", "Next page", _calls_bound(db, period)),
                _page_row(client, "/stats", "today", "data-chart", _stats_bound(db, period)),
            ]
        engine.dispose()
    return rows


def _spread(now: datetime, midnight: datetime) -> Callable[[int], datetime]:
    """When the i-th CDR starts: CDRS - TODAY spread evenly over the DAYS before midnight, then TODAY since."""
    before = CDRS - TODAY
    first = midnight - timedelta(days=DAYS)

    def began_at(i: int) -> datetime:
        if i < before:
            return first + (midnight - first) * i / before
        return midnight + (now - midnight) * (i - before) / TODAY

    return began_at


def _stamp(moment: datetime) -> str:
    """A time as SQLAlchemy stores it in SQLite (what the bounds compare with)."""
    return f"{moment:%Y-%m-%d %H:%M:%S}.000000"


@contextmanager
def _logged_in(engine: Engine, settings: Settings) -> Iterator[TestClient]:
    """A TestClient of the console holding an administrator's session."""
    users.add(engine, "bench", "bench", "admin", "bench-password")
    viewer = users.start_session(engine, "bench", "127.0.0.1", "bench")
    with TestClient(create_app(engine, settings), base_url="http://127.0.0.1") as client:
        client.cookies.set(SESSION_COOKIE, viewer.token)
        yield client


def _median_ms(work: Callable[[], object]) -> float:
    """The median of RUNS timings of ``work``, after one run to warm caches up."""
    work()
    timings = []
    for _ in range(RUNS):
        with timer() as elapsed:
            work()
        timings.append(elapsed() * 1000)
    return statistics.median(timings)


def _page_row(client: TestClient, path: str, what: str, shows: str, bound_ms: float) -> Row:
    """The page's median time; each answer must be the page with its data (``shows`` in it)."""

    def get() -> None:
        answer = client.get(path)
        if answer.status_code != 200 or shows not in answer.text:
            raise RuntimeError(f"GET {path}: {answer.status_code}, no {shows!r} in {answer.text[:300]!r}")

    ms = _median_ms(get)
    verdict = "within" if ms <= TARGET_MS else "OVER"
    return Row(
        "console pages",
        f"GET {path} ({what}), median of {RUNS}",
        f"{ms:,.1f} ms",
        f"{verdict} the {TARGET_MS} ms target; bound: bare sqlite3 {bound_ms:,.1f} ms",
    )


def _calls_bound(db: Path, period: tuple[str, str]) -> float:
    """The page's rows (today, newest first, one more to know a next page exists) joined to their account and
    company, fetched by bare sqlite3 and written into an HTML table string."""
    connection = sqlite3.connect(db)

    def page() -> str:
        found = connection.execute(
            "SELECT c.started_at, a.name, a.kind, p.name, c.number, c.destination, c.billed_seconds, c.cost, "
            "c.currency, c.outcome, c.server FROM cdrs c JOIN accounts a ON a.id = c.account_id "
            "LEFT JOIN accounts p ON p.id = a.parent_id WHERE c.started_at >= ? AND c.started_at < ? "
            "ORDER BY c.started_at DESC, c.id DESC LIMIT ?",
            (*period, PAGE + 1),
        ).fetchall()
        cells = ("".join(f"<td>{html.escape(str(value))}</td>" for value in row) for row in found[:PAGE])
        return "<table><tbody>" + "".join(f"<tr>{row}</tr>" for row in cells) + "</tbody></table>"

    try:
        return _median_ms(page)
    finally:
        connection.close()


def _stats_bound(db: Path, period: tuple[str, str]) -> float:
    """The GROUP BYs the page's figures need over the period, by bare sqlite3: per minute (the charts' hours),
    per call class, and per account, company and gateway by call class."""
    connection = sqlite3.connect(db)
    sums = "count(*), sum(c.outcome = 'ANSWER'), sum(c.billed_seconds), sum(c.cost), sum(c.buy_cost)"
    joined = "cdrs c JOIN accounts a ON a.id = c.account_id LEFT JOIN accounts p ON p.id = a.parent_id"
    where = "c.started_at >= ? AND c.started_at < ?"
    queries = (
        f"SELECT CAST(strftime('%s', c.started_at) AS INTEGER) / 60, c.currency, {sums} FROM cdrs c WHERE {where} "
        "GROUP BY 1, 2",
        f"SELECT c.currency, c.call_class, {sums} FROM cdrs c WHERE {where} GROUP BY 1, 2",
        f"SELECT a.name, c.currency, c.call_class, {sums} FROM {joined} WHERE {where} GROUP BY 1, 2, 3",
        f"SELECT coalesce(p.name, a.name), c.currency, c.call_class, {sums} FROM {joined} WHERE {where} "
        "GROUP BY 1, 2, 3",
        f"SELECT a.name, c.currency, c.call_class, {sums} FROM {joined} WHERE {where} AND a.kind = 'gateway' "
        "GROUP BY 1, 2, 3",
    )

    def group() -> None:
        for query in queries:
            connection.execute(query, period).fetchall()

    try:
        return _median_ms(group)
    finally:
        connection.close()
