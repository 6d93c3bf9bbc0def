"""catalog version: raised by a tariff's routing group too, as serve now keeps it with the tariff in memory

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-01 15:00:00.000000

Authorization asked the database for a call's routing group (the account's, else its company's, else its
tariff's) with one statement per call; the tariff's is now kept with the tariff in serve's catalog, so assigning a
tariff a routing group must raise the catalog version as its other columns do. The tariffs trigger is made again
with that column; no data changes.
"""

from __future__ import annotations

from alembic import op

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None

BUMP = (
    "INSERT INTO catalog_version (id, version) VALUES (1, 1)"
    " ON CONFLICT (id) DO UPDATE SET version = catalog_version.version + 1"
)
BEFORE = "name, currency, rounding, timezone, rates_revision"  # 0014's
AFTER = f"{BEFORE}, routing_group_id"


def upgrade() -> None:
    _tariff_trigger(AFTER)


def downgrade() -> None:
    _tariff_trigger(BEFORE)


def _tariff_trigger(columns: str) -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute("DROP TRIGGER tariffs_update_catalog")
        op.execute(f"CREATE TRIGGER tariffs_update_catalog AFTER UPDATE OF {columns} ON tariffs BEGIN {BUMP}; END")
    else:
        op.execute("DROP TRIGGER tariffs_catalog ON tariffs")
        op.execute(
            f"CREATE TRIGGER tariffs_catalog AFTER INSERT OR DELETE OR UPDATE OF {columns} ON tariffs"
            " FOR EACH STATEMENT EXECUTE FUNCTION catalog_changed()"
        )
