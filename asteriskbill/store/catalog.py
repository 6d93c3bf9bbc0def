"""What authorization reads that changes rarely: a tariff, its rates by prefix, the route and the number plan.

``SqlCatalog`` reads the database on every call (commands that run once). ``MemoryCatalog`` is `serve`'s: it
keeps them in memory and checks them against ``catalog_version`` (raised by triggers in the transaction of every
change to these tables, whatever program makes it: migration 0014) with one primary-key read per transaction, so
the next authorization after a `routes add`, `tariff holidays add` or `numbers set` sees it. Each tariff's rates
are a prefix index (store/rate_index.py) of one revision of its rates in effect; when an import switches in
another, calls read the database while a thread builds the new index, then use it.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field, fields
from functools import lru_cache
from typing import TYPE_CHECKING, Any, Protocol

from sqlalchemy import Connection, Engine, bindparam, select

from asteriskbill.billing.numbers import NumberPlan
from asteriskbill.billing.routes import Route, choose_route
from asteriskbill.rating.model import Rate, Tariff
from asteriskbill.store import rate_index
from asteriskbill.store.engine import reading
from asteriskbill.store.models import CatalogVersion, NumberPlanRow, RouteRow
from asteriskbill.store.models import Tariff as TariffRow
from asteriskbill.store.rawsql import RawSelect
from asteriskbill.store.tariffs import TariffEntry, load_tariff, rates_for_number, tariff_entry

if TYPE_CHECKING:
    from asteriskbill.settings import Settings

log = logging.getLogger("asteriskbill.store")


class Catalog(Protocol):
    def tariff(self, conn: Connection, tariff_id: int) -> Tariff: ...

    def rates(self, conn: Connection, tariff_id: int, number: str) -> Sequence[Rate]: ...

    def routing_group(self, conn: Connection, tariff_id: int) -> int | None: ...

    def route(self, conn: Connection, number: str) -> Route | None: ...

    def number_plan(self, conn: Connection, settings: Settings, owner_id: int) -> NumberPlan: ...


class SqlCatalog:
    """Every call reads the database, in the caller's transaction."""

    def tariff(self, conn: Connection, tariff_id: int) -> Tariff:
        return load_tariff(conn, tariff_id)

    def rates(self, conn: Connection, tariff_id: int, number: str) -> list[Rate]:
        return rates_for_number(conn, tariff_id, number)

    def routing_group(self, conn: Connection, tariff_id: int) -> int | None:
        return tariff_entry(conn, tariff_id).routing_group_id

    def route(self, conn: Connection, number: str) -> Route | None:
        """The route of the longest prefix of ``number`` ("" is every number's)."""
        prefixes = [number[:n] for n in range(len(number) + 1)]
        return choose_route((Route(*row) for row in _routes_query(len(prefixes)).rows(conn, *prefixes)), number)

    def number_plan(self, conn: Connection, settings: Settings, owner_id: int) -> NumberPlan:
        """The plan of a company (``owner_id``: an account's parent, or itself): the global one, with the
        company's own values over it."""
        return _plan(settings, _PLAN.first(conn, owner_id))


SQL_CATALOG = SqlCatalog()


@lru_cache(maxsize=64)
def _routes_query(count: int) -> RawSelect:
    """One statement per number length, built once (an expanding IN is rendered again on every call)."""
    names = [f"p{i}" for i in range(count)]
    return RawSelect(_ROUTES.where(RouteRow.prefix.in_([bindparam(name) for name in names])), *names)


_ROUTES = select(RouteRow.prefix, RouteRow.dial, RouteRow.name)
_ALL_ROUTES = RawSelect(_ROUTES)
_PLAN_FIELDS = [field.name for field in fields(NumberPlan)]
_PLAN_COLUMNS = [NumberPlanRow.__table__.c[name] for name in _PLAN_FIELDS]
_PLAN = RawSelect(select(*_PLAN_COLUMNS).where(NumberPlanRow.account_id == bindparam("owner_id")), "owner_id")
_ALL_PLANS = RawSelect(select(NumberPlanRow.account_id, *_PLAN_COLUMNS))  # serve's: every company's at once
_VERSION = RawSelect(select(CatalogVersion.version).where(CatalogVersion.id == 1))


def _plan(settings: Settings, row: tuple | None) -> NumberPlan:
    from asteriskbill.services.numbers import global_plan  # services import the store: not at module level

    plan = global_plan(settings)
    return plan if row is None else plan.overridden(**dict(zip(_PLAN_FIELDS, row, strict=True)))


@dataclass
class _Cache:
    """What was read at one catalog version; filled as calls ask."""

    version: int | None
    tariffs: dict[int, TariffEntry] = field(default_factory=dict)  # by id
    indexes: dict[int, rate_index.RateIndex] = field(default_factory=dict)  # of that revision, once built
    routes: dict[str, Route] | None = None  # by prefix
    settings: Settings | None = None  # the plans' global values
    plans: tuple[dict[int, NumberPlan], NumberPlan] | None = None  # the companies' own by owner, and the global


