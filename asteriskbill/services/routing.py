"""The routes of a call: its routing group's trunks ordered by billing/routing.py (authorize, `routing explain`),
what a reservation keeps of them for settlement, and each trunk's answer-seizure ratio (settle).

An account's routing group is its own, else its company's, else its tariff's; an account with none is routed by
the routes table as before (billing/routes.py), its buy cost taken from the sell rate's buy price.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, Engine, bindparam, func, select, update

from asteriskbill.billing import routing as rules
from asteriskbill.billing.currency import call_day
from asteriskbill.billing.reservation import OPEN
from asteriskbill.billing.settle import ANSWER
from asteriskbill.rating.engine import NoRateError, Pricing
from asteriskbill.services.currency import Converter
from asteriskbill.store import tariffs as tariff_store
from asteriskbill.store.catalog import Catalog
from asteriskbill.store.models import CallAttempt, Reservation, RoutingEntry, RoutingGroup, Trunk, Vendor
from asteriskbill.store.types import utcnow

_ENTRIES = (
    select(
        RoutingEntry.trunk_id,
        RoutingEntry.prefix,
        RoutingEntry.priority,
        RoutingEntry.weight,
        Trunk.name.label("trunk"),
        Trunk.dial,
        Trunk.strip_digits,
        Trunk.add_prefix,
        Trunk.channel_limit,
        Trunk.enabled,
        Trunk.demoted_note,
        Vendor.id.label("vendor_id"),
        Vendor.name.label("vendor"),
        Vendor.currency,
        Vendor.tariff_id,
        Vendor.prepaid,
        Vendor.balance,
    )
    .join(Trunk, Trunk.id == RoutingEntry.trunk_id)
    .join(Vendor, Vendor.id == Trunk.vendor_id)
    .where(RoutingEntry.group_id == bindparam("group_id"))
    .order_by(Trunk.name)  # a stable order for ties and for what explain and a refusal list
)
_LOCK_TRUNKS = select(Trunk.id).where(Trunk.id.in_(bindparam("ids", expanding=True))).order_by(Trunk.id)
_CHANNELS = (
    select(Reservation.trunk_id, func.count())
    .where(Reservation.trunk_id.in_(bindparam("ids", expanding=True)), Reservation.status == OPEN)
    .group_by(Reservation.trunk_id)
)


@dataclass(frozen=True)
class Routed:
    """A call's routes: every candidate's verdict, the usable ones first in the order the dialplan tries them."""

    group: str
    policy: str
    number: str
    sell: int  # the call's first minute, sold
    verdicts: list[rules.Verdict]
    kept: list[dict]  # the usable routes as the reservation keeps them (``text``)

    @property
    def usable(self) -> list[rules.Verdict]:
        return [verdict for verdict in self.verdicts if verdict.position]

    @property
    def dials(self) -> tuple[str, ...]:
        return tuple(verdict.candidate.dial_string(self.number) for verdict in self.usable)

    @property
    def trunk_id(self) -> int | None:
        """The trunk tried first: the call counts against its channels."""
        usable = self.usable
        return usable[0].candidate.trunk_id if usable else None

    @property
    def text(self) -> str:
        return json.dumps(self.kept, separators=(",", ":"))

    def refusal(self) -> str:
        reasons = "; ".join(f"{v.candidate.trunk}: {v.why.removeprefix('skipped: ')}" for v in self.verdicts)
        return f"no trunk of routing group {self.group} can take {self.number}" + (f" ({reasons})" if reasons else "")


def group_of(conn: Connection, catalog: Catalog, account, tariff_id: int) -> int | None:
    """The routing group of the calls of ``account`` (a services/calls subject row) rated by ``tariff_id``: its
    own, else its company's, else its tariff's; None: the routes table routes them."""
    for group_id in (account.routing_group_id, account.parent_routing_group_id):
        if group_id is not None:
            return group_id
    return catalog.routing_group(conn, tariff_id)


def routes_in(
    conn: Connection,
    catalog: Catalog,
    group_id: int,
    sell: Pricing,
    *,
    lock: bool,
    draw: random.Random | None = None,
) -> Routed:
    """The routes of the call ``sell`` prices. ``lock``: an authorization, which counts the call against the
    first trunk's channels: the candidate trunks are locked first (PostgreSQL; SQLite's write lock is held
    already), so parallel calls through one trunk never exceed its channel limit."""
    group = conn.execute(select(RoutingGroup).where(RoutingGroup.id == group_id)).one()
    number = sell.number
    rows = conn.execute(_ENTRIES, {"group_id": group_id}).all()
    picked = {(e.trunk_id, e.prefix) for e in rules.entries_for([rules.Entry(*row[:4]) for row in rows], number)}
    rows = [row for row in rows if (row.trunk_id, row.prefix) in picked]
    ids = sorted(row.trunk_id for row in rows)
    if lock and any(row.channel_limit is not None for row in rows):
        conn.execute(_LOCK_TRUNKS.with_for_update(), {"ids": ids}).all()
    channels: dict[int, int] = {row[0]: row[1] for row in conn.execute(_CHANNELS, {"ids": ids})} if ids else {}
    sold = sell.cost(min(rules.FIRST_MINUTE, sell.horizon)).cost
    converter = Converter(conn)
    candidates, kept = [], {}
    for row in rows:
        buy, no_buy, bought = _buy(conn, catalog, converter, row, sell)
        candidates.append(
            rules.Candidate(
                trunk_id=row.trunk_id,
                trunk=row.trunk,
                vendor_id=row.vendor_id,
                vendor=row.vendor,
                dial=row.dial,
                priority=row.priority,
                weight=row.weight,
                strip_digits=row.strip_digits,
                add_prefix=row.add_prefix,
                enabled=row.enabled,
                channel_limit=row.channel_limit,
                channels=channels.get(row.trunk_id, 0),
                vendor_out_of_money=bool(row.prepaid) and row.balance <= 0,
                demoted=row.demoted_note or "",
                buy=buy,
                no_buy=no_buy,
            )
        )
        if bought is not None:
            kept[row.trunk_id] = {"trunk": row.trunk_id, "vendor": row.vendor_id, "buy": bought}
    verdicts = rules.order(group.policy, candidates, sold, allow_loss=group.allow_loss, draw=draw or random.Random())
    usable = [kept[v.candidate.trunk_id] for v in verdicts if v.position]
    return Routed(group.name, group.policy, number, sold, verdicts, usable)


def _buy(
    conn: Connection, catalog: Catalog, converter: Converter, row, sell: Pricing
) -> tuple[int | None, str, str | None]:
    """(the first minute bought, in the sell currency, or None; why None; the snapshot the call keeps)."""
    vendor_tariff = catalog.tariff(conn, row.tariff_id)
    try:
        pricing = Pricing(vendor_tariff, catalog.rates(conn, row.tariff_id, sell.number), sell.number, sell.start, 60)
    except NoRateError:
        return None, f"no rate for {sell.number} from vendor {row.vendor}", None
    bought = tariff_store.snapshot(pricing.tariff, pricing.rates)
    cost = pricing.cost(min(rules.FIRST_MINUTE, sell.horizon)).cost
    day = call_day(sell.start, sell.tariff.timezone)
    converted = converter.convert(cost, row.currency, sell.tariff.currency, day)
    if converted is None:
        return None, f"no {row.currency}->{sell.tariff.currency} rate for {day}", bought
    return converted, "", bought


# --- what settlement reads back -------------------------------------------------------------------


@dataclass(frozen=True)
class Carried:
    """The route that carried a call: its trunk and vendor, and the snapshot of the vendor's rates that price what
    it bought (store/tariffs.py from_snapshot)."""

    trunk_id: int
    vendor_id: int
    buy: str


def carried(routes_text: str, attempts: Sequence[str]) -> tuple[Carried | None, list[int]]:
    """(The route of the call's last attempt, or None for a call routed by the routes table; the trunk of each
    attempt in order.) Without attempts (an older dialplan, an event lost), the first route carried it."""
    routes = json.loads(routes_text) if routes_text else []
    if not routes:
        return None, []
    tried = [route["trunk"] for route in routes[: max(len(attempts), 1)]]
    last = routes[len(tried) - 1]
    return Carried(last["trunk"], last["vendor"], last["buy"]), tried


# --- answer-seizure ratio -------------------------------------------------------------------------


def judge_all(engine: Engine, rule: rules.AsrRule) -> list[str]:
    """``judge_trunks`` for every trunk (`serve` runs it every TRUNK_JUDGING seconds)."""
    with engine.begin() as conn:
        return judge_trunks(conn, rule, conn.execute(select(Trunk.id)).scalars(), utcnow())


def demoted(engine: Engine) -> list[tuple[str, str]]:
    """(trunk, why) of the trunks demoted now, for `status`."""
    with engine.begin() as conn:
        query = select(Trunk.name, Trunk.demoted_note).where(Trunk.demoted_at.is_not(None)).order_by(Trunk.name)
        return [(name, note or "") for name, note in conn.execute(query)]


def judge_trunks(conn: Connection, rule: rules.AsrRule, trunk_ids: Iterable[int], now: datetime) -> list[str]:
    """Demote or restore each trunk by its last attempts; what changed, as lines for the log."""
    said = []
    for trunk_id in sorted(set(trunk_ids)):
        statuses = list(
            conn.execute(
                select(CallAttempt.dialstatus)
                .where(CallAttempt.trunk_id == trunk_id)
                .order_by(CallAttempt.id.desc())
                .limit(rule.window)
            ).scalars()
        )
        why = rule.judged(sum(status == ANSWER for status in statuses), len(statuses))
        name, was = conn.execute(select(Trunk.name, Trunk.demoted_note).where(Trunk.id == trunk_id)).one()
        if bool(why) == bool(was):
            continue
        values = {"demoted_at": now, "demoted_note": why} if why else {"demoted_at": None, "demoted_note": None}
        conn.execute(update(Trunk).where(Trunk.id == trunk_id).values(**values))
        said.append(f"trunk {name} demoted: {why}" if why else f"trunk {name} recovered: tried in its place again")
    return said
