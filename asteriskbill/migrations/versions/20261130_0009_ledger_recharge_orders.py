"""ledger recharge orders: an index to find an order's earlier recharge of an account

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-30 17:00:00.000000

A recharge is refused when its order number recharged the account already; the look-up runs in every
recharge, under the account's lock, so it must not scan an account's call charges. Partial: only recharges.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

RECHARGES = sa.text("kind = 'recharge'")


def upgrade() -> None:
    with op.batch_alter_table("ledger_entries", schema=None) as batch_op:
        batch_op.create_index(
            "ix_ledger_entries_recharge_order",
            ["account_id", "reference"],
            unique=False,
            sqlite_where=RECHARGES,
            postgresql_where=RECHARGES,
        )


def downgrade() -> None:
    with op.batch_alter_table("ledger_entries", schema=None) as batch_op:
        batch_op.drop_index("ix_ledger_entries_recharge_order")
