"""catalog version: a counter raised by triggers on every change to what `serve` keeps in memory

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-30 23:00:00.000000

`serve` keeps tariffs, holidays, rate indexes, routes and number plans in memory and checks them against
catalog_version with one primary-key read per transaction, so a change made by any program (the CLI, the
console, a hand-written UPDATE) is seen by the next authorization. Triggers raise it in the changing transaction
itself: routes, holidays, number_plans and rate_revisions on every change, tariffs on all but rates_staged (an
import hands out a revision to stage under: nothing changes for callers until it is switched in). The rates
table has none: an import writes a million rows, and those in effect only change by a switch of revision.
The triggers upsert: a truncated catalog_version starts again.

A SQLite migration that copies one of these tables (batch mode) drops its triggers: tests/store/test_catalog.py
checks each table still raises the version.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

BUMP = (
    "INSERT INTO catalog_version (id, version) VALUES (1, 1)"
    " ON CONFLICT (id) DO UPDATE SET version = catalog_version.version + 1"
)
WATCHED = ("routes", "holidays", "number_plans", "rate_revisions")
TARIFF_COLUMNS = "name, currency, rounding, timezone, rates_revision"


def upgrade() -> None:
    op.create_table(
        "catalog_version",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_catalog_version")),
    )
    op.execute("INSERT INTO catalog_version (id, version) VALUES (1, 0)")
    if op.get_bind().dialect.name == "sqlite":
        _sqlite_triggers()
    else:
        _statement_triggers()


def _sqlite_triggers() -> None:
    """Row triggers (SQLite has no others): one per table and kind of change."""
    events = [(table, event, event) for table in WATCHED for event in ("INSERT", "UPDATE", "DELETE")]
    events += [("tariffs", "INSERT", "INSERT"), ("tariffs", "DELETE", "DELETE")]
    events += [("tariffs", "UPDATE", f"UPDATE OF {TARIFF_COLUMNS}")]
    for table, name, event in events:
        op.execute(f"CREATE TRIGGER {table}_{name.lower()}_catalog AFTER {event} ON {table} BEGIN {BUMP}; END")


def _statement_triggers() -> None:
    """PostgreSQL: once per statement, whatever number of rows it changes."""
    op.execute(
        "CREATE OR REPLACE FUNCTION catalog_changed() RETURNS trigger LANGUAGE plpgsql AS"
        f" $$ BEGIN {BUMP}; RETURN NULL; END $$"
    )
    for table in WATCHED:
        op.execute(
            f"CREATE TRIGGER {table}_catalog AFTER INSERT OR UPDATE OR DELETE ON {table}"
            " FOR EACH STATEMENT EXECUTE FUNCTION catalog_changed()"
        )
    op.execute(
        f"CREATE TRIGGER tariffs_catalog AFTER INSERT OR DELETE OR UPDATE OF {TARIFF_COLUMNS} ON tariffs"
        " FOR EACH STATEMENT EXECUTE FUNCTION catalog_changed()"
    )


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for table in WATCHED:
            for name in ("insert", "update", "delete"):
                op.execute(f"DROP TRIGGER {table}_{name}_catalog")
        for name in ("insert", "update", "delete"):
            op.execute(f"DROP TRIGGER tariffs_{name}_catalog")
    else:
        for table in (*WATCHED, "tariffs"):
            op.execute(f"DROP TRIGGER {table}_catalog ON {table}")
        op.execute("DROP FUNCTION catalog_changed()")
    op.drop_table("catalog_version")
