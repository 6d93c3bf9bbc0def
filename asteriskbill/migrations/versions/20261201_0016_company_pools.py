"""company pools: a sub-account may spend its company's balance, within its own limits per day and month

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-01 11:00:00.000000

Accounts gain ``pool`` (own | company) and optional daily and monthly spending limits; reservations and CDRs
gain ``payer_id``, the account whose balance the call spends, filled with the account itself for every row
already there (an account's calls so far were all paid from its own balance). Columns are added in place, as
0015 does (no table copy).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None

_PAYERS = ("reservations", "cdrs")
_INDEXES = (
    ("ix_reservations_payer_id_status", "reservations", ["payer_id", "status"]),
    ("ix_cdrs_account_id_started_at", "cdrs", ["account_id", "started_at"]),
)


def upgrade() -> None:
    op.add_column("accounts", sa.Column("pool", sa.String(length=16), server_default="own", nullable=False))
    op.add_column("accounts", sa.Column("daily_limit", sa.BigInteger(), nullable=True))
    op.add_column("accounts", sa.Column("monthly_limit", sa.BigInteger(), nullable=True))
    for table in _PAYERS:
        name = f"fk_{table}_payer_id_accounts"
        if op.get_bind().dialect.name == "sqlite":  # ADD COLUMN takes the reference inline, no copy
            op.execute(f"ALTER TABLE {table} ADD COLUMN payer_id INTEGER CONSTRAINT {name} REFERENCES accounts (id)")
        else:
            op.add_column(table, sa.Column("payer_id", sa.Integer(), nullable=True))
            op.create_foreign_key(name, table, "accounts", ["payer_id"], ["id"])
        op.execute(f"UPDATE {table} SET payer_id = account_id")
    for index, table, columns in _INDEXES:
        op.create_index(index, table, columns, unique=False)


def downgrade() -> None:
    for index, table, _ in reversed(_INDEXES):
        op.drop_index(index, table_name=table)
    sqlite = op.get_bind().dialect.name == "sqlite"
    for table in reversed(_PAYERS):
        if sqlite:  # in place: a copy would cascade deletes and lose triggers
            op.execute(f"ALTER TABLE {table} DROP COLUMN payer_id")
        else:
            op.drop_constraint(f"fk_{table}_payer_id_accounts", table, type_="foreignkey")
            op.drop_column(table, "payer_id")
    for column in ("monthly_limit", "daily_limit", "pool"):
        if sqlite:
            op.execute(f"ALTER TABLE accounts DROP COLUMN {column}")
        else:
            op.drop_column("accounts", column)
