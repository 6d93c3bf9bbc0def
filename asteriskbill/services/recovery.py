"""Recovery: reservations whose call is gone are settled from Asterisk's CDR file, or released and flagged.

When `serve` starts or its event socket reconnects it lists the live channels (GET /channels on every
server) and recovers at once every open call authorized before that list whose channel is not in it
(``recover_gone``): the call ended while nobody was listening. Any call that Master.csv holds has ended
(its hangup handler wrote the session), so it is settled from there whatever its age. Else a reservation
is overdue when it is older than its maximum duration plus time to ring plus a grace,
and its caller channel is not up (when the live channels are known). Such a call ended without the
listener settling it (listener down, events lost). If Asterisk's Master.csv has it, it is settled
from there (once: settlement is idempotent on BILL_SESSION); otherwise the credit is released and
the reservation flagged for the operator. A flagged reservation is settled if its call shows up later.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import Engine, select

from asteriskbill.billing.master_csv import MasterCsv, read
from asteriskbill.billing.reservation import FLAGGED, OPEN
from asteriskbill.errors import UserError
from asteriskbill.services import audit
from asteriskbill.services.lifecycle import flag, settle
from asteriskbill.store.engine import reading
from asteriskbill.store.models import Reservation
from asteriskbill.store.types import utcnow

RING_ALLOWANCE = timedelta(minutes=5)  # Dial may ring before the limit starts counting
UTC_ZONE = ZoneInfo("UTC")
LIST_MARGIN = timedelta(seconds=2)  # a call authorized this close to the list may not be in it yet
ENDED_UNSEEN = "ended while serve was not listening, and not in Master.csv: check the call by hand"
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


def recover_gone(
    engine: Engine,
    live_channels: set[str],
    listed_at: datetime,
    master: MasterCsv | None = None,
    zone: ZoneInfo = UTC_ZONE,
) -> Recovered:
    """Settle (from ``master``) or release and flag every open call authorized before ``listed_at`` (less a
    margin for clocks) whose caller channel is not in ``live_channels``, listed at that moment."""
    with reading(engine) as conn:
        rows = conn.execute(
            select(Reservation.session, Reservation.uniqueid).where(
                Reservation.status == OPEN, Reservation.created_at < listed_at - LIST_MARGIN
            )
        ).all()
    done = Recovered()
    for row in rows:
        if row.uniqueid not in live_channels:
            _settle_or_flag(engine, row.session, row.uniqueid, master, zone, ENDED_UNSEEN, done)
    return done


def _settle_or_flag(
    engine: Engine, session: str, uniqueid: str, master: MasterCsv | None, zone: ZoneInfo, why: str, done: Recovered
) -> None:
    result = master.result(session, uniqueid, zone) if master is not None else None
    if result is not None and settle(engine, result) is not None:
        done.settled.append(session)
    elif flag(engine, session, why):
        done.flagged.append(session)


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
    if master is not None:  # ended calls, whatever their age
        for session, uniqueid in _held_in(engine, master):
            _settle_or_flag(engine, session, uniqueid, master, zone, why, done)
    for row in overdue(engine, now, grace_seconds, statuses):
        if row.session in done.settled or (live_channels is not None and row.uniqueid in live_channels):
            continue  # still up: the safety net hangs it up, the events settle it
        _settle_or_flag(engine, row.session, row.uniqueid, master, zone, why, done)
    return done


def _held_in(engine: Engine, master: MasterCsv) -> list:
    """(session, uniqueid) of the open and flagged calls whose end Master.csv records."""
    sessions = list(master.sessions)
    with reading(engine) as conn:
        return [
            tuple(row)
            for start in range(0, len(sessions), 500)  # bound the IN list
            for row in conn.execute(
                select(Reservation.session, Reservation.uniqueid).where(
                    Reservation.session.in_(sessions[start : start + 500]),
                    Reservation.status.in_((OPEN, FLAGGED)),
                )
            )
        ]


def load_master(path: str) -> MasterCsv:
    """Asterisk's Master.csv at ``path``, read whole and checked (UserError: one line saying what is wrong)."""
    try:
        with open(path, newline="", encoding="utf-8", errors="replace") as handle:
            return read(handle, path)
    except OSError as exc:
        raise UserError(f"cannot read {path}: {exc.strerror}") from None


def reconcile_file(engine: Engine, operator: str, path: str, zone: ZoneInfo, grace_seconds: int = 5) -> Recovered:
    """`cdr reconcile Master.csv`: settle overdue and flagged reservations from Asterisk's CDR file.

    The whole file is read and checked first (billing/master_csv.py): one that is not a Master.csv is
    refused before anything changes. Its times are read in ``zone``: the Asterisk server's local time
    zone, or UTC when cdr_csv writes them so (usegmtime=yes)."""
    master = load_master(path)
    with engine.begin() as conn:  # before the first change: what it settles or flags is then on record
        audit.record(conn, operator, "cdr.reconcile", path, {"zone": str(zone)})
    return expire(engine, None, grace_seconds, master, zone, why=f"overdue and not in {path}: check the call by hand")
