"""CDR use cases for operators: list, stream (exports), statistics, the calls up now.

Everything here only reads, in ``reading`` transactions: a snapshot that never holds SQLite's write
lock, so a report over six months of CDRs never makes a settlement wait. Purging is in upkeep.py; a card's cost
report in cost_reports.py; statistics per vendor and trunk in carrier_stats.py.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, fields
from datetime import datetime, timedelta
from typing import cast

from sqlalchemy import Connection, Engine, Select, and_, case, func, literal_column, or_, select, type_coerce
from sqlalchemy.orm import aliased
from sqlalchemy.types import NullType

from asteriskbill.billing.accounts import COMPANY, GATEWAY
from asteriskbill.billing.incoming import DIRECTIONS
from asteriskbill.billing.numbers import CALL_CLASSES, is_digits
from asteriskbill.billing.periods import check_period
from asteriskbill.billing.reservation import OPEN
from asteriskbill.billing.settle import ANSWER, OUTCOMES, STATS_BY
from asteriskbill.errors import UserError
from asteriskbill.services import accounts, cards, trunks, vendors
from asteriskbill.services.currency import LateConversions
from asteriskbill.store.engine import reading
from asteriskbill.store.models import Account, Cdr, Reservation, Server, Trunk, Vendor
from asteriskbill.store.types import utc

STREAM_CHUNK = 2000  # rows fetched at a time when streaming from PostgreSQL


@dataclass(frozen=True)
class Filters:
    since: datetime | None = None  # included (aware)
    until: datetime | None = None  # excluded (aware)
    account: str | None = None  # a company includes its extensions and gateways
    card: str | None = None
    number: str | None = None  # a prefix of the normalised number
    outcome: str | None = None
    trunk: str | None = None  # the trunk that carried the calls
    vendor: str | None = None  # the vendor whose buy costs they are
    direction: str | None = None  # out: calls the accounts made; in: calls made to them
    limit: int | None = None  # None: all
    oldest_first: bool = False
    after: tuple[datetime, int] | None = None  # a page's last CDR (started_at, id): only those after it, in order


@dataclass(frozen=True)
class CallView:
    """Who called what: what a CDR and a call up now share."""

    session: str
    account: str
    account_kind: str
    company: str | None
    callerid: str
    dialled: str
    number: str
    destination: str
    call_class: str


@dataclass(frozen=True)
class CdrView(CallView):
    """One CDR as the operator reads it."""

    server: str
    uniqueid: str
    linkedid: str
    started_at: datetime
    answered_at: datetime | None
    ended_at: datetime | None
    billable_ms: int
    billed_seconds: int
    outcome: str
    hangup_cause: str
    prefix: str
    cost: int
    buy_cost: int | None  # in ``currency``, unless buy_currency names the vendor's
    buy_currency: str | None  # set while no rate converts the buy cost (services/settlement.py)
    currency: str
    source: str
    id: int  # with started_at, where a page of CDRs ends (Filters.after)
    trunk: str | None  # the trunk that carried it; None: routed by the routes table
    vendor: str | None  # whose buy cost buy_cost is
    paid_by: str | None  # the account debited: the caller's own, or its company's pool
    direction: str  # out: the account called; in: it was called, number being the caller's (billing/incoming.py)
    bundle_seconds: int  # of a bundle of minutes, used before the balance (cost is then what the balance paid)
    bundle_amount: int  # of a money bundle, likewise

    @property
    def margin(self) -> int | None:
        """Cost less buy cost, both in the CDR's currency; None when the buy cost is unknown or unconverted."""
        return None if self.buy_cost is None or self.buy_currency else self.cost - self.buy_cost


_parent = aliased(Account)
_payer = aliased(Account)
_CALLER = {"account": Account.name, "account_kind": Account.kind, "company": _parent.name}


def _columns(view: type, table: type, special: dict) -> list:
    """The columns to select for ``view``'s fields, in their order (construction is positional)."""
    return [special[f.name] if f.name in special else getattr(table, f.name) for f in fields(view)]


_SELECTED = _columns(CdrView, Cdr, {**_CALLER, "trunk": Trunk.name, "vendor": Vendor.name, "paid_by": _payer.name})
# The same raw, with no type processing: SQLite's timestamps stay the text it stores, which an export formats as is
_RAW = [type_coerce(column, NullType()).label(f.name) for column, f in zip(_SELECTED, fields(CdrView), strict=True)]
_BUY = [f.name for f in fields(CdrView)].index("buy_cost")  # buy_currency next


def _joined(query: Select) -> Select:
    return query.join(Account, Account.id == Cdr.account_id).outerjoin(_parent, _parent.id == Account.parent_id)


