"""service plans: a fee each cycle, renewed once per account and cycle

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-01 12:00:00.000000

New tables plans and plan_renewals; accounts gain a nullable plan_id and plan_since, added in place as 0015 does
(no table copy: SQLite would cascade a copy of accounts into what refers to it). Every account stays on no plan,
so nothing is charged and every tariff stays as it was until an operator puts an account on a plan.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import asteriskbill.store.types

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None

_PLAN_REFERENCE = "fk_accounts_plan_id_plans"


def upgrade() -> None:
    op.create_table(
        "plans",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("tariff_id", sa.Integer(), nullable=False),
        sa.Column("cycle", sa.String(length=16), nullable=False),
        sa.Column("fee", sa.BigInteger(), nullable=False),
        sa.Column("billing", sa.String(length=16), nullable=False),
        sa.Column("on_failure", sa.String(length=16), nullable=False),
        sa.Column("created_at", asteriskbill.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint("cycle IN ('daily', 'weekly', 'monthly')", name=op.f("ck_plans_cycle")),
        sa.CheckConstraint("billing IN ('prepaid', 'postpaid')", name=op.f("ck_plans_billing")),
        sa.CheckConstraint("on_failure IN ('suspend', 'allow-debt')", name=op.f("ck_plans_on_failure")),
        sa.CheckConstraint("fee >= 0", name=op.f("ck_plans_fee")),
        sa.ForeignKeyConstraint(["tariff_id"], ["tariffs.id"], name=op.f("fk_plans_tariff_id_tariffs")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_plans")),
        sa.UniqueConstraint("name", name=op.f("uq_plans_name")),
    )
    op.create_table(
        "plan_renewals",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("plan_id", sa.Integer(), nullable=False),
        sa.Column("cycle_start", sa.Date(), nullable=False),
        sa.Column("fee", sa.BigInteger(), nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("ledger_entry_id", sa.Integer(), nullable=True),
        sa.Column("created_at", asteriskbill.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", asteriskbill.store.types.UTCDateTime(timezone=True), nullable=True),
        sa.CheckConstraint("outcome IN ('charged', 'suspended', 'debt')", name=op.f("ck_plan_renewals_outcome")),
        sa.ForeignKeyConstraint(["account_id"], ["accounts.id"], name=op.f("fk_plan_renewals_account_id_accounts")),
        sa.ForeignKeyConstraint(
            ["ledger_entry_id"], ["ledger_entries.id"], name=op.f("fk_plan_renewals_ledger_entry_id_ledger_entries")
        ),
        sa.ForeignKeyConstraint(["plan_id"], ["plans.id"], name=op.f("fk_plan_renewals_plan_id_plans")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_plan_renewals")),
        sa.UniqueConstraint("account_id", "cycle_start", name=op.f("uq_plan_renewals_account_id_cycle_start")),
    )
    op.create_index(op.f("ix_plan_renewals_plan_id"), "plan_renewals", ["plan_id"], unique=False)
    if op.get_bind().dialect.name == "sqlite":  # ADD COLUMN takes the reference inline, no copy
        op.execute(
            f"ALTER TABLE accounts ADD COLUMN plan_id INTEGER CONSTRAINT {_PLAN_REFERENCE} REFERENCES plans (id)"
        )
    else:
        op.add_column("accounts", sa.Column("plan_id", sa.Integer(), nullable=True))
        op.create_foreign_key(_PLAN_REFERENCE, "accounts", "plans", ["plan_id"], ["id"])
    op.add_column(
        "accounts", sa.Column("plan_since", asteriskbill.store.types.UTCDateTime(timezone=True), nullable=True)
    )
    op.create_index(op.f("ix_accounts_plan_id"), "accounts", ["plan_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_accounts_plan_id"), table_name="accounts")
    if op.get_bind().dialect.name == "sqlite":  # in place: a copy would cascade deletes and lose triggers
        op.execute("ALTER TABLE accounts DROP COLUMN plan_since")
        op.execute("ALTER TABLE accounts DROP COLUMN plan_id")
    else:
        op.drop_column("accounts", "plan_since")
        op.drop_constraint(_PLAN_REFERENCE, "accounts", type_="foreignkey")
        op.drop_column("accounts", "plan_id")
    op.drop_index(op.f("ix_plan_renewals_plan_id"), table_name="plan_renewals")
    op.drop_table("plan_renewals")
    op.drop_table("plans")
