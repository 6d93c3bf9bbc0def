"""rate revisions: how many rates each holds

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-01 18:00:00.000000

An import into a tariff checked its rows for rates that share prefix and validity with those in effect whenever a
revision was in effect, and every tariff has one from its creation (revision 0, empty): a GROUP BY over all the
tariff's rows, seconds for a million, even when nothing was in effect to share them with. A revision now keeps
how many rates it holds (written when it is switched in; the rows of a revision in effect never change), so that
check runs only when there are rates in effect, and `--replace` reads how many it replaced without counting rows.
Existing revisions are counted here.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("rate_revisions", sa.Column("rates", sa.Integer(), server_default="0", nullable=False))
    op.execute(
        "UPDATE rate_revisions SET rates = (SELECT count(*) FROM rates"
        " WHERE rates.tariff_id = rate_revisions.tariff_id AND rates.revision = rate_revisions.revision)"
    )


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":  # in place: batch mode would copy the table, losing its triggers
        op.execute("ALTER TABLE rate_revisions DROP COLUMN rates")
    else:
        op.drop_column("rate_revisions", "rates")