def _listed(query: Select) -> Select:
    """``query`` with what a CDR's view reads besides it: its caller's account, the trunk, the vendor, the payer."""
    carriers = _joined(query).outerjoin(Trunk, Trunk.id == Cdr.trunk_id)
    return carriers.outerjoin(Vendor, Vendor.id == Cdr.vendor_id).outerjoin(_payer, _payer.id == Cdr.payer_id)


def _number_prefix(text: str) -> str:
    prefix = text.strip().removeprefix("+")
    if not is_digits(prefix):
        raise UserError(f"--number {text!r}: give the start of a normalised number, digits only (e.g. 4420)")
    return prefix


def _outcome(text: str) -> str:
    if text.upper() not in OUTCOMES:
        raise UserError(f"unknown outcome {text!r}: use one of {', '.join(OUTCOMES)}")
    return text.upper()


def filtered(conn: Connection, query: Select, f: Filters) -> Select:
    """``query`` narrowed by the filters; an unknown account, card, trunk or vendor is an error, not an empty list."""
    check_period(f.since, f.until)
    if f.since is not None:
        query = query.where(Cdr.started_at >= f.since)
    if f.until is not None:
        query = query.where(Cdr.started_at < f.until)
    if f.account is not None:
        account = accounts.find(conn, f.account)
        children = select(Account.id).where(Account.parent_id == account.id)
        query = query.where(
            or_(Cdr.account_id == account.id, Cdr.account_id.in_(children))
            if account.kind == COMPANY
            else Cdr.account_id == account.id
        )
    if f.card is not None:
        query = query.where(Cdr.account_id == cards.find(conn, f.card).account_id)
    if f.number is not None:
        query = query.where(Cdr.number.startswith(_number_prefix(f.number)))
    if f.outcome is not None:
        query = query.where(Cdr.outcome == _outcome(f.outcome))
    if f.trunk is not None:
        query = query.where(Cdr.trunk_id == trunks.find(conn, f.trunk).id)
    if f.vendor is not None:
        query = query.where(Cdr.vendor_id == vendors.vendor_id(conn, f.vendor))
    if f.direction is not None:
        if f.direction not in DIRECTIONS:
            raise UserError(f"unknown direction {f.direction!r}: use one of {', '.join(DIRECTIONS)}")
        query = query.where(Cdr.direction == f.direction)
    if f.after is not None:  # the bound on started_at alone lets its index find where the page starts
        moment, cdr_id = f.after
        if f.oldest_first:
            query = query.where(Cdr.started_at >= moment, or_(Cdr.started_at > moment, Cdr.id > cdr_id))
        else:
            query = query.where(Cdr.started_at <= moment, or_(Cdr.started_at < moment, Cdr.id < cdr_id))
    return query


def _listing(conn: Connection, f: Filters, columns: list = _SELECTED) -> tuple[Select, Select]:
    """The CDRs' query in order and within the limit, and the query counting them."""
    if f.limit is not None and f.limit < 0:
        raise UserError("--limit must not be negative")
    query = filtered(conn, _listed(select(*columns).select_from(Cdr)), f)
    counted = query.with_only_columns(func.count()).order_by(None)
    order = (Cdr.started_at, Cdr.id) if f.oldest_first else (Cdr.started_at.desc(), Cdr.id.desc())
    query = query.order_by(*order)
    if f.limit is not None:
        query = query.limit(f.limit)
    return query, counted


def list_cdrs(engine: Engine, f: Filters) -> list[CdrView]:
    """The CDRs within the limit, without counting the others (``page`` does)."""
    with reading(engine) as conn:
        return [CdrView(*row) for row in _converted(conn, conn.execute(_listing(conn, f)[0]))]


def page(engine: Engine, f: Filters) -> tuple[list[CdrView], int]:
    """The CDRs within the limit, and how many the filters match in all (a listing says what it left out)."""
    with stream(engine, f, _SELECTED) as (matching, found):
        return [CdrView(*row) for row in found], matching


@contextmanager
def stream(engine: Engine, f: Filters, columns: list = _RAW) -> Iterator[tuple[int, Iterator[Sequence]]]:
    """``(how many CDRs the filters match, limit aside; the rows of those within the limit)`` from one snapshot,
    a chunk at a time from PostgreSQL (a server-side cursor): an export of millions holds only a chunk in memory.
    The rows are CdrView's fields in order, by default raw: no object per CDR, SQLite's timestamps the text it
    stores (store.types.utc reads them)."""
    with reading(engine) as conn:
        query, counted = _listing(conn, f, columns)
        matching = conn.execute(counted).scalar_one()
        if conn.dialect.name != "sqlite":
            streamed = conn.execution_options(stream_results=True, yield_per=STREAM_CHUNK)
            yield matching, _converted(conn, streamed.execute(query))
            return
        # SQLite's cursor reads lazily. Raw columns need nothing of SQLAlchemy's rows: the driver's own cursor gives
        # the same tuples without a Python step per row (a tenth of an export's time).
        result = conn.execute(query)
        rows = cast(Iterable[Sequence], result.cursor) if columns is _RAW else result  # sqlite3.Cursor iterates
        yield matching, _converted(conn, rows)


