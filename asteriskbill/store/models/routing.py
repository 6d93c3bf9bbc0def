"""Vendors, their trunks and destination sets, routing groups, and each call's attempts over the trunks.

A vendor's destination set (its prefixes and buy prices) is a tariff of its own (``tariff_id``): the same
rates, interval groups, imports and revisions as sell rates, since vendors bill that way too.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, CheckConstraint, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column
from sqlalchemy.sql import false, true

from asteriskbill.store.base import Base
from asteriskbill.store.types import UTCDateTime, utcnow

POLICIES = ("lcr", "priority", "weighted")


class Vendor(Base):
    __tablename__ = "vendors"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    currency: Mapped[str] = mapped_column(String(3))
    tariff_id: Mapped[int] = mapped_column(ForeignKey("tariffs.id"), unique=True)  # its destination set
    prepaid: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    balance: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")  # micro-units, prepaid only
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class VendorLedgerEntry(Base):
    """Every change of a prepaid vendor's balance: what we paid in, what its calls used."""

    __tablename__ = "vendor_ledger_entries"
    __table_args__ = (Index("ix_vendor_ledger_entries_vendor_id_id", "vendor_id", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    vendor_id: Mapped[int] = mapped_column(ForeignKey("vendors.id"))
    kind: Mapped[str] = mapped_column(String(16))  # recharge, call, adjust
    amount: Mapped[int] = mapped_column(BigInteger)  # signed micro-units, in the vendor's currency
    balance_after: Mapped[int] = mapped_column(BigInteger)
    reference: Mapped[str | None] = mapped_column(String(100))  # the call's session, an invoice number
    note: Mapped[str | None] = mapped_column(String(400))
    operator: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Trunk(Base):
    """A vendor's connection: a Dial() target with ${NUMBER}, the number changed as the vendor wants it."""

    __tablename__ = "trunks"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    vendor_id: Mapped[int] = mapped_column(ForeignKey("vendors.id"), index=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    dial: Mapped[str] = mapped_column(String(200))
    strip_digits: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    add_prefix: Mapped[str] = mapped_column(String(16), default="", server_default="")
    channel_limit: Mapped[int | None] = mapped_column(Integer)  # None: no limit
    enabled: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    # Set while its answer-seizure ratio is under the threshold (services/routing.py): it is tried last.
    demoted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    demoted_note: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class RoutingGroup(Base):
    __tablename__ = "routing_groups"
    __table_args__ = (CheckConstraint("policy IN ('lcr', 'priority', 'weighted')", name="policy"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    policy: Mapped[str] = mapped_column(String(16))
    allow_loss: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class RoutingEntry(Base):
    """A trunk of a group. Entries with a prefix override the others for the numbers it begins (longest wins)."""

    __tablename__ = "routing_entries"
    __table_args__ = (UniqueConstraint("group_id", "trunk_id", "prefix"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("routing_groups.id", ondelete="CASCADE"), index=True)
    trunk_id: Mapped[int] = mapped_column(ForeignKey("trunks.id", ondelete="CASCADE"), index=True)
    prefix: Mapped[str] = mapped_column(String(32), default="", server_default="")
    priority: Mapped[int] = mapped_column(Integer, default=1, server_default="1")  # lower first
    weight: Mapped[int] = mapped_column(Integer, default=1, server_default="1")  # share, for weighted


class CallAttempt(Base):
    """One Dial() of a call over one of its routes, in order; the last is the one that carried it."""

    __tablename__ = "call_attempts"
    __table_args__ = (Index("ix_call_attempts_trunk_id_id", "trunk_id", "id"),)  # a trunk's last N attempts

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    cdr_id: Mapped[int] = mapped_column(ForeignKey("cdrs.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer)  # 1: the first route tried
    trunk_id: Mapped[int | None] = mapped_column(ForeignKey("trunks.id", ondelete="SET NULL"))
    dialstatus: Mapped[str] = mapped_column(String(16))
