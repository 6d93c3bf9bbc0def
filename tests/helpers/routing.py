"""Least-cost routing rows for tests: an account bound to a routing group whose trunks are tried in a set order.

Each trunk gets a vendor of its own, whose buy rates are a tariff of its own (made with the CLI, like any
tariff); the vendors, trunks, group and entries are written with SQLAlchemy Core inserts (store/models/routing.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine, insert, select, update

from asteriskbill.store.models import Account, CallAttempt, RoutingEntry, RoutingGroup, Tariff, Trunk, Vendor
from tests.helpers.cli import Cli


@dataclass(frozen=True)
class Route:
    """A trunk: its Dial() target (``${NUMBER}`` is the normalised number) and what its vendor charges a minute
    for numbers of ``prefix``."""

    name: str
    dial: str
    buy: str = "0.30"
    prefix: str = "44"


def route_accounts(
    cli: Cli, engine: Engine, folder: Path, accounts: Sequence[str], routes: Sequence[Route], currency: str = "USD"
) -> list[int]:
    """Bind ``accounts`` (by name) to a new routing group (policy priority) that tries ``routes`` in the order
    given; the ids of their trunks, in that order."""
    for route in routes:
        rates = folder / f"buy-{route.name}.csv"
        rates.write_text(f"prefix,destination,price,increments\n{route.prefix},{route.name},{route.buy},1/1\n")
        cli("tariff", "create", f"buy-{route.name}", "--currency", currency)
        cli("rates", "import", f"buy-{route.name}", str(rates))
    with engine.begin() as conn:
        group = conn.execute(
            insert(RoutingGroup).values(name=f"group-{len(routes)}-{routes[0].name}", policy="priority")
        )
        group_id = group.inserted_primary_key[0]
        trunk_ids = []
        for priority, route in enumerate(routes, start=1):
            tariff_id = conn.execute(select(Tariff.id).where(Tariff.name == f"buy-{route.name}")).scalar_one()
            vendor = conn.execute(insert(Vendor).values(name=route.name, currency=currency, tariff_id=tariff_id))
            trunk = conn.execute(
                insert(Trunk).values(vendor_id=vendor.inserted_primary_key[0], name=route.name, dial=route.dial)
            )
            trunk_ids.append(trunk.inserted_primary_key[0])
            conn.execute(insert(RoutingEntry).values(group_id=group_id, trunk_id=trunk_ids[-1], priority=priority))
        conn.execute(update(Account).where(Account.name.in_(accounts)).values(routing_group_id=group_id))
    return trunk_ids


def attempts(engine: Engine, cdr_id: int) -> list[tuple[int, int | None, str]]:
    """The call's attempts as settled: (position, trunk id, Dial status), in order."""
    with engine.connect() as conn:
        query = select(CallAttempt.position, CallAttempt.trunk_id, CallAttempt.dialstatus)
        return [tuple(row) for row in conn.execute(query.where(CallAttempt.cdr_id == cdr_id).order_by("position"))]
