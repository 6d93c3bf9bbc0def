"""Accounts of every kind (card, extension, company, gateway) and their ledger."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, ForeignKey, Index, Integer, String, false
from sqlalchemy.orm import Mapped, mapped_column

from asteriskbill.store.base import Base
from asteriskbill.store.types import UTCDateTime, utcnow


class Account(Base):
    """An account; ``balance`` is a cache of the sum of its ledger entries (``asteriskbill check``)."""

    __tablename__ = "accounts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(16), index=True)  # billing.accounts.KINDS; index: the non-cards
    name: Mapped[str] = mapped_column(String(100), unique=True)  # a card's name is its number
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("accounts.id"), index=True)
    tariff_id: Mapped[int | None] = mapped_column(ForeignKey("tariffs.id"))  # None: the company's
    currency: Mapped[str] = mapped_column(String(3))
    balance: Mapped[int] = mapped_column(BigInteger, default=0)  # micro-units
    credit_limit: Mapped[int] = mapped_column(BigInteger, default=0)  # how far below 0 it may go
    status: Mapped[str] = mapped_column(String(16), default="active")  # billing.accounts.STATUSES
    max_calls: Mapped[int | None] = mapped_column(Integer)  # simultaneous calls; None: no limit
    extension: Mapped[str | None] = mapped_column(String(40), unique=True)
    accountcode: Mapped[str | None] = mapped_column(String(80), unique=True)
    booth: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())  # a callshop booth
    # How its calls leave (models/routing.py); None: its company's, then its tariff's, then the routes table.
    routing_group_id: Mapped[int | None] = mapped_column(ForeignKey("routing_groups.id"))
    # Whose money its calls spend (billing.accounts.POOLS): its own, or its company's balance and credit limit,
    # then within its own spending limits per day and per month (micro-units; None: no limit).
    pool: Mapped[str] = mapped_column(String(16), default="own", server_default="own")
    daily_limit: Mapped[int | None] = mapped_column(BigInteger)
    monthly_limit: Mapped[int | None] = mapped_column(BigInteger)
    # Its service plan (models/plans.py): a fee each cycle, and the tariff it calls on when it has none of its own.
    plan_id: Mapped[int | None] = mapped_column(ForeignKey("plans.id"), index=True)
    # When it was put on that plan: a postpaid plan charges no cycle that ended before (billing/plans.py: owed).
    plan_since: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # What calls TO it cost it (billing/incoming.py), by the caller's number; None: they are not billed.
    incoming_tariff_id: Mapped[int | None] = mapped_column(ForeignKey("tariffs.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class LedgerEntry(Base):
    """One change of one balance, written in the transaction that made it."""

    __tablename__ = "ledger_entries"
    __table_args__ = (
        Index("ix_ledger_entries_account_id_id", "account_id", "id"),
        # An order number recharges an account once (services/ledger.recharge looks it up). Not a partial
        # index: sqlite_where/postgresql_where make SQLAlchemy import both dialects, +65 ms to each agi-bin call.
        Index("ix_ledger_entries_account_id_reference", "account_id", "reference"),
        Index("ix_ledger_entries_kind_created_at", "kind", "created_at"),  # e.g. today's recharges
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"))
    kind: Mapped[str] = mapped_column(String(16))  # billing.ledger.KINDS
    amount: Mapped[int] = mapped_column(BigInteger)  # signed micro-units
    balance_after: Mapped[int] = mapped_column(BigInteger)
    reference: Mapped[str | None] = mapped_column(String(100))  # order number, call id, batch
    note: Mapped[str | None] = mapped_column(String(400))
    operator: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Did(Base):
    """A number of ours that rings an account (a toll-free or direct number): calls to it are incoming calls of that
    account, as calls to its extension are."""

    __tablename__ = "dids"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    number: Mapped[str] = mapped_column(String(40), unique=True)  # as ${EXTEN} shows it in the inbound context
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
