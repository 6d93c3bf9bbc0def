"""Operator preferences kept in the database (the Preference table), read and written in the caller's transaction."""

from __future__ import annotations

from sqlalchemy import Connection, insert, select, update

from asteriskbill.store.models import Preference


def get(conn: Connection, name: str) -> str | None:
    return conn.execute(select(Preference.value).where(Preference.name == name)).scalar_one_or_none()


def put(conn: Connection, name: str, value: str) -> None:
    changed = conn.execute(update(Preference).where(Preference.name == name).values(value=value)).rowcount
    if not changed:
        conn.execute(insert(Preference).values(name=name, value=value))
