"""bundles: a plan's included minutes or money, what each account has left of them, what calls hold and used

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-01 14:00:00.000000

Plans gain ``bundles`` ("" for every plan there: none); a new table account_bundles keeps what each account has
left of each bundle this cycle; reservations gain the bundle a call draws on and what of it they hold (seconds of
minutes, or micro-units of money), CDRs what a call used of a bundle (0 for every row there: the balance paid it
all). Columns added in place, as 0015.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None

_USED = (("bundle_seconds", sa.Integer()), ("bundle_amount", sa.BigInteger()))
_REFERENCE = "fk_reservations_bundle_id_account_bundles"
_ADDED = (
    ("cdrs", "bundle_amount"),
    ("cdrs", "bundle_seconds"),
    ("reservations", "bundle_amount"),
    ("reservations", "bundle_seconds"),
    ("reservations", "bundle_id"),
)


def upgrade() -> None:
    op.add_column("plans", sa.Column("bundles", sa.Text(), server_default="", nullable=False))
    op.create_table(
        "account_bundles",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("plan_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("cycle_start", sa.Date(), nullable=False),
        sa.Column("left", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_account_bundles_account_id_accounts"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["plan_id"], ["plans.id"], name=op.f("fk_account_bundles_plan_id_plans"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_account_bundles")),
        sa.UniqueConstraint(
            "account_id", "plan_id", "position", name=op.f("uq_account_bundles_account_id_plan_id_position")
        ),
    )
    op.create_index(op.f("ix_account_bundles_plan_id"), "account_bundles", ["plan_id"], unique=False)
    if op.get_bind().dialect.name == "sqlite":  # ADD COLUMN takes the reference inline, no copy
        op.execute(
            f"ALTER TABLE reservations ADD COLUMN bundle_id INTEGER CONSTRAINT {_REFERENCE} "
            "REFERENCES account_bundles (id)"
        )
    else:
        op.add_column("reservations", sa.Column("bundle_id", sa.Integer(), nullable=True))
        op.create_foreign_key(_REFERENCE, "reservations", "account_bundles", ["bundle_id"], ["id"])
    for table in ("reservations", "cdrs"):
        for column, kind in _USED:
            op.add_column(table, sa.Column(column, kind, server_default="0", nullable=False))
    op.create_index("ix_reservations_bundle_id_status", "reservations", ["bundle_id", "status"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_reservations_bundle_id_status", table_name="reservations")
    if op.get_bind().dialect.name != "sqlite":
        op.drop_constraint(_REFERENCE, "reservations", type_="foreignkey")
    for table, column in _ADDED:
        _drop_in_place(table, column)
    op.drop_index(op.f("ix_account_bundles_plan_id"), table_name="account_bundles")
    op.drop_table("account_bundles")
    _drop_in_place("plans", "bundles")


def _drop_in_place(table: str, column: str) -> None:
    """SQLite drops it in place: batch mode would copy the table, cascading deletes and losing its triggers."""
    if op.get_bind().dialect.name == "sqlite":
        op.execute(f"ALTER TABLE {table} DROP COLUMN {column}")
    else:
        op.drop_column(table, column)
