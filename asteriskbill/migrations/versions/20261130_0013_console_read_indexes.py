"""console read indexes: accounts by kind, ledger entries by kind and time

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-30 21:00:00.000000

The console's search looks for a part of a name among the accounts that are not cards: with a million cards
in the same table, only an index on the kind keeps that from reading all of them (services/search.py). Its
dashboard sums today's recharges: only an index on kind and time keeps that from reading every call charge
ever posted (services/reports.py).
"""

from __future__ import annotations

from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("accounts", schema=None) as batch_op:
        batch_op.create_index("ix_accounts_kind", ["kind"], unique=False)
    with op.batch_alter_table("ledger_entries", schema=None) as batch_op:
        batch_op.create_index("ix_ledger_entries_kind_created_at", ["kind", "created_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("ledger_entries", schema=None) as batch_op:
        batch_op.drop_index("ix_ledger_entries_kind_created_at")
    with op.batch_alter_table("accounts", schema=None) as batch_op:
        batch_op.drop_index("ix_accounts_kind")
