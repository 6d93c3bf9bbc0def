"""reservations: no index by status alone, and those by trunk and by bundle only of the calls that have one

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-01 18:30:00.000000

Every authorization inserts a reservation and every settlement or release updates its status, each writing an
entry in every index of the status: seven of them. The index by status alone is the first column of the one by
status and deadline, which serves the same look-ups; most calls have no trunk (routed by the routes table) and no
bundle, so the indexes by trunk and by bundle now hold only the calls that have one (every query of them names
one). Four entries per call instead of seven; no data changes.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0022"
down_revision = "0021"
branch_labels = None
depends_on = None

_SET = ("trunk_id", "bundle_id")


def upgrade() -> None:
    op.drop_index("ix_reservations_status", table_name="reservations")
    for column in _SET:
        _index(column, sa.text(f"{column} IS NOT NULL"))


def downgrade() -> None:
    for column in _SET:
        _index(column, None)
    op.create_index("ix_reservations_status", "reservations", ["status"], unique=False)


def _index(column: str, where: sa.TextClause | None) -> None:
    name = f"ix_reservations_{column}_status"
    op.drop_index(name, table_name="reservations")
    op.create_index(name, "reservations", [column, "status"], unique=False, sqlite_where=where, postgresql_where=where)
