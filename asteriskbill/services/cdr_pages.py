"""CDRs a page at a time for the console: keyset pages (after the last CDR shown, by its start and id), so a page
of a period with millions of CDRs reads one page of the started_at index and never counts them all."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

from sqlalchemy import Engine

from asteriskbill.errors import UserError
from asteriskbill.services.cdrs import CdrView, Filters, list_cdrs


@dataclass(frozen=True)
class CdrPage:
    rows: list[CdrView]
    next_after: tuple[datetime, int] | None  # Filters.after of the next page; None: this is the last one


def cdr_page(engine: Engine, f: Filters, size: int) -> CdrPage:
    """Up to ``size`` CDRs after ``f.after`` in ``f``'s order; one more is read to know whether a page follows."""
    if size < 1:
        raise UserError("a page holds at least 1 CDR")
    rows = list_cdrs(engine, replace(f, limit=size + 1))
    if len(rows) <= size:
        return CdrPage(rows, None)
    last = rows[size - 1]
    return CdrPage(rows[:size], (last.started_at, last.id))
