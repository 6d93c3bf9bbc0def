"""Route use cases: add, list, remove, and the route of a number."""

from __future__ import annotations

from functools import lru_cache

from sqlalchemy import Connection, Engine, Select, bindparam, delete, insert, select
from sqlalchemy.exc import IntegrityError

from asteriskbill.billing.routes import Route, choose_route
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


def route_for(conn: Connection, number: str) -> Route | None:
    prefixes = [number[:n] for n in range(len(number) + 1)]
    rows = conn.execute(_routes_query(len(prefixes)), {f"p{i}": p for i, p in enumerate(prefixes)}).all()
    return choose_route((Route(*row) for row in rows), number)


@lru_cache(maxsize=64)
def _routes_query(count: int) -> Select:
    """One statement per number length, built once (an expanding IN is rendered again on every call)."""
    return select(RouteRow.prefix, RouteRow.dial, RouteRow.name).where(
        RouteRow.prefix.in_([bindparam(f"p{i}") for i in range(count)])
    )
