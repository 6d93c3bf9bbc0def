"""Tariffs, their holidays and their rates."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import BigInteger, Date, ForeignKey, Index, Integer, SmallInteger, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from asteriskbill.store.base import Base
from asteriskbill.store.types import UTCDateTime, utcnow


class Tariff(Base):
    __tablename__ = "tariffs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    currency: Mapped[str] = mapped_column(String(3))
    rounding: Mapped[int] = mapped_column(BigInteger, default=1)  # step in micro-units
    timezone: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # An import writes its rows under a revision of their own in short transactions, then switches them in
    # with one (RateRevision). rates_revision: the last switched in (an import begun before it is refused);
    # rates_staged: the last handed out (never handed out again while rows of it may exist).
    rates_revision: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    rates_staged: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    routing_group_id: Mapped[int | None] = mapped_column(ForeignKey("routing_groups.id"))  # for its accounts


class Holiday(Base):
    __tablename__ = "holidays"
    __table_args__ = (UniqueConstraint("tariff_id", "day"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    tariff_id: Mapped[int] = mapped_column(ForeignKey("tariffs.id", ondelete="CASCADE"))
    day: Mapped[date] = mapped_column(Date)
    weekday: Mapped[int] = mapped_column(SmallInteger)  # the day whose rates it uses: 6 = Sunday


class RateRow(Base):
    """One rate; interval groups are kept in their canonical text "START:PRICE:INCREMENT:UNIT;..."."""

    __tablename__ = "rates"
    __table_args__ = (
        Index("ix_rates_tariff_id_prefix", "tariff_id", "prefix"),
        # by revision alone: a (tariff_id, revision) index would tempt the planner away from
        # (tariff_id, prefix) in the longest-prefix lookup
        Index("ix_rates_revision", "revision"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    tariff_id: Mapped[int] = mapped_column(ForeignKey("tariffs.id", ondelete="CASCADE"))
    prefix: Mapped[str] = mapped_column(String(32))
    destination: Mapped[str] = mapped_column(String(100), default="")
    intervals: Mapped[str] = mapped_column(String(400))
    connect_fee: Mapped[int] = mapped_column(BigInteger, default=0)
    grace: Mapped[int] = mapped_column(Integer, default=0)
    weekdays: Mapped[int] = mapped_column(SmallInteger, default=127)  # bit 0 = Monday
    time_from: Mapped[int | None] = mapped_column(SmallInteger)  # minutes after local midnight
    time_to: Mapped[int | None] = mapped_column(SmallInteger)
    date_from: Mapped[date | None] = mapped_column(Date)
    date_to: Mapped[date | None] = mapped_column(Date)
    buy_price: Mapped[int | None] = mapped_column(BigInteger)
    buy_currency: Mapped[str | None] = mapped_column(String(3))  # None: the tariff's currency
    weight: Mapped[int] = mapped_column(Integer, default=0)
    revision: Mapped[int] = mapped_column(Integer, default=0, server_default="0")  # in effect: see RateRevision


class RateRevision(Base):
    """A revision of a tariff's rates in effect. Written only in the transaction that switches an import in:
    rows staged by an import that never got there (killed, refused, superseded) are never priced, whatever
    their number; `--replace` removes the tariff's other revisions in that same transaction."""

    __tablename__ = "rate_revisions"

    tariff_id: Mapped[int] = mapped_column(ForeignKey("tariffs.id", ondelete="CASCADE"), primary_key=True)
    revision: Mapped[int] = mapped_column(Integer, primary_key=True)
    rates: Mapped[int] = mapped_column(Integer, default=0, server_default="0")  # its rows: none change once in effect
