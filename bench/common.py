"""What the benchmarks share: the row they report and a timer."""

from __future__ import annotations

import time
from contextlib import contextmanager
from dataclasses import dataclass


@dataclass(frozen=True)
class Row:
    benchmark: str  # e.g. "rate lookup"
    measure: str  # e.g. "asteriskbill rates_for_number + select_rate"
    figure: str  # e.g. "31,200 lookups/s"
    note: str = ""  # e.g. "bound: dict probe 170,000/s"


@contextmanager
def timer():
    """``with timer() as t: ...`` then ``t()`` is the elapsed seconds."""
    began = time.perf_counter()
    ended: list[float] = []
    yield lambda: (ended[0] if ended else time.perf_counter()) - began
    ended.append(time.perf_counter())


def per_second(count: int, seconds: float, unit: str) -> str:
    return f"{count / seconds:,.0f} {unit}/s"


PG_DEFAULT = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"


@contextmanager
def pg_database(prefix: str = "asteriskbill_bench"):
    """A scratch PostgreSQL database (URL) for one benchmark, dropped after; None when no server answers.

    The server is ``ASTERISKBILL_BENCH_PG`` (default: the local one, user postgres); ``ASTERISKBILL_BENCH_PG=``
    (empty) leaves PostgreSQL out."""
    import os
    import uuid

    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import OperationalError

    url = os.environ.get("ASTERISKBILL_BENCH_PG", PG_DEFAULT)
    if not url:
        yield None
        return
    base = make_url(url)
    name = f"{prefix}_{uuid.uuid4().hex[:8]}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except OperationalError:
        admin.dispose()
        yield None
        return
    try:
        yield base.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
        admin.dispose()
