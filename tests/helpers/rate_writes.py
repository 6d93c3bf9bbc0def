"""Watching a rates import write: the batches (SQLite, rate_rows.insert) and runs (PostgreSQL, rate_rows.copy)."""

from __future__ import annotations

from collections.abc import Callable

from asteriskbill.services import rate_rows


def log_writes(monkeypatch, events: list) -> None:
    """Append ("write", rows) to ``events`` as each batch or run of rows begins to be written."""
    for name in ("insert", "copy"):
        monkeypatch.setattr(rate_rows, name, _logged(getattr(rate_rows, name), events))


def _logged(write: Callable[..., None], events: list) -> Callable[..., None]:
    def logged(*args) -> None:
        events.append(("write", len(args[-1])))
        write(*args)

    return logged
