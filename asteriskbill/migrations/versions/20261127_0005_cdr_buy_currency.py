"""cdrs.buy_currency: the vendor's currency of a buy cost no rate could convert at settlement

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-27 22:37:22.731238
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("cdrs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("buy_currency", sa.String(length=3), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("cdrs", schema=None) as batch_op:
        batch_op.drop_column("buy_currency")
