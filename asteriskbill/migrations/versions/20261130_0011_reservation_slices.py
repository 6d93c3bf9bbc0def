"""reservation slices: the time a call holds, its callee's answer, its deadline; statuses checked

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-30 18:00:00.000000

A call now holds its credit slice by slice: held_seconds is the talk time the held amount pays for,
deadline_at the moment its channel is hung up unless extended, answered_at the callee's answer. A
reservation made before holds its whole maximum (held_seconds = max_seconds) and keeps no deadline.
The status column takes only the four states of billing.reservation.ReservationStatus.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from asteriskbill.store.types import UTCDateTime

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

STATUSES = "status IN ('open', 'settled', 'released', 'flagged')"


def upgrade() -> None:
    with op.batch_alter_table("reservations", schema=None) as batch_op:
        batch_op.add_column(sa.Column("held_seconds", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("answered_at", UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("deadline_at", UTCDateTime(timezone=True), nullable=True))
    op.execute("UPDATE reservations SET held_seconds = max_seconds")
    with op.batch_alter_table("reservations", schema=None) as batch_op:
        batch_op.alter_column("held_seconds", existing_type=sa.Integer(), nullable=False)
        batch_op.create_index("ix_reservations_status_deadline_at", ["status", "deadline_at"], unique=False)
        batch_op.create_check_constraint("status", STATUSES)
        batch_op.create_check_constraint("held_within_max", "held_seconds <= max_seconds")


def downgrade() -> None:
    with op.batch_alter_table("reservations", schema=None) as batch_op:
        batch_op.drop_constraint("held_within_max", type_="check")
        batch_op.drop_constraint("status", type_="check")
        batch_op.drop_index("ix_reservations_status_deadline_at")
        batch_op.drop_column("deadline_at")
        batch_op.drop_column("answered_at")
        batch_op.drop_column("held_seconds")
