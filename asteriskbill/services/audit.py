"""The audit log: every operator action is recorded in the same transaction as the action."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, insert, select

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


def entries(engine: Engine, since: datetime | None = None) -> list[Audit]:
    """The audit log, oldest first, from ``since`` (an aware datetime) on."""
    query = select(AuditEntry.__table__).order_by(AuditEntry.id)
    if since is not None:
        query = query.where(AuditEntry.at >= since)
    with engine.begin() as conn:
        rows = conn.execute(query).all()
    return [
        Audit(r.at, r.operator, r.action, r.subject, None if r.detail is None else json.loads(r.detail)) for r in rows
    ]