def _converted(conn: Connection, rows: Iterable[Sequence]) -> Iterator[Sequence]:
    """The rows, each buy cost in its CDR's currency where a rate allows it now."""
    late = LateConversions(conn)
    return (row if row[_BUY + 1] is None else _convert(late, row) for row in rows)


def _convert(late: LateConversions, row: Sequence) -> Sequence:
    """The row with its buy cost in its CDR's currency, if a rate for its day has been set since its settlement."""
    cdr = CdrView(*row)  # its started_at may be raw: utc() reads either
    if cdr.buy_cost is None or cdr.buy_currency is None:
        return row
    amount = late.convert(cdr.account, utc(cdr.started_at), cdr.buy_cost, cdr.buy_currency, cdr.currency)
    return row if amount is None else (*row[:_BUY], amount, None, *row[_BUY + 2 :])


# --- statistics -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Totals:
    """Calls and money of a set of CDRs; buy cost and margin only over the calls whose rate has a buy price
    and whose buy cost is in the CDRs' currency (``no_rate`` counts those a missing currency rate leaves out)."""

    calls: int = 0
    answered: int = 0
    seconds: int = 0  # billed
    cost: int = 0
    buy_cost: int | None = None
    bought_cost: int = 0  # the cost of the calls that have a buy cost
    no_rate: int = 0  # calls whose buy cost no currency rate converts yet

    @property
    def margin(self) -> int | None:
        return None if self.buy_cost is None else self.bought_cost - self.buy_cost

    @property
    def minutes(self) -> str:
        """Billed seconds as minutes to the hundredth, rounded half up, in integers: 90 -> "1.50"."""
        hundredths = (self.seconds * 100 + 30) // 60
        return f"{hundredths // 100}.{hundredths % 100:02d}"

    def __add__(self, other: Totals) -> Totals:
        buy = None if self.buy_cost is None and other.buy_cost is None else (self.buy_cost or 0) + (other.buy_cost or 0)
        return Totals(
            self.calls + other.calls,
            self.answered + other.answered,
            self.seconds + other.seconds,
            self.cost + other.cost,
            buy,
            self.bought_cost + other.bought_cost,
            self.no_rate + other.no_rate,
        )

    @classmethod
    def of(cls, cdr: CdrView) -> Totals:
        known = cdr.margin is not None
        return cls(
            1,
            int(cdr.outcome == ANSWER),
            cdr.billed_seconds,
            cdr.cost,
            cdr.buy_cost if known else None,
            cdr.cost if known else 0,
            int(cdr.buy_currency is not None),
        )


@dataclass(frozen=True)
class StatsRow:
    key: str | None  # the account, company, gateway, destination or server; None: no company
    kind: str | None  # the account's kind, for --by account and gateway
    currency: str
    classes: dict[str, Totals]  # local, national, international (every one, in this order)

    @property
    def total(self) -> Totals:
        return sum(self.classes.values(), Totals())


Narrow = Callable[[Select], Select]  # a join or a condition more
_NARROW: dict[str, Narrow] = {  # what statistics by gateway and by server add to their queries
    "gateway": lambda query: query.where(Account.kind == GATEWAY),
    "server": lambda query: query.outerjoin(Server, Server.asterisk_id == Cdr.server),
}


def _stats_keys(by: str) -> tuple:
    """What statistics ``by`` group on before currency and call class: the key, and an account's kind."""
    if by == "company":  # a company's calls and its children's, under the company; inline literal so that
        # PostgreSQL sees the same expression in SELECT and GROUP BY
        company = case(
            (Account.parent_id.is_not(None), _parent.name),
            (Account.kind == literal_column(f"'{COMPANY}'"), Account.name),
        )
        return (company,)
    if by in ("account", "gateway"):
        return Account.name, Account.kind
    if by == "server":  # the name given with `servers add`, else the Asterisk entity id the events carried
        return (func.coalesce(Server.name, Cdr.server),)
    return (getattr(Cdr, by),)


