"""Callshop booths, preferences, currency rates and Asterisk servers."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import BigInteger, CheckConstraint, Date, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from asteriskbill.store.base import Base
from asteriskbill.store.types import UTCDateTime, utcnow

# a server's AMI is its address, user and secret together, or nothing
AMI_ALL_OR_NONE = (
    "(ami_url IS NULL AND ami_user IS NULL AND ami_secret IS NULL)"
    " OR (ami_url IS NOT NULL AND ami_user IS NOT NULL AND ami_secret IS NOT NULL)"
)


class BoothSession(Base):
    """One customer's use of a callshop booth, from the operator's start to its stop."""

    __tablename__ = "booth_sessions"
    __table_args__ = (Index("ix_booth_sessions_account_id_stopped_at", "account_id", "stopped_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"))
    mode: Mapped[str] = mapped_column(String(16))  # prepaid, postpaid
    prepaid: Mapped[int] = mapped_column(BigInteger, default=0)  # money taken at the start
    credit_limit: Mapped[int] = mapped_column(BigInteger, default=0)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    stopped_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    total: Mapped[int | None] = mapped_column(BigInteger)  # calls charged, set at the stop
    paid: Mapped[int | None] = mapped_column(BigInteger)  # taken at the stop (postpaid) or change given (-)
    operator: Mapped[str] = mapped_column(String(64))


class Preference(Base):
    """An operator preference kept in the database (e.g. callshop.default_prepaid), as text."""

    __tablename__ = "preferences"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(String(200))


class CurrencyRate(Base):
    """1 ``base`` = ``rate`` micro-units of ``quote`` from ``valid_from`` on (e.g. USD BGN 1.79)."""

    __tablename__ = "currency_rates"
    __table_args__ = (UniqueConstraint("base", "quote", "valid_from"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    base: Mapped[str] = mapped_column(String(3))
    quote: Mapped[str] = mapped_column(String(3))
    rate: Mapped[int] = mapped_column(BigInteger)  # micro-units of quote per unit of base
    valid_from: Mapped[date] = mapped_column(Date)


class Server(Base):
    """An Asterisk server whose ARI events the engine follows, and whose manager interface (AMI), when given,
    moves the hard limit of its calls."""

    __tablename__ = "servers"
    __table_args__ = (CheckConstraint(AMI_ALL_OR_NONE, name="ami_all_or_none"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    ari_url: Mapped[str] = mapped_column(String(200))
    ari_user: Mapped[str] = mapped_column(String(80))
    ari_password: Mapped[str] = mapped_column(String(200))
    asterisk_id: Mapped[str | None] = mapped_column(String(64))  # entity_id once connected
    ami_url: Mapped[str | None] = mapped_column(String(200))  # tcp://host:port; None: no AMI
    ami_user: Mapped[str | None] = mapped_column(String(80))
    ami_secret: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