class MemoryCatalog:
    """`serve`'s catalog: the SQL catalog's answers, from memory once checked against the catalog version."""

    def __init__(self, engine: Engine):
        self.engine = engine
        self._cache = _Cache(version=None)
        self._checked: tuple[Any, _Cache] = (None, self._cache)  # (a transaction, its cache): one check each
        self._indexes: dict[int, rate_index.RateIndex] = {}  # tariff id -> its rates' index
        self._building: dict[int, threading.Thread] = {}
        self._failed: dict[int, int] = {}  # tariff id -> the revision whose index failed: not tried again
        self._lock = threading.Condition()
        self._closed = False

    # -- the catalog -------------------------------------------------------------------------------------
    def tariff(self, conn: Connection, tariff_id: int) -> Tariff:
        return self._tariff(conn, tariff_id).tariff

    def routing_group(self, conn: Connection, tariff_id: int) -> int | None:
        return self._tariff(conn, tariff_id).routing_group_id

    def rates(self, conn: Connection, tariff_id: int, number: str) -> Sequence[Rate]:
        cache = self._fresh(conn)
        index = cache.indexes.get(tariff_id)
        if index is None:
            index = self._index(conn, cache, tariff_id)
            if index is None:
                return rates_for_number(conn, tariff_id, number)
        return index.rates(number)

    def route(self, conn: Connection, number: str) -> Route | None:
        cache = self._fresh(conn)
        if cache.routes is None:
            cache.routes = {row[0]: Route(*row) for row in _ALL_ROUTES.rows(conn)}
        get = cache.routes.get
        for length in range(len(number), -1, -1):
            found = get(number[:length])
            if found is not None:
                return found
        return None

    def number_plan(self, conn: Connection, settings: Settings, owner_id: int) -> NumberPlan:
        cache = self._fresh(conn)
        if cache.plans is None or settings is not cache.settings:
            # the whole (small) table: a card is its own owner, and a read per owner was a statement per call
            own = {row[0]: _plan(settings, row[1:]) for row in _ALL_PLANS.rows(conn)}
            cache.settings, cache.plans = settings, (own, _plan(settings, None))
        own, plain = cache.plans
        return own.get(owner_id, plain)

    # -- serve's side ------------------------------------------------------------------------------------
    def warm(self) -> None:
        """Start building the index of every tariff's rates (serve's start: its first calls need not wait)."""
        with reading(self.engine) as conn:
            tariffs = conn.execute(select(TariffRow.id, TariffRow.rates_revision)).all()
        for tariff_id, revision in tariffs:
            self._index_later(tariff_id, revision)

    def wait_indexed(self, timeout: float | None = None) -> bool:
        """Wait until no index is being built; False if ``timeout`` seconds passed first."""
        with self._lock:
            return self._lock.wait_for(lambda: not self._building, timeout)

    def indexed(self, tariff_id: int) -> int | None:
        """The revision of the tariff's rates that its index holds (None: no index)."""
        index = self._indexes.get(tariff_id)
        return None if index is None else index.revision

    def close(self) -> None:
        """Stop the builds under way (the server is stopping)."""
        with self._lock:
            self._closed = True
            building = list(self._building.values())
        for thread in building:
            thread.join()

    # -- inside ------------------------------------------------------------------------------------------
    def _fresh(self, conn: Connection) -> _Cache:
        """The cache of the catalog version the caller's transaction sees: read once per transaction (in the
        writer's group, one for all its calls; SQLite's write lock keeps every change out until its end)."""
        transaction, cache = self._checked
        if transaction is None or transaction is not conn.get_transaction():
            version = _VERSION.scalar(conn)  # begins the transaction if the caller has not yet
            cache = self._cache
            if version != cache.version:
                cache = self._cache = _Cache(version)
            self._checked = (conn.get_transaction(), cache)
        return cache

    def _tariff(self, conn: Connection, tariff_id: int) -> TariffEntry:
        cache = self._fresh(conn)
        found = cache.tariffs.get(tariff_id)
        if found is None:
            found = cache.tariffs[tariff_id] = tariff_entry(conn, tariff_id)
        return found

    def _index(self, conn: Connection, cache: _Cache, tariff_id: int) -> rate_index.RateIndex | None:
        """The tariff's index if it holds the revision of its rates in effect; else one is built meanwhile."""
        revision = self._tariff(conn, tariff_id).revision
        index = self._indexes.get(tariff_id)
        if index is not None and index.revision == revision:
            cache.indexes[tariff_id] = index
            return index
        self._index_later(tariff_id, revision)
        return None

    def _index_later(self, tariff_id: int, revision: int) -> None:
        """Build the tariff's index in a thread, unless one is on the way or that revision's failed. A caller in
        a transaction older than the index (revisions only grow) leaves it alone."""
        with self._lock:
            current = self._indexes.get(tariff_id)
            if self._closed or tariff_id in self._building or self._failed.get(tariff_id) == revision:
                return
            if current is not None and current.revision >= revision:
                return
            self._indexes.pop(tariff_id, None)  # one index in memory at a time: the old one goes first
            thread = threading.Thread(
                target=self._build, args=(tariff_id, revision), name=f"asteriskbill-rates-{tariff_id}", daemon=True
            )
            self._building[tariff_id] = thread
            thread.start()

    def _build(self, tariff_id: int, revision: int) -> None:
        index = None
        try:
            index = rate_index.load(self.engine, tariff_id, lambda: self._closed)
        except rate_index.Stopped:
            pass
        except Exception:
            log.exception("the rates of tariff %d are read from the database: their index failed", tariff_id)
        with self._lock:
            del self._building[tariff_id]
            if index is not None:
                self._indexes[tariff_id] = index
                log.info("tariff %d: %d prefixes in memory (rates revision %d)", tariff_id, len(index), index.revision)
            elif not self._closed:
                self._failed[tariff_id] = revision
            self._lock.notify_all()