def stats(engine: Engine, f: Filters, by: str = "account") -> list[StatsRow]:
    """Totals per ``by`` and currency, split by call class, summed by the database."""
    if by not in STATS_BY:
        raise UserError(f"cannot group statistics by {by!r}: use one of {', '.join(STATS_BY)}")
    with reading(engine) as conn:
        found = totals_by(conn, f, (*_stats_keys(by), Cdr.currency, Cdr.call_class), _NARROW.get(by))
    classes: dict[tuple[str | None, str | None, str], dict[str, Totals]] = {}
    for (key, *kind, currency, call_class), totals in found.items():
        group = (key, kind[0] if kind else None, currency)
        classes.setdefault(group, dict.fromkeys(CALL_CLASSES, Totals()))[call_class] = totals
    return [
        StatsRow(key, kind, currency, by_class)
        for (key, kind, currency), by_class in sorted(
            classes.items(), key=lambda item: (item[0][0] is None, item[0][0] or "", item[0][2])
        )
    ]


_CONVERTED = and_(Cdr.buy_cost.is_not(None), Cdr.buy_currency.is_(None))  # the others: _late_totals
_SUMS = (  # the columns of Totals, in its order
    func.count(),
    func.sum(case((Cdr.outcome == ANSWER, 1), else_=0)),
    func.sum(Cdr.billed_seconds),
    func.sum(Cdr.cost),
    func.sum(case((_CONVERTED, Cdr.buy_cost))),
    func.sum(case((_CONVERTED, Cdr.cost), else_=0)),
)


def totals_by(
    conn: Connection, f: Filters, groups: tuple, narrow: Narrow | None = None, *, accounts: bool = True
) -> dict[tuple, Totals]:
    """The Totals of the CDRs ``f`` chooses per value of ``groups``, summed by the database; buy costs settled in a
    vendor's currency converted as they can be now. ``accounts``: groups or ``narrow`` read the CDR's Account or
    its company (joined to every CDR: twice the time on SQLite)."""
    query = select(*groups, *_SUMS).select_from(Cdr).group_by(*groups)
    query = _joined(query) if accounts else query
    late = _joined(
        select(*groups, Account.name, Cdr.currency, Cdr.started_at, Cdr.cost, Cdr.buy_cost, Cdr.buy_currency)
        .select_from(Cdr)
        .where(Cdr.buy_currency.is_not(None))
    )
    if narrow is not None:
        query, late = narrow(query), narrow(late)
    found: dict[tuple, Totals] = {}
    for *group, calls, answered, seconds, cost, buy, bought in conn.execute(filtered(conn, query, f)):
        # int(): PostgreSQL sums BIGINT as NUMERIC
        buy = None if buy is None else int(buy)
        found[tuple(group)] = Totals(calls, int(answered), int(seconds), int(cost), buy, int(bought))
    for key, totals in _late_totals(conn, conn.execute(filtered(conn, late, f))).items():
        found[key] = found.get(key, Totals()) + totals  # get: a CDR settled since (read committed)
    return found


def _late_totals(conn: Connection, rows) -> dict[tuple, Totals]:
    """The buy costs settlement left in a vendor's currency, per group: converted with the rate of their day
    if one has been set since, else counted as calls with no rate."""
    late = LateConversions(conn)
    found: dict[tuple, Totals] = {}
    for *group, account, currency, started_at, cost, buy_cost, buy_currency in rows:
        amount = late.convert(account, started_at, buy_cost, buy_currency, currency)
        totals = Totals(no_rate=1) if amount is None else Totals(buy_cost=amount, bought_cost=cost)
        found[tuple(group)] = found.get(tuple(group), Totals()) + totals
    return found


# --- the calls up now ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class ActiveCall(CallView):
    """An authorized call whose reservation is still open: on the phone now, or about to be."""

    started_at: datetime  # authorized
    max_seconds: int
    amount: int  # credit held
    currency: str
    channel: str
    held_seconds: int  # talk time the credit held pays for (a slice, extended while the call is up)
    answered_at: datetime | None  # the callee's answer, once seen
    deadline_at: datetime | None  # when Asterisk hangs the caller up unless the hold is extended (slices only)

    @property
    def ends_by(self) -> datetime:
        """When the dialplan's L() limit ends it at the latest."""
        return self.started_at + timedelta(seconds=self.max_seconds)


def active_calls(engine: Engine) -> list[ActiveCall]:
    """The open reservations, oldest first (the "online users" of prepaid systems)."""
    columns = _columns(
        ActiveCall, Reservation, {**_CALLER, "started_at": Reservation.created_at, "currency": Account.currency}
    )
    query = (
        select(*columns)
        .join(Account, Account.id == Reservation.account_id)
        .outerjoin(_parent, _parent.id == Account.parent_id)
        .where(Reservation.status == OPEN)
        .order_by(Reservation.created_at, Reservation.id)
    )
    with reading(engine) as conn:
        return [ActiveCall(*row) for row in conn.execute(query)]
