"""incoming calls: an account's incoming tariff, its DIDs, and the direction of every call

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-01 13:00:00.000000

Accounts gain a nullable incoming_tariff_id (no account has one: calls to it stay unbilled until an operator gives
it one); a new table dids maps our numbers to the accounts they ring; reservations and CDRs gain ``direction``
('out' | 'in'), 'out' for every row already there (every call so far was made by its account). Columns are added
in place as 0015 does (no table copy: SQLite would cascade a copy of accounts into what refers to it); on SQLite
the check and the reference go inline in ADD COLUMN, and DROP COLUMN takes them away with the column.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import asteriskbill.store.types

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None

_TARIFF_REFERENCE = "fk_accounts_incoming_tariff_id_tariffs"
_DIRECTED = ("reservations", "cdrs")
_CHECK = "direction IN ('out', 'in')"


def upgrade() -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"
    if sqlite:
        op.execute(
            "ALTER TABLE accounts ADD COLUMN incoming_tariff_id INTEGER "
            f"CONSTRAINT {_TARIFF_REFERENCE} REFERENCES tariffs (id)"
        )
    else:
        op.add_column("accounts", sa.Column("incoming_tariff_id", sa.Integer(), nullable=True))
        op.create_foreign_key(_TARIFF_REFERENCE, "accounts", "tariffs", ["incoming_tariff_id"], ["id"])
    for table in _DIRECTED:
        check = f"ck_{table}_direction"
        if sqlite:
            op.execute(
                f"ALTER TABLE {table} ADD COLUMN direction VARCHAR(3) DEFAULT 'out' NOT NULL "
                f"CONSTRAINT {check} CHECK ({_CHECK})"
            )
        else:  # PostgreSQL 11+ adds a column with a constant default without rewriting the table
            op.add_column(table, sa.Column("direction", sa.String(length=3), server_default="out", nullable=False))
            op.create_check_constraint(check, table, _CHECK)
    op.create_table(
        "dids",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("number", sa.String(length=40), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("created_at", asteriskbill.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["account_id"], ["accounts.id"], name=op.f("fk_dids_account_id_accounts")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dids")),
        sa.UniqueConstraint("number", name=op.f("uq_dids_number")),
    )
    op.create_index(op.f("ix_dids_account_id"), "dids", ["account_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_dids_account_id"), table_name="dids")
    op.drop_table("dids")
    sqlite = op.get_bind().dialect.name == "sqlite"
    for table in reversed(_DIRECTED):
        if sqlite:  # in place: a copy would cascade deletes and lose triggers
            op.execute(f"ALTER TABLE {table} DROP COLUMN direction")
        else:
            op.drop_constraint(f"ck_{table}_direction", table, type_="check")
            op.drop_column(table, "direction")
    if sqlite:
        op.execute("ALTER TABLE accounts DROP COLUMN incoming_tariff_id")
    else:
        op.drop_constraint(_TARIFF_REFERENCE, "accounts", type_="foreignkey")
        op.drop_column("accounts", "incoming_tariff_id")
