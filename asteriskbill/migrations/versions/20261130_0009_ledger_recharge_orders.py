"""ledger recharge orders: an index to find an order's earlier recharge of an account

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-30 17:00:00.000000

A recharge is refused when its order number recharged the account already; the look-up runs in every
recharge, under the account's lock, so it must not scan an account's call charges.
"""

from __future__ import annotations

from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("ledger_entries", schema=None) as batch_op:
        batch_op.create_index("ix_ledger_entries_account_id_reference", ["account_id", "reference"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("ledger_entries", schema=None) as batch_op:
        batch_op.drop_index("ix_ledger_entries_account_id_reference")
