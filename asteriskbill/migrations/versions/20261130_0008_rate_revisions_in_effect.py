"""rate revisions in effect: listed, not a range

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-30 16:00:00.000000

The rates in effect were those whose revision lay in [tariffs.rates_base, tariffs.rates_revision], so the rows
of an import killed before its switch went live with the next import. Now each revision switched in is a row
of rate_revisions. The upgrade lists what the range showed (the data as it was seen), plus each tariff's last
revision switched in; the downgrade deletes the rows of revisions not in effect, then the range is exact again.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "rate_revisions",
        sa.Column("tariff_id", sa.Integer(), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tariff_id"], ["tariffs.id"], name=op.f("fk_rate_revisions_tariff_id_tariffs"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("tariff_id", "revision", name=op.f("pk_rate_revisions")),
    )
    op.execute(
        "INSERT INTO rate_revisions (tariff_id, revision)"
        " SELECT id, rates_revision FROM tariffs"
        " UNION"
        " SELECT DISTINCT rates.tariff_id, rates.revision FROM rates JOIN tariffs ON tariffs.id = rates.tariff_id"
        " WHERE rates.revision BETWEEN tariffs.rates_base AND tariffs.rates_revision"
    )
    # Not in batch mode: that copies the table, and dropping the old one would cascade to its rates.
    op.drop_column("tariffs", "rates_base")


def downgrade() -> None:
    op.add_column("tariffs", sa.Column("rates_base", sa.Integer(), server_default="0", nullable=False))
    op.execute(
        "DELETE FROM rates WHERE NOT EXISTS (SELECT 1 FROM rate_revisions AS r"
        " WHERE r.tariff_id = rates.tariff_id AND r.revision = rates.revision)"
        " AND rates.revision <= (SELECT rates_revision FROM tariffs WHERE tariffs.id = rates.tariff_id)"
    )
    op.execute(
        "UPDATE tariffs SET rates_base = (SELECT min(revision) FROM rate_revisions AS r WHERE r.tariff_id = tariffs.id)"
        " WHERE EXISTS (SELECT 1 FROM rate_revisions AS r WHERE r.tariff_id = tariffs.id)"
    )
    op.drop_table("rate_revisions")
