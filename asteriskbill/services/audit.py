"""The audit log: every operator action is recorded in the same transaction as the action."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, Select, insert, select

from asteriskbill.billing.periods import check_period
from asteriskbill.store.models import AuditEntry
from asteriskbill.store.types import utcnow


@dataclass(frozen=True)
class Audit:
    at: datetime
    operator: str
    action: str
    subject: str
    detail: dict[str, Any] | None


def record(conn: Connection, operator: str, action: str, subject: str, detail: dict[str, Any] | None = None) -> None:
    """Write one audit entry (e.g. action "account.recharge", subject the account) in ``conn``'s transaction."""
    conn.execute(
        insert(AuditEntry).values(
            at=utcnow(),
            operator=operator,
            action=action,
            subject=subject,
            detail=None if detail is None else json.dumps(detail, sort_keys=True, default=str),
        )
    )


@dataclass(frozen=True)
class Filters:
    since: datetime | None = None  # included (aware)
    until: datetime | None = None  # excluded (aware)
    operator: str | None = None
    action: str | None = None  # its start: "account" finds account.recharge, account.freeze, ...
    subject: str | None = None


@dataclass(frozen=True)
class Page:
    entries: list[Audit]  # newest first
    older: int | None  # ``before`` for the next, older page; None: this is the oldest


def entries(engine: Engine, since: datetime | None = None) -> list[Audit]:
    """The audit log, oldest first, from ``since`` (an aware datetime) on."""
    query = _where(select(AuditEntry.__table__), Filters(since=since)).order_by(AuditEntry.id)
    with engine.begin() as conn:
        return [_audit(r) for r in conn.execute(query)]


def page(engine: Engine, f: Filters, before: int | None = None, size: int = 100) -> Page:
    """One page of the audit log, newest first, of the entries older than entry ``before`` (keyset by id)."""
    check_period(f.since, f.until)
    query = _where(select(AuditEntry.__table__), f).order_by(AuditEntry.id.desc()).limit(size + 1)
    if before is not None:
        query = query.where(AuditEntry.id < before)
    with engine.begin() as conn:
        rows = conn.execute(query).all()
    return Page([_audit(r) for r in rows[:size]], rows[size - 1].id if len(rows) > size else None)


def _where(query: Select, f: Filters) -> Select:
    if f.since is not None:
        query = query.where(AuditEntry.at >= f.since)
    if f.until is not None:
        query = query.where(AuditEntry.at < f.until)
    if f.operator:
        query = query.where(AuditEntry.operator == f.operator)
    if f.action:
        query = query.where(AuditEntry.action.startswith(f.action, autoescape=True))
    if f.subject:
        query = query.where(AuditEntry.subject == f.subject)
    return query


def _audit(row) -> Audit:
    return Audit(row.at, row.operator, row.action, row.subject, None if row.detail is None else json.loads(row.detail))
