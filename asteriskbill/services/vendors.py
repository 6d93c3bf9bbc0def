"""Vendor use cases: add, list, show, edit, their prepaid balance (recharge, adjust) and their destination set.

A vendor's destination set is a tariff of its own, ``vendor:NAME`` (models/routing.py), created with the vendor in
one transaction, so its rates are imported, listed and revised by the very machinery of sell rates
(services/rates.py). A prepaid vendor's balance moves only with an entry of vendor_ledger_entries that says the
balance after it, written in the same transaction as the change and its audit entry.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from sqlalchemy import Connection, Engine, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from asteriskbill.billing.accounts import ACTIVE
from asteriskbill.billing.ledger import ADJUSTMENT, check_posting
from asteriskbill.errors import UserError
from asteriskbill.money import format_amount, parse_currency
from asteriskbill.rating.model import Rate, Tariff
from asteriskbill.services import audit, ledger, rates, sheets, vendor_ledger
from asteriskbill.services.tariffs import check_timezone, insert_tariff
from asteriskbill.settings import Settings
from asteriskbill.store.models import RateRow, Trunk, Vendor, VendorLedgerEntry
from asteriskbill.store.models import Tariff as TariffRow
from asteriskbill.store.tariffs import in_effect

TARIFF_PREFIX = "vendor:"  # a vendor's tariff is named vendor:NAME
MAX_NAME = 64 - len(TARIFF_PREFIX)  # tariffs.name is String(64)
RECHARGE, ADJUST = vendor_ledger.RECHARGE, vendor_ledger.ADJUST  # what an operator writes in a vendor's ledger
HISTORY_LIMIT = 1000


@dataclass(frozen=True)
class VendorView:
    id: int
    name: str
    currency: str
    prepaid: bool
    balance: int  # micro-units; meaningful for a prepaid vendor only
    tariff: str  # its destination set
    timezone: str
    rates: int  # rates in effect
    trunks: list[str] = field(default_factory=list)
    created_at: datetime | None = None


@dataclass(frozen=True)
class VendorEntry:
    id: int
    kind: str
    amount: int
    balance_after: int
    reference: str | None
    note: str | None
    operator: str
    created_at: datetime


def tariff_name(vendor: str) -> str:
    return TARIFF_PREFIX + vendor


def _check_name(name: str) -> str:
    if not name.strip() or name != name.strip():
        raise UserError(f"vendor name {name!r} must not be empty nor begin or end with spaces")
    if len(name) > MAX_NAME:
        raise UserError(f"vendor name {name!r} is longer than {MAX_NAME} characters")
    return name


_VIEW = (
    select(
        Vendor.id,
        Vendor.name,
        Vendor.currency,
        Vendor.prepaid,
        Vendor.balance,
        Vendor.tariff_id,
        Vendor.created_at,
        TariffRow.name.label("tariff"),
        TariffRow.timezone,
    )
    .join(TariffRow, TariffRow.id == Vendor.tariff_id)
    .order_by(Vendor.name)
)


def _row(conn: Connection, name: str, *, lock: bool = False):
    query = _VIEW.where(Vendor.name == name)
    row = conn.execute(query.with_for_update(of=Vendor) if lock else query).one_or_none()
    if row is None:
        raise UserError(f"no vendor named {name!r} (see `asteriskbill vendors list`)")
    return row


def vendor_id(conn: Connection, name: str) -> int:
    """The id of vendor ``name``, or one clear error."""
    return _row(conn, name).id


def _rate_counts(conn: Connection, tariff_ids: list[int]) -> dict[int, int]:
    query = in_effect(select(RateRow.tariff_id, func.count()).select_from(RateRow))
    query = query.where(RateRow.tariff_id.in_(tariff_ids)).group_by(RateRow.tariff_id)
    return dict(conn.execute(query).tuples().all())


def _trunks(conn: Connection, vendor_ids: list[int]) -> dict[int, list[str]]:
    found: dict[int, list[str]] = {}
    query = select(Trunk.vendor_id, Trunk.name).where(Trunk.vendor_id.in_(vendor_ids)).order_by(Trunk.name)
    for vid, name in conn.execute(query):
        found.setdefault(vid, []).append(name)
    return found


def _views(conn: Connection, rows) -> list[VendorView]:
    counts = _rate_counts(conn, [row.tariff_id for row in rows])
    trunks = _trunks(conn, [row.id for row in rows])
    return [
        VendorView(
            id=row.id,
            name=row.name,
            currency=row.currency,
            prepaid=row.prepaid,
            balance=row.balance,
            tariff=row.tariff,
            timezone=row.timezone,
            rates=counts.get(row.tariff_id, 0),
            trunks=trunks.get(row.id, []),
            created_at=row.created_at,
        )
        for row in rows
    ]


def add_vendor(
    engine: Engine, settings: Settings, operator: str, name: str, currency: str, prepaid: bool, timezone: str = ""
) -> VendorView:
    """A vendor and its destination set (an empty tariff in its currency), in one transaction."""
    _check_name(name)
    code = parse_currency(currency)
    zone = check_timezone(timezone or settings.timezone)
    with engine.begin() as conn:
        if conn.execute(select(Vendor.id).where(Vendor.name == name)).first() is not None:
            raise UserError(f"vendor {name!r} exists already")
        if conn.execute(select(TariffRow.id).where(TariffRow.name == tariff_name(name))).first() is not None:
            raise UserError(f"a tariff named {tariff_name(name)!r} exists already: name the vendor otherwise")
        try:
            tid = insert_tariff(conn, Tariff(name=tariff_name(name), currency=code, rounding=1, timezone=zone))
            conn.execute(insert(Vendor).values(name=name, currency=code, tariff_id=tid, prepaid=prepaid, balance=0))
        except IntegrityError:  # added by someone else meanwhile
            raise UserError(f"vendor {name!r} exists already") from None
        audit.record(conn, operator, "vendor.add", name, {"currency": code, "prepaid": prepaid, "timezone": zone})
        return _views(conn, [_row(conn, name)])[0]


def list_vendors(engine: Engine) -> list[VendorView]:
    with engine.begin() as conn:
        return _views(conn, conn.execute(_VIEW).all())


def show_vendor(engine: Engine, name: str) -> VendorView:
    with engine.begin() as conn:
        return _views(conn, [_row(conn, name)])[0]


def edit_vendor(
    engine: Engine,
    operator: str,
    name: str,
    *,
    new_name: str | None = None,
    currency: str | None = None,
    prepaid: bool | None = None,
) -> VendorView:
    """Rename a vendor (its tariff too), change its currency (only while it has no rates and no ledger entries) or
    whether it is prepaid (off only at a zero balance)."""
    with engine.begin() as conn:
        row = _row(conn, name, lock=True)
        vendor: dict = {}
        tariff: dict = {}
        if new_name is not None and new_name != row.name:
            _check_name(new_name)
            if conn.execute(select(TariffRow.id).where(TariffRow.name == tariff_name(new_name))).first() is not None:
                raise UserError(f"a tariff named {tariff_name(new_name)!r} exists already")
            vendor["name"], tariff["name"] = new_name, tariff_name(new_name)
        if currency is not None and parse_currency(currency) != row.currency:
            _check_currency_free(conn, row)
            vendor["currency"] = tariff["currency"] = parse_currency(currency)
        if prepaid is not None and prepaid != row.prepaid:
            if not prepaid and row.balance:
                raise UserError(
                    f"vendor {name} holds a prepaid balance of {format_amount(row.balance)} {row.currency}: "
                    "adjust it to 0 first"
                )
            vendor["prepaid"] = prepaid
        if not vendor:
            raise UserError(f"nothing to change for vendor {name}: give --name, --currency or --prepaid/--postpaid")
        try:
            conn.execute(update(Vendor).where(Vendor.id == row.id).values(**vendor))
            if tariff:
                conn.execute(update(TariffRow).where(TariffRow.id == row.tariff_id).values(**tariff))
        except IntegrityError:
            raise UserError(f"vendor {new_name!r} exists already") from None
        audit.record(conn, operator, "vendor.edit", name, vendor)
        return _views(conn, [_row(conn, vendor.get("name", name))])[0]


def _check_currency_free(conn: Connection, row) -> None:
    if _rate_counts(conn, [row.tariff_id]):
        raise UserError(f"vendor {row.name} has rates in {row.currency}: its currency cannot change")
    if conn.execute(select(VendorLedgerEntry.id).where(VendorLedgerEntry.vendor_id == row.id)).first() is not None:
        raise UserError(f"vendor {row.name} has ledger entries in {row.currency}: its currency cannot change")


def post(
    engine: Engine,
    settings: Settings,
    operator: str,
    name: str,
    kind: str,
    amount: int,
    reference: str | None = None,
    note: str | None = None,
) -> VendorView:
    """A recharge (money paid in to the vendor, more than 0) or an adjustment (other than 0) of a prepaid vendor's
    balance, within the max_amount and max_balance settings: the balance, its ledger entry (vendor_ledger.post) and
    the audit entry in one transaction. The vendor as it is after."""
    if kind not in (RECHARGE, ADJUST):
        raise ValueError(f"unknown vendor ledger entry kind {kind!r}")
    check_posting(RECHARGE if kind == RECHARGE else ADJUSTMENT, amount, name, ACTIVE)  # the sign rules of accounts'
    with engine.begin() as conn:
        row = _row(conn, name, lock=True)
        if not row.prepaid:
            raise UserError(f"vendor {name} is not prepaid: it has no balance to {kind} (`vendors edit --prepaid`)")
        ledger.limits(settings).check(amount, row.balance + amount, name)
        after = vendor_ledger.post(conn, row.id, kind, amount, operator, reference or "", note or "")
        detail = {"amount": format_amount(amount), "currency": row.currency, "reference": reference, "note": note}
        audit.record(conn, operator, f"vendor.{kind}", name, detail | {"balance_after": format_amount(after)})
        return _views(conn, [_row(conn, name)])[0]


def history(engine: Engine, name: str, limit: int = HISTORY_LIMIT) -> tuple[VendorView, list[VendorEntry]]:
    """The vendor and its latest ledger entries, newest first."""
    columns = [VendorLedgerEntry.__table__.c[key] for key in VendorEntry.__dataclass_fields__]
    with engine.begin() as conn:
        view = _views(conn, [_row(conn, name)])[0]
        query = select(*columns).where(VendorLedgerEntry.vendor_id == view.id)
        rows = conn.execute(query.order_by(VendorLedgerEntry.id.desc()).limit(limit)).all()
    return view, [VendorEntry(**row._mapping) for row in rows]


# --- the destination set --------------------------------------------------------------------------


def import_rates(
    engine: Engine,
    vendor: str,
    source: str | Path,
    replace: bool = False,
    progress: sheets.Progress = lambda _bytes: None,
    *,
    operator: str,
) -> rates.ImportResult:
    """`rates import` into the vendor's tariff: the same file formats, checks and all-or-nothing write."""
    return rates.import_rates(engine, _tariff_of(engine, vendor), source, replace, progress, operator=operator)


def list_rates(engine: Engine, vendor: str, prefix: str = "") -> list[Rate]:
    """The vendor's rates in effect by prefix, of prefixes starting with ``prefix``."""
    name, found, after = _tariff_of(engine, vendor), [], ("", 0)
    while True:
        page = rates.rates_page(engine, name, prefix, after, rates.BATCH)
        found += page.rates
        if page.after is None:
            return found
        after = page.after


def _tariff_of(engine: Engine, vendor: str) -> str:
    with engine.begin() as conn:
        return _row(conn, vendor).tariff
