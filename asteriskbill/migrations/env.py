"""Alembic environment: the URL and engine come from asteriskbill's settings, or from the caller."""

from __future__ import annotations

from alembic import context

from asteriskbill import settings as settings_module
from asteriskbill.store.engine import make_engine
from asteriskbill.store.models import Base

config = context.config


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    engine = make_engine(settings_module.load())
    with engine.connect() as connection:
        _run(connection)
    engine.dispose()


def _run(connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=True,
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    raise SystemExit("asteriskbill migrations run online only: use `asteriskbill init`")
run_migrations_online()
