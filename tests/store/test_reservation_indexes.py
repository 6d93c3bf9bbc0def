"""The look-ups of open calls by trunk, by bundle and by status use their indexes (migration 0022): those by trunk and
by bundle hold only the calls that have one, which SQLite uses only where the query implies the column is set."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from asteriskbill.billing.reservation import OPEN
from asteriskbill.services import bundles, routing
from asteriskbill.settings import Settings
from asteriskbill.store.engine import make_engine
from asteriskbill.store.models import Reservation


def plan(engine, statement) -> str:
    """SQLite's plan of ``statement``, its steps joined."""
    with engine.connect() as conn:
        compiled = statement.compile(conn, compile_kwargs={"render_postcompile": True})
        values = tuple(compiled.params[name] for name in compiled.positiontup or ())
        steps = conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {compiled}", values)
        return " | ".join(row[-1] for row in steps)


@pytest.mark.parametrize(
    "statement, index",
    [
        (routing._CHANNELS.params(ids=[1, 2]), "ix_reservations_trunk_id_status"),
        (
            bundles._LEFT.statement.params(plan_id=1, account_id=1, cycle="2026-12-01"),
            "ix_reservations_bundle_id_status",
        ),
        (select(Reservation.id).where(Reservation.status == OPEN.value), "ix_reservations_status_deadline_at"),
    ],
    ids=["trunk", "bundle", "status"],
)
def test_open_calls_are_found_by_their_index(sqlite_url, statement, index):
    engine = make_engine(Settings(db=sqlite_url))
    try:
        assert index in plan(engine, statement)
    finally:
        engine.dispose()
