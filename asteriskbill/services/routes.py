"""Route use cases: add, list, remove (the route of a number: store/catalog.py)."""

from __future__ import annotations

from sqlalchemy import Connection, Engine, delete, insert, select
from sqlalchemy.exc import IntegrityError

from asteriskbill.billing.routes import Route
from asteriskbill.errors import UserError
from asteriskbill.services import audit
from asteriskbill.store.models.routes import RouteRow


def add_route(engine: Engine, operator: str, prefix: str, dial: str, name: str = "") -> Route:
    route = Route(prefix, dial, name)
    try:
        with engine.begin() as conn:
            conn.execute(insert(RouteRow).values(prefix=prefix, dial=dial, name=name))
            audit.record(conn, operator, "route.add", _subject(prefix), {"dial": dial, "name": name})
    except IntegrityError:
        raise UserError(f"a route for prefix {prefix!r} exists already: remove it first") from None
    return route


def list_routes(engine: Engine) -> list[Route]:
    with engine.begin() as conn:
        return _routes(conn)


def remove_route(engine: Engine, operator: str, prefix: str) -> None:
    with engine.begin() as conn:
        if not conn.execute(delete(RouteRow).where(RouteRow.prefix == prefix)).rowcount:
            raise UserError(f"no route for prefix {prefix!r} (see `asteriskbill routes list`)")
        audit.record(conn, operator, "route.remove", _subject(prefix))


def _subject(prefix: str) -> str:
    return f"prefix {prefix}" if prefix else "prefix (every number)"


def _routes(conn: Connection) -> list[Route]:
    rows = conn.execute(select(RouteRow.prefix, RouteRow.dial, RouteRow.name).order_by(RouteRow.prefix)).all()
    return [Route(*row) for row in rows]
