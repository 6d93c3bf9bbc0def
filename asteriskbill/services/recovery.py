"""Recovery: reservations whose call is gone are settled from Asterisk's CDR file, or released and flagged.

A reservation is overdue when it is older than its maximum duration plus time to ring plus a grace,
and its caller channel is not up (when the live channels are known). Such a call ended without the
listener settling it (listener down, events lost). If Asterisk's Master.csv has it, it is settled
from there (once: settlement is idempotent on BILL_SESSION); otherwise the credit is released and
the reservation flagged for the operator. A flagged reservation is settled if its call shows up later.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import Engine, select, update

from asteriskbill.billing.master_csv import MasterCsv, read
from asteriskbill.errors import UserError
from asteriskbill.services import audit
from asteriskbill.services.calls import FLAGGED, OPEN
from asteriskbill.services.settlement import settle
from asteriskbill.store.models import Reservation
from asteriskbill.store.types import utcnow

RING_ALLOWANCE = timedelta(minutes=5)  # Dial may ring before the limit starts counting
UTC_ZONE = ZoneInfo("UTC")
GONE = (
    "overdue, not up on any Asterisk server that answers, and not settled: "
    "check Asterisk's CDR (asteriskbill cdr reconcile)"
)


@dataclass
class Recovered:
    settled: list[str] = field(default_factory=list)
    flagged: list[str] = field(default_factory=list)


def overdue(engine: Engine, now: datetime, grace_seconds: int, statuses=(OPEN,)) -> list:
    with engine.begin() as conn:
        rows = conn.execute(
            select(
                Reservation.session,
                Reservation.uniqueid,
                Reservation.created_at,
                Reservation.max_seconds,
                Reservation.status,
            ).where(Reservation.status.in_(statuses))
        ).all()
    return [r for r in rows if r.created_at + timedelta(seconds=r.max_seconds + grace_seconds) + RING_ALLOWANCE < now]


def expire(
    engine: Engine,
    live_channels: set[str] | None,
    grace_seconds: int,
    master: MasterCsv | None = None,
    zone: ZoneInfo = UTC_ZONE,
    now: datetime | None = None,
    why: str = GONE,
) -> Recovered:
    """Settle (from ``master``) or release and flag (saying ``why``) every overdue reservation whose channel is gone."""
    now = now or utcnow()
    done = Recovered()
    statuses = (OPEN, FLAGGED) if master is not None else (OPEN,)
    for row in overdue(engine, now, grace_seconds, statuses):
        if live_channels is not None and row.uniqueid in live_channels:
            continue  # still up: the safety net hangs it up, the events settle it
        result = master.result(row.session, row.uniqueid, zone) if master is not None else None
        if result is not None and settle(engine, result) is not None:
            done.settled.append(row.session)
        elif row.status == OPEN:
            _flag(engine, row.session, why)
            done.flagged.append(row.session)
    return done


def _flag(engine: Engine, session: str, why: str) -> None:
    """Give the credit back and flag the call for the operator (`calls flagged`), with why; closed_at says when."""
    with engine.begin() as conn:
        conn.execute(
            update(Reservation)
            .where(Reservation.session == session, Reservation.status == OPEN)
            .values(status=FLAGGED, closed_at=utcnow(), note=why[:200])
        )


def reconcile_file(engine: Engine, operator: str, path: str, zone: ZoneInfo, grace_seconds: int = 5) -> Recovered:
    """`cdr reconcile Master.csv`: settle overdue and flagged reservations from Asterisk's CDR file.

    The whole file is read and checked first (billing/master_csv.py): one that is not a Master.csv is
    refused before anything changes. Its times are read in ``zone``: the Asterisk server's local time
    zone, or UTC when cdr_csv writes them so (usegmtime=yes)."""
    try:
        with open(path, newline="", encoding="utf-8", errors="replace") as handle:
            master = read(handle, path)
    except OSError as exc:
        raise UserError(f"cannot read {path}: {exc.strerror}") from None
    with engine.begin() as conn:  # before the first change: what it settles or flags is then on record
        audit.record(conn, operator, "cdr.reconcile", path, {"zone": str(zone)})
    return expire(engine, None, grace_seconds, master, zone, why=f"overdue and not in {path}: check the call by hand")
