"""Calls: credit reservations made by the AGI, and the CDRs the ARI listener settles them into."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from asteriskbill.store.base import Base
from asteriskbill.store.types import UTCDateTime, utcnow


class Reservation(Base):
    """Credit held for one authorized call until it is settled or released.

    ``pricing`` keeps the tariff and the rates that authorized the call, so the settlement prices it
    with exactly what computed its maximum duration.
    """

    __tablename__ = "reservations"
    # by account: what an account holds; by status: the calls up now and recovery's overdue scan
    __table_args__ = (
        Index("ix_reservations_account_id_status", "account_id", "status"),
        Index("ix_reservations_status", "status"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    session: Mapped[str] = mapped_column(String(36), unique=True)  # BILL_SESSION
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"))
    status: Mapped[str] = mapped_column(String(16), default="open")  # open, settled, released, flagged
    amount: Mapped[int] = mapped_column(BigInteger)  # micro-units held
    max_seconds: Mapped[int] = mapped_column(Integer)
    dialled: Mapped[str] = mapped_column(String(40))
    number: Mapped[str] = mapped_column(String(32))  # normalised
    call_class: Mapped[str] = mapped_column(String(16))
    destination: Mapped[str] = mapped_column(String(100), default="")
    prefix: Mapped[str] = mapped_column(String(32))
    dial: Mapped[str] = mapped_column(String(200), default="")  # BILL_DIAL
    priced_at: Mapped[datetime] = mapped_column(UTCDateTime)
    pricing: Mapped[str] = mapped_column(Text)  # JSON snapshot of tariff + candidate rates
    channel: Mapped[str] = mapped_column(String(100), default="")
    uniqueid: Mapped[str] = mapped_column(String(64), default="")
    callerid: Mapped[str] = mapped_column(String(80), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    note: Mapped[str | None] = mapped_column(String(200))


class Cdr(Base):
    """The final record of one call; written once per BILL_SESSION with its charge."""

    __tablename__ = "cdrs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    session: Mapped[str] = mapped_column(String(36), unique=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), index=True)
    server: Mapped[str] = mapped_column(String(64), default="")  # the events' asterisk_id
    uniqueid: Mapped[str] = mapped_column(String(64), default="")
    linkedid: Mapped[str] = mapped_column(String(64), default="")
    callerid: Mapped[str] = mapped_column(String(80), default="")
    dialled: Mapped[str] = mapped_column(String(40))
    number: Mapped[str] = mapped_column(String(32), index=True)
    destination: Mapped[str] = mapped_column(String(100), default="")
    prefix: Mapped[str] = mapped_column(String(32), default="")
    call_class: Mapped[str] = mapped_column(String(16))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    billable_ms: Mapped[int] = mapped_column(BigInteger, default=0)
    billed_seconds: Mapped[int] = mapped_column(Integer, default=0)
    outcome: Mapped[str] = mapped_column(String(16))  # ANSWER, BUSY, NOANSWER, CONGESTION, CANCEL, ...
    hangup_cause: Mapped[str] = mapped_column(String(40), default="")
    cost: Mapped[int] = mapped_column(BigInteger, default=0)
    buy_cost: Mapped[int | None] = mapped_column(BigInteger)  # in ``currency``, unless buy_currency says
    # The vendor's currency of a buy cost that no rate could convert when the call was settled;
    # None: buy_cost is in ``currency`` (converted then, or bought in it). See services/settlement.py.
    buy_currency: Mapped[str | None] = mapped_column(String(3))
    currency: Mapped[str] = mapped_column(String(3))
    source: Mapped[str] = mapped_column(String(16), default="events")  # events, safety-net, master.csv
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class CardCallerId(Base):
    """A caller's number registered to a card: calls from it skip the card number and PIN."""

    __tablename__ = "card_callerids"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    card_id: Mapped[int] = mapped_column(ForeignKey("cards.id", ondelete="CASCADE"), index=True)
    callerid: Mapped[str] = mapped_column(String(40), unique=True)


class NumberPlanRow(Base):
    """A company's own number plan values; NULL keeps the global setting."""

    __tablename__ = "number_plans"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), unique=True)
    country_code: Mapped[str | None] = mapped_column(String(4))
    area_code: Mapped[str | None] = mapped_column(String(8))
    outside_line: Mapped[str | None] = mapped_column(String(4))
    international_prefix: Mapped[str | None] = mapped_column(String(4))
    national_prefix: Mapped[str | None] = mapped_column(String(4))
    max_length: Mapped[int | None] = mapped_column(Integer)
