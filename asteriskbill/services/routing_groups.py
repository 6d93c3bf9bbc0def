"""Routing group use cases: add, list, show, edit, their trunks, binding them to accounts and tariffs, and
`routing explain`: which trunks a call of an account would be offered, in which order, and why the others not.

The order itself is decided by services/routing.py (routes_in) over billing/routing.py's rules; an account's
group is its own, else its company's, else its tariff's (services/routing.py: group_of).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import Connection, Engine, delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from asteriskbill.billing.numbers import is_digits
from asteriskbill.billing.routes import Route
from asteriskbill.billing.routing import FIRST_MINUTE, POLICIES, Verdict
from asteriskbill.errors import UserError
from asteriskbill.services import accounts, audit, calls, quotes, routing, tariffs, trunks
from asteriskbill.settings import Settings
from asteriskbill.store.catalog import SQL_CATALOG
from asteriskbill.store.models import Account, RoutingEntry, RoutingGroup, Tariff, Trunk, Vendor

MAX_PREFIX = 32  # routing_entries.prefix is String(32)
MAX_NAME = 100


@dataclass(frozen=True)
class EntryView:
    trunk: str
    vendor: str
    prefix: str  # "": every number the group routes
    priority: int
    weight: int


@dataclass(frozen=True)
class GroupView:
    id: int
    name: str
    policy: str
    allow_loss: bool
    entries: list[EntryView] = field(default_factory=list)
    accounts: list[str] = field(default_factory=list)  # bound to it
    tariffs: list[str] = field(default_factory=list)  # bound to it


def _policy(policy: str) -> str:
    if policy not in POLICIES:
        raise UserError(f"unknown routing policy {policy!r}: use one of {', '.join(POLICIES)}")
    return policy


def _row(conn: Connection, name: str):
    row = conn.execute(select(RoutingGroup.__table__).where(RoutingGroup.name == name)).one_or_none()
    if row is None:
        raise UserError(f"no routing group named {name!r} (see `asteriskbill routing list`)")
    return row


def group_id(conn: Connection, name: str) -> int:
    """The id of routing group ``name`` (`accounts edit --routing-group`), or one clear error."""
    return _row(conn, name).id


def _views(conn: Connection, rows) -> list[GroupView]:
    ids = [row.id for row in rows]
    entries: dict[int, list[EntryView]] = {}
    query = (
        select(RoutingEntry.group_id, Trunk.name, Vendor.name, RoutingEntry.prefix, RoutingEntry.priority)
        .add_columns(RoutingEntry.weight)
        .join(Trunk, Trunk.id == RoutingEntry.trunk_id)
        .join(Vendor, Vendor.id == Trunk.vendor_id)
        .where(RoutingEntry.group_id.in_(ids))
        .order_by(RoutingEntry.prefix, RoutingEntry.priority, Trunk.name)
    )
    for gid, *entry in conn.execute(query):
        entries.setdefault(gid, []).append(EntryView(*entry))
    bound: dict[tuple[str, int], list[str]] = {}
    for kind, table in (("account", Account), ("tariff", Tariff)):
        query = select(table.routing_group_id, table.name).where(table.routing_group_id.in_(ids))
        for gid, name in conn.execute(query.order_by(table.name)):
            bound.setdefault((kind, gid), []).append(name)
    return [
        GroupView(
            row.id,
            row.name,
            row.policy,
            row.allow_loss,
            entries.get(row.id, []),
            bound.get(("account", row.id), []),
            bound.get(("tariff", row.id), []),
        )
        for row in rows
    ]


def add_group(engine: Engine, operator: str, name: str, policy: str, allow_loss: bool = False) -> GroupView:
    if not name.strip() or name != name.strip() or len(name) > MAX_NAME:
        raise UserError(f"routing group name {name!r} must be 1 to {MAX_NAME} characters, without spaces around")
    _policy(policy)
    try:
        with engine.begin() as conn:
            conn.execute(insert(RoutingGroup).values(name=name, policy=policy, allow_loss=allow_loss))
            audit.record(conn, operator, "routing.add", name, {"policy": policy, "allow_loss": allow_loss})
            return _views(conn, [_row(conn, name)])[0]
    except IntegrityError:
        raise UserError(f"routing group {name!r} exists already") from None


def list_groups(engine: Engine) -> list[GroupView]:
    with engine.begin() as conn:
        return _views(conn, conn.execute(select(RoutingGroup.__table__).order_by(RoutingGroup.name)).all())


def show_group(engine: Engine, name: str) -> GroupView:
    with engine.begin() as conn:
        return _views(conn, [_row(conn, name)])[0]


def edit_group(
    engine: Engine, operator: str, name: str, *, policy: str | None = None, allow_loss: bool | None = None
) -> GroupView:
    values = {key: value for key, value in (("policy", policy), ("allow_loss", allow_loss)) if value is not None}
    if not values:
        raise UserError(f"nothing to change for routing group {name}: give --policy or --allow-loss/--no-allow-loss")
    if policy is not None:
        _policy(policy)
    with engine.begin() as conn:
        group = _row(conn, name)
        conn.execute(update(RoutingGroup).where(RoutingGroup.id == group.id).values(**values))
        audit.record(conn, operator, "routing.edit", name, values)
        return _views(conn, [_row(conn, name)])[0]


def _prefix(prefix: str) -> str:
    if (prefix and not is_digits(prefix)) or len(prefix) > MAX_PREFIX:
        raise UserError(f"prefix {prefix!r} must be up to {MAX_PREFIX} digits (or empty for every number)")
    return prefix


def _numbers(prefix: str) -> str:
    return f"prefix {prefix}" if prefix else "every number"


def add_trunk(
    engine: Engine, operator: str, group: str, trunk: str, prefix: str = "", priority: int = 1, weight: int = 1
) -> GroupView:
    """Put a trunk in a group, for every number (``prefix`` "") or for the numbers ``prefix`` begins only."""
    _prefix(prefix)
    if priority < 0 or weight < 0:
        raise UserError("priority and weight must be 0 or more")
    detail = {"trunk": trunk, "prefix": prefix, "priority": priority, "weight": weight}
    try:
        with engine.begin() as conn:
            gid, tid = _row(conn, group).id, trunks.find(conn, trunk).id
            values = {"prefix": prefix, "priority": priority, "weight": weight}
            conn.execute(insert(RoutingEntry).values(group_id=gid, trunk_id=tid, **values))
            audit.record(conn, operator, "routing.add-trunk", group, detail)
            return _views(conn, [_row(conn, group)])[0]
    except IntegrityError:
        raise UserError(f"trunk {trunk} is in routing group {group} for {_numbers(prefix)} already") from None


def remove_trunk(engine: Engine, operator: str, group: str, trunk: str, prefix: str = "") -> GroupView:
    with engine.begin() as conn:
        gid, tid = _row(conn, group).id, trunks.find(conn, trunk).id
        removed = conn.execute(
            delete(RoutingEntry).where(
                RoutingEntry.group_id == gid, RoutingEntry.trunk_id == tid, RoutingEntry.prefix == prefix
            )
        ).rowcount
        if not removed:
            raise UserError(
                f"trunk {trunk} is not in routing group {group} for {_numbers(prefix)} (see `routing show {group}`)"
            )
        audit.record(conn, operator, "routing.remove-trunk", group, {"trunk": trunk, "prefix": prefix})
        return _views(conn, [_row(conn, group)])[0]


def _target(conn: Connection, account: str | None, tariff: str | None) -> tuple[type[Account] | type[Tariff], int]:
    """The account or the tariff a group is bound to or unbound from (exactly one of them)."""
    if (account is None) == (tariff is None):
        raise UserError("give exactly one of --account or --tariff")
    if account is not None:
        return Account, accounts.find(conn, account).id
    assert tariff is not None
    return Tariff, tariffs.sold_tariff(conn, tariff)[0]


def bind(engine: Engine, operator: str, group: str, *, account: str | None = None, tariff: str | None = None) -> None:
    """Route the calls of an account (and a company's accounts without a group of their own), or of a tariff's
    accounts without one, through ``group``."""
    with engine.begin() as conn:
        gid = _row(conn, group).id
        table, target = _target(conn, account, tariff)
        conn.execute(update(table).where(table.id == target).values(routing_group_id=gid))
        audit.record(conn, operator, "routing.bind", group, {"account": account, "tariff": tariff})


def unbind(engine: Engine, operator: str, *, account: str | None = None, tariff: str | None = None) -> str | None:
    """Take an account's or a tariff's own routing group off; the group it had (None: it had none)."""
    with engine.begin() as conn:
        table, target = _target(conn, account, tariff)
        was = conn.execute(
            select(RoutingGroup.name).join(table, table.routing_group_id == RoutingGroup.id).where(table.id == target)
        ).scalar()
        if was is None:
            raise UserError(f"{'account ' + str(account) if account else 'tariff ' + str(tariff)} has no routing group")
        conn.execute(update(table).where(table.id == target).values(routing_group_id=None))
        audit.record(conn, operator, "routing.unbind", was, {"account": account, "tariff": tariff})
        return was


# --- routing explain ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Explanation:
    """How a call of an account to a dialled number would leave: its group's trunks in order, or the routes table."""

    account: str
    quote: quotes.Quote  # the sell side: the number as normalised, the tariff and rate at the call's start
    sell: int  # the call's first minute, sold
    group: str | None  # None: the routes table routes it
    bound_by: str  # "account alice", "company acme", "tariff retail"; "" without a group
    policy: str | None
    allow_loss: bool
    verdicts: list[Verdict]  # every candidate trunk, the usable ones first in the order tried
    route: Route | None = None  # without a group: the route the call would take (None: no route)


def explain(engine: Engine, settings: Settings, account_name: str, dialled: str, at: datetime | None) -> Explanation:
    """What authorization would decide on the call's routes now (or at ``at``, no offset: the tariff's clock),
    without locking or reserving anything."""
    with engine.begin() as conn:
        account = accounts.find(conn, account_name)
        tariff_id = accounts.standing(conn, account.id).tariff_id
    if account.effective_tariff is None or tariff_id is None:
        raise UserError(f"account {account_name} has no tariff (nor has its company): its calls are refused")
    quote = quotes.quote_seconds(engine, settings, account.effective_tariff, dialled, FIRST_MINUTE, at, account_name)
    number = quote.number.number
    with engine.begin() as conn:
        subject = calls.subject(conn, account.id)
        group_id = routing.group_of(conn, SQL_CATALOG, subject, tariff_id)
        if group_id is None:
            route = SQL_CATALOG.route(conn, number)
            return Explanation(account.name, quote, quote.charge.cost, None, "", None, False, [], route)
        routed = routing.routes_in(conn, SQL_CATALOG, group_id, quote.pricing, lock=False)
        group = conn.execute(select(RoutingGroup.allow_loss).where(RoutingGroup.id == group_id)).scalar_one()
        bound_by = _bound_by(subject, account, quote.pricing.tariff.name)
    return Explanation(account.name, quote, routed.sell, routed.group, bound_by, routed.policy, group, routed.verdicts)


def _bound_by(subject, account: accounts.AccountView, tariff: str) -> str:
    """Whose routing group the account's is (routing.group_of's order): its own, its company's, else its tariff's."""
    if subject.routing_group_id is not None:
        return f"account {account.name}"
    if subject.parent_routing_group_id is not None:
        return f"company {account.parent}"
    return f"tariff {tariff}"
