"""Tariff use cases: create, list, holidays, and when a call starts on a tariff's clock."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import Engine, func, insert, select
from sqlalchemy.exc import IntegrityError

from asteriskbill.billing.accounts import check_currencies
from asteriskbill.errors import UserError
from asteriskbill.money import parse_currency
from asteriskbill.rating.model import WEEKDAYS, Tariff
from asteriskbill.services import audit
from asteriskbill.store import tariffs as repo
from asteriskbill.store.models import Holiday, RateRevision, RateRow, Vendor
from asteriskbill.store.models import Tariff as TariffRow
from asteriskbill.store.tariffs import in_effect


def check_timezone(name: str) -> str:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise UserError(f"unknown time zone {name!r}: use an IANA name such as Europe/Sofia or UTC") from None
    return name


def create_tariff(engine: Engine, operator: str, name: str, currency: str, rounding: int, timezone: str) -> Tariff:
    tariff = Tariff(name=name, currency=parse_currency(currency), rounding=rounding, timezone=check_timezone(timezone))
    if not name.strip():
        raise UserError("a tariff needs a name")
    try:
        with engine.begin() as conn:
            insert_tariff(conn, tariff)
            detail = {"currency": tariff.currency, "rounding": tariff.rounding, "timezone": tariff.timezone}
            audit.record(conn, operator, "tariff.create", tariff.name, detail)
    except IntegrityError:
        raise UserError(f"tariff {name!r} exists already") from None
    return tariff


def insert_tariff(conn, tariff: Tariff) -> int:
    """A new tariff's row and its first revision of rates (none yet, in effect), in the caller's transaction."""
    tid = conn.execute(
        insert(TariffRow)
        .values(name=tariff.name, currency=tariff.currency, rounding=tariff.rounding, timezone=tariff.timezone)
        .returning(TariffRow.id)
    ).scalar_one()
    conn.execute(insert(RateRevision).values(tariff_id=tid, revision=0))
    return tid


def _tariff_row(conn, name: str):
    row = repo.tariff_row(conn, name)
    if row is None:
        raise UserError(f"no tariff named {name!r} (see `asteriskbill tariff list`)")
    return row


def tariff_id(conn, name: str) -> int:
    return _tariff_row(conn, name).id


def get_tariff(conn, name: str) -> tuple[int, Tariff]:
    row = _tariff_row(conn, name)
    return row.id, repo.load_tariff(conn, row.id)


def sold_tariff(conn, name: str) -> tuple[int, Tariff]:
    """``get_tariff`` of a tariff that accounts call on: a vendor's buy rates (its own tariff) are refused."""
    tid, tariff = get_tariff(conn, name)
    vendor = conn.execute(select(Vendor.name).where(Vendor.tariff_id == tid)).scalar()
    if vendor is not None:
        raise UserError(f"tariff {name} is the rates of vendor {vendor}: give a tariff that accounts call on")
    return tid, tariff


def incoming_tariff_id(conn, account: str, tariff: str | None, currency: str) -> int | None:
    """The id of the incoming tariff ``tariff`` of ``account`` (None: none), which must be in the account's
    ``currency``: calls to the account are paid from its balance."""
    if tariff is None:
        return None
    tid, found = sold_tariff(conn, tariff)
    check_currencies(account, currency, None, (found.name, found.currency))
    return tid


@dataclass(frozen=True)
class TariffSummary:
    tariff: Tariff
    rates: int


def list_tariffs(engine: Engine) -> list[TariffSummary]:
    with engine.begin() as conn:
        counts = dict(
            conn.execute(
                in_effect(select(RateRow.tariff_id, func.count()).select_from(RateRow)).group_by(RateRow.tariff_id)
            )
            .tuples()
            .all()
        )
        rows = conn.execute(select(TariffRow.__table__).order_by(TariffRow.name)).all()
        return [TariffSummary(repo.load_tariff(conn, row.id), counts.get(row.id, 0)) for row in rows]


def show_tariff(engine: Engine, name: str) -> TariffSummary:
    with engine.begin() as conn:
        tid, tariff = get_tariff(conn, name)
        count = conn.execute(
            in_effect(select(func.count()).select_from(RateRow)).where(RateRow.tariff_id == tid)
        ).scalar_one()
        return TariffSummary(tariff, count)


def add_holiday(engine: Engine, operator: str, name: str, day: date, weekday: int) -> None:
    try:
        with engine.begin() as conn:
            conn.execute(insert(Holiday).values(tariff_id=tariff_id(conn, name), day=day, weekday=weekday))
            audit.record(conn, operator, "tariff.holiday-add", name, {"day": day.isoformat(), "as": WEEKDAYS[weekday]})
    except IntegrityError:
        raise UserError(f"{day} is a holiday of tariff {name!r} already") from None


def call_start(tariff: Tariff, at: datetime | None) -> datetime:
    """A call's start: now, or ``at``, read on the tariff's clock when it carries no offset (Tariff.moment)."""
    if at is None:
        return datetime.now(ZoneInfo(tariff.timezone))
    return at if at.tzinfo else tariff.moment(at)
