"""servers AMI: the manager interface address, user and secret of each server (all three, or none)

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-30 17:30:00.000000

`serve` moves a call's hard limit (TIMEOUT(absolute) on its caller channel) over AMI, server by server;
a server recorded before has no AMI, and its calls hold their whole maximum.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

AMI_ALL_OR_NONE = (
    "(ami_url IS NULL AND ami_user IS NULL AND ami_secret IS NULL)"
    " OR (ami_url IS NOT NULL AND ami_user IS NOT NULL AND ami_secret IS NOT NULL)"
)


def upgrade() -> None:
    with op.batch_alter_table("servers", schema=None) as batch_op:
        batch_op.add_column(sa.Column("ami_url", sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column("ami_user", sa.String(length=80), nullable=True))
        batch_op.add_column(sa.Column("ami_secret", sa.String(length=200), nullable=True))
        batch_op.create_check_constraint("ami_all_or_none", AMI_ALL_OR_NONE)


def downgrade() -> None:
    with op.batch_alter_table("servers", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_servers_ami_all_or_none"), type_="check")
        batch_op.drop_column("ami_secret")
        batch_op.drop_column("ami_user")
        batch_op.drop_column("ami_url")
