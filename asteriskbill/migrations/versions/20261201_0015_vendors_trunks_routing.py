"""vendors, trunks, routing groups and call attempts: least-cost routing with failover

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-01 05:00:00.000000

New tables only, and new nullable columns: accounts and tariffs may name a routing group, a reservation keeps
its routes and the trunk whose channels it counts against, a CDR the trunk and vendor that carried it. The
routes table and the buy prices of sell rates stay as they are: a call whose account has no routing group
(nor its company, nor its tariff) is routed and bought as before. The columns are added in place (no table
copied: SQLite would lose the catalog triggers of tariffs, and a copy of a large cdrs table takes long).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import asteriskbill.store.types

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None

# (table, column, referred table, indexes): each a nullable foreign key added in place
_REFERENCES = (
    ("accounts", "routing_group_id", "routing_groups", ()),
    ("tariffs", "routing_group_id", "routing_groups", ()),
    ("reservations", "trunk_id", "trunks", (("ix_reservations_trunk_id_status", ["trunk_id", "status"]),)),
    ("cdrs", "trunk_id", "trunks", (("ix_cdrs_trunk_id", ["trunk_id"]),)),
    ("cdrs", "vendor_id", "vendors", (("ix_cdrs_vendor_id", ["vendor_id"]),)),
)


def upgrade() -> None:
    op.create_table(
        "routing_groups",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("policy", sa.String(length=16), nullable=False),
        sa.Column("allow_loss", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("created_at", asteriskbill.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint("policy IN ('lcr', 'priority', 'weighted')", name=op.f("ck_routing_groups_policy")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_routing_groups")),
        sa.UniqueConstraint("name", name=op.f("uq_routing_groups_name")),
    )
    op.create_table(
        "vendors",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("tariff_id", sa.Integer(), nullable=False),
        sa.Column("prepaid", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("balance", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("created_at", asteriskbill.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["tariff_id"], ["tariffs.id"], name=op.f("fk_vendors_tariff_id_tariffs")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_vendors")),
        sa.UniqueConstraint("name", name=op.f("uq_vendors_name")),
        sa.UniqueConstraint("tariff_id", name=op.f("uq_vendors_tariff_id")),
    )
    op.create_table(
        "trunks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("vendor_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("dial", sa.String(length=200), nullable=False),
        sa.Column("strip_digits", sa.Integer(), server_default="0", nullable=False),
        sa.Column("add_prefix", sa.String(length=16), server_default="", nullable=False),
        sa.Column("channel_limit", sa.Integer(), nullable=True),
        sa.Column("enabled", sa.Boolean(), server_default=sa.true(), nullable=False),
        sa.Column("demoted_at", asteriskbill.store.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("demoted_note", sa.String(length=200), nullable=True),
        sa.Column("created_at", asteriskbill.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["vendor_id"], ["vendors.id"], name=op.f("fk_trunks_vendor_id_vendors")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_trunks")),
        sa.UniqueConstraint("name", name=op.f("uq_trunks_name")),
    )
    with op.batch_alter_table("trunks", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_trunks_vendor_id"), ["vendor_id"], unique=False)

    op.create_table(
        "vendor_ledger_entries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("vendor_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("balance_after", sa.BigInteger(), nullable=False),
        sa.Column("reference", sa.String(length=100), nullable=True),
        sa.Column("note", sa.String(length=400), nullable=True),
        sa.Column("operator", sa.String(length=64), nullable=False),
        sa.Column("created_at", asteriskbill.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["vendor_id"], ["vendors.id"], name=op.f("fk_vendor_ledger_entries_vendor_id_vendors")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_vendor_ledger_entries")),
    )
    with op.batch_alter_table("vendor_ledger_entries", schema=None) as batch_op:
        batch_op.create_index("ix_vendor_ledger_entries_vendor_id_id", ["vendor_id", "id"], unique=False)

    op.create_table(
        "routing_entries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("group_id", sa.Integer(), nullable=False),
        sa.Column("trunk_id", sa.Integer(), nullable=False),
        sa.Column("prefix", sa.String(length=32), server_default="", nullable=False),
        sa.Column("priority", sa.Integer(), server_default="1", nullable=False),
        sa.Column("weight", sa.Integer(), server_default="1", nullable=False),
        sa.ForeignKeyConstraint(
            ["group_id"],
            ["routing_groups.id"],
            name=op.f("fk_routing_entries_group_id_routing_groups"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["trunk_id"], ["trunks.id"], name=op.f("fk_routing_entries_trunk_id_trunks"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_routing_entries")),
        sa.UniqueConstraint("group_id", "trunk_id", "prefix", name=op.f("uq_routing_entries_group_id_trunk_id_prefix")),
    )
    with op.batch_alter_table("routing_entries", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_routing_entries_group_id"), ["group_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_routing_entries_trunk_id"), ["trunk_id"], unique=False)

    op.create_table(
        "call_attempts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("cdr_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("trunk_id", sa.Integer(), nullable=True),
        sa.Column("dialstatus", sa.String(length=16), nullable=False),
        sa.ForeignKeyConstraint(["cdr_id"], ["cdrs.id"], name=op.f("fk_call_attempts_cdr_id_cdrs"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(
            ["trunk_id"], ["trunks.id"], name=op.f("fk_call_attempts_trunk_id_trunks"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_call_attempts")),
    )
    with op.batch_alter_table("call_attempts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_call_attempts_cdr_id"), ["cdr_id"], unique=False)
        batch_op.create_index("ix_call_attempts_trunk_id_id", ["trunk_id", "id"], unique=False)
    op.add_column("reservations", sa.Column("routes", sa.Text(), server_default="", nullable=False))
    for table, column, referred, indexes in _REFERENCES:
        name = f"fk_{table}_{column}_{referred}"
        if op.get_bind().dialect.name == "sqlite":  # ADD COLUMN takes the reference inline, no copy
            op.execute(f"ALTER TABLE {table} ADD COLUMN {column} INTEGER CONSTRAINT {name} REFERENCES {referred} (id)")
        else:
            op.add_column(table, sa.Column(column, sa.Integer(), nullable=True))
            op.create_foreign_key(name, table, referred, [column], ["id"])
        for index, columns in indexes:
            op.create_index(index, table, columns, unique=False)


def downgrade() -> None:
    for table, column, referred, indexes in reversed(_REFERENCES):
        for index, _ in indexes:
            op.drop_index(index, table_name=table)
        if op.get_bind().dialect.name == "sqlite":  # in place: a copy would cascade deletes and lose triggers
            op.execute(f"ALTER TABLE {table} DROP COLUMN {column}")
        else:
            op.drop_constraint(f"fk_{table}_{column}_{referred}", table, type_="foreignkey")
            op.drop_column(table, column)
    op.execute("ALTER TABLE reservations DROP COLUMN routes")
    for table in ("call_attempts", "routing_entries", "vendor_ledger_entries", "trunks", "vendors", "routing_groups"):
        op.drop_table(table)
