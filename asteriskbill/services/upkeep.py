"""Database upkeep: an online backup of the SQLite file, and the purge of CDRs past their retention."""

from __future__ import annotations

import os
import sqlite3
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy import Connection, Engine, Select, delete, func, select

from asteriskbill.billing.periods import Age, before
from asteriskbill.billing.reservation import RELEASED, SETTLED
from asteriskbill.errors import UserError
from asteriskbill.files import create_private
from asteriskbill.services import audit
from asteriskbill.store.engine import is_sqlite
from asteriskbill.store.models import Cdr, Reservation
from asteriskbill.store.types import utcnow

PURGE_BATCH = 5000  # rows per delete transaction: the write lock is never held for long


# --- backup -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Backup:
    path: Path
    size: int  # bytes
    cdrs: int  # in the copy


def backup(engine: Engine, dest: str | os.PathLike[str], now: datetime | None = None) -> Backup:
    """Copy the SQLite database to ``dest`` (a file, or a folder to put a dated file in) while it runs.

    The sqlite3 backup API copies in one step from one read snapshot, so calls settled meanwhile are
    in the copy whole or not at all and nobody waits. The copy is checked and then renamed into place:
    ``dest`` is never a half-written file.
    """
    source = _sqlite_file(engine)
    dest = Path(dest)
    if dest.is_dir():
        dest = dest / f"asteriskbill-{(now or utcnow()):%Y%m%dT%H%M%SZ}.db"
    if not dest.parent.is_dir():
        raise UserError(f"cannot write {dest}: folder {dest.parent} does not exist")
    if dest.exists() and dest.samefile(source):
        raise UserError(f"{dest} is the database itself: give another file")
    partial = dest.with_name(f".{dest.name}.partial")
    try:
        cdrs = _copy(source, partial)
        os.replace(partial, dest)
    except (OSError, sqlite3.Error) as exc:
        raise UserError(f"cannot write {dest}: {getattr(exc, 'strerror', None) or exc}") from None
    finally:
        partial.unlink(missing_ok=True)
    return Backup(dest, dest.stat().st_size, cdrs)


def _sqlite_file(engine: Engine) -> Path:
    if not is_sqlite(engine):
        raise UserError(
            "cdr backup copies a SQLite database; on PostgreSQL use pg_dump "
            "(e.g. pg_dump -Fc -f asteriskbill.dump DATABASE)"
        )
    if engine.url.database in (None, "", ":memory:"):
        raise UserError("the database is in memory: there is no file to back up")
    return Path(engine.url.database)


def _copy(source: Path, target: Path) -> int:
    """Copy, check the copy, and count its CDRs."""
    target.unlink(missing_ok=True)
    create_private(target)  # private before a byte is in it
    src = sqlite3.connect(source, timeout=30)
    dst = sqlite3.connect(target)
    try:
        src.backup(dst)  # pages=-1: all at once, from one snapshot
        dst.execute("PRAGMA journal_mode=DELETE")  # one self-contained file
        check = dst.execute("PRAGMA quick_check").fetchone()[0]
        if check != "ok":
            raise UserError(f"the copy of {source} failed its integrity check ({check}): not kept")
        cdrs: int = dst.execute("SELECT count(*) FROM cdrs").fetchone()[0]
        return cdrs
    finally:
        dst.close()
        src.close()


# --- purge --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Purge:
    cutoff: datetime  # CDRs that started before it, reservations closed before it
    cdrs: int
    reservations: int
    deleted: bool  # False: a dry run that counted only


def purge(engine: Engine, operator: str, age: Age, *, apply: bool = False, now: datetime | None = None) -> Purge:
    """Count (or, with ``apply``, delete) the CDRs that started more than ``age`` ago and the settled or
    released reservations closed by then; open and flagged reservations are kept whatever their age.

    Deleting goes in batches of PURGE_BATCH rows of each, one short transaction each; the audit entry
    commits with the first batch. An interrupted purge leaves only old rows, for the next purge.
    """
    cutoff = before(now or utcnow(), age)
    old_cdrs = select(Cdr.id).where(Cdr.started_at < cutoff)
    old_reservations = select(Reservation.id).where(
        Reservation.status.in_((SETTLED, RELEASED)), Reservation.closed_at < cutoff
    )
    with engine.begin() as conn:
        cdrs, reservations = _count(conn, old_cdrs), _count(conn, old_reservations)
        if not apply:
            return Purge(cutoff, cdrs, reservations, deleted=False)
        audit.record(
            conn,
            operator,
            "cdr.purge",
            f"before {cutoff.isoformat()}",
            {"older_than": str(age), "cdrs": cdrs, "reservations": reservations},
        )
        done = _delete_batch(conn, old_cdrs, old_reservations)
    cdrs, reservations = done
    while max(done) == PURGE_BATCH:
        with engine.begin() as conn:
            done = _delete_batch(conn, old_cdrs, old_reservations)
        cdrs, reservations = cdrs + done[0], reservations + done[1]
    return Purge(cutoff, cdrs, reservations, deleted=True)


def _count(conn: Connection, ids: Select[tuple[int]]) -> int:
    return conn.execute(select(func.count()).select_from(ids.subquery())).scalar_one()


def _delete_batch(
    conn: Connection, old_cdrs: Select[tuple[int]], old_reservations: Select[tuple[int]]
) -> tuple[int, int]:
    """Delete up to PURGE_BATCH of the old CDRs and as many old reservations: how many of each went."""
    return (
        conn.execute(delete(Cdr).where(Cdr.id.in_(old_cdrs.limit(PURGE_BATCH)))).rowcount,
        conn.execute(delete(Reservation).where(Reservation.id.in_(old_reservations.limit(PURGE_BATCH)))).rowcount,
    )
