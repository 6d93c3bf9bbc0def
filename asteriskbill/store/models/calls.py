"""Calls: credit reservations made by the AGI, and the CDRs the ARI listener settles them into."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, Index, Integer, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from asteriskbill.billing.incoming import DIRECTION_CHECK, OUT
from asteriskbill.billing.reservation import ReservationStatus
from asteriskbill.store.base import Base
from asteriskbill.store.types import UTCDateTime, utcnow


def _account_itself(context) -> int | None:
    """A row written without its payer is paid by its own account (the engine always names the payer)."""
    return context.get_current_parameters().get("account_id")


STATUS_CHECK = "status IN ({})".format(", ".join(f"'{status}'" for status in ReservationStatus))


def _only_set(column: str) -> Index:
    """The index by ``column`` and status of the reservations that have it (most have no trunk and no bundle): a call
    authorized or settled writes no entry in it."""
    where = text(f"{column} IS NOT NULL")
    return Index(f"ix_reservations_{column}_status", column, "status", sqlite_where=where, postgresql_where=where)


class Reservation(Base):
    """Credit held for one authorized call until it is settled or released.

    ``pricing`` keeps the tariff and the rates that authorized the call, so the settlement prices it
    with exactly what computed its maximum duration.
    """

    __tablename__ = "reservations"
    # by account: what an account holds; by status: the calls up now and recovery's overdue scan;
    # by deadline: the calls `serve` extends next
    __table_args__ = (
        Index("ix_reservations_account_id_status", "account_id", "status"),
        Index("ix_reservations_status_deadline_at", "status", "deadline_at"),  # by status alone too
        _only_set("trunk_id"),  # a trunk's calls up now
        Index("ix_reservations_payer_id_status", "payer_id", "status"),  # what a balance holds (a pool's too)
        _only_set("bundle_id"),  # what a bundle holds
        CheckConstraint(STATUS_CHECK, name="status"),
        CheckConstraint("held_seconds <= max_seconds", name="held_within_max"),
        CheckConstraint(DIRECTION_CHECK, name="direction"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    session: Mapped[str] = mapped_column(String(36), unique=True)  # BILL_SESSION
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"))
    # The account whose balance the call spends: account_id itself, or its company's for a pooled account.
    payer_id: Mapped[int | None] = mapped_column(ForeignKey("accounts.id"), default=_account_itself)
    status: Mapped[str] = mapped_column(String(16), default=ReservationStatus.OPEN)  # a ReservationStatus
    amount: Mapped[int] = mapped_column(BigInteger)  # micro-units held: the cost of held_seconds
    # The bundle the call draws on first (rating/bundle.py), and what of it held_seconds take: seconds of minutes,
    # or micro-units of a money bundle; amount is then the balance's part only.
    bundle_id: Mapped[int | None] = mapped_column(ForeignKey("account_bundles.id"))
    bundle_seconds: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    bundle_amount: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    held_seconds: Mapped[int] = mapped_column(Integer)  # talk time held: one slice or more, up to max_seconds
    max_seconds: Mapped[int] = mapped_column(Integer)  # BILL_MAX_MS: what the money available at the start paid for
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # the callee's answer, once seen
    deadline_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # the caller channel's hard limit
    dialled: Mapped[str] = mapped_column(String(40))
    number: Mapped[str] = mapped_column(String(32))  # normalised
    call_class: Mapped[str] = mapped_column(String(16))
    destination: Mapped[str] = mapped_column(String(100), default="")
    prefix: Mapped[str] = mapped_column(String(32))
    dial: Mapped[str] = mapped_column(String(200), default="")  # BILL_DIAL (BILL_DIAL_1)
    # The trunks of BILL_DIAL_1..N in order, each with its vendor's rates (billing/routing.py: Routes.text);
    # "" for a call routed by the routes table. trunk_id: the first, whose channels the call counts against.
    routes: Mapped[str] = mapped_column(Text, default="", server_default="")
    trunk_id: Mapped[int | None] = mapped_column(ForeignKey("trunks.id"))
    priced_at: Mapped[datetime] = mapped_column(UTCDateTime)
    pricing: Mapped[str] = mapped_column(Text)  # JSON snapshot of tariff + candidate rates
    channel: Mapped[str] = mapped_column(String(100), default="")
    uniqueid: Mapped[str] = mapped_column(String(64), default="")
    callerid: Mapped[str] = mapped_column(String(80), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    note: Mapped[str | None] = mapped_column(String(200))
    # out: a call the account made; in: a call to it (billing/incoming.py), rated by the caller's number
    direction: Mapped[str] = mapped_column(String(3), default=OUT, server_default=OUT)


class Cdr(Base):
    """The final record of one call; written once per BILL_SESSION with its charge."""

    __tablename__ = "cdrs"
    __table_args__ = (
        Index("ix_cdrs_account_id_started_at", "account_id", "started_at"),  # a day's, a month's spend
        CheckConstraint(DIRECTION_CHECK, name="direction"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    session: Mapped[str] = mapped_column(String(36), unique=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), index=True)
    # the account debited: its own or its pool's
    payer_id: Mapped[int | None] = mapped_column(ForeignKey("accounts.id"), default=_account_itself)
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
    cost: Mapped[int] = mapped_column(BigInteger, default=0)  # what the balance paid, after a bundle's part
    bundle_seconds: Mapped[int] = mapped_column(Integer, default=0, server_default="0")  # of minutes, used first
    bundle_amount: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")  # of a money bundle
    buy_cost: Mapped[int | None] = mapped_column(BigInteger)  # in ``currency``, unless buy_currency says
    # The vendor's currency of a buy cost that no rate could convert when the call was settled;
    # None: buy_cost is in ``currency`` (converted then, or bought in it). See services/settlement.py.
    buy_currency: Mapped[str | None] = mapped_column(String(3))
    currency: Mapped[str] = mapped_column(String(3))
    source: Mapped[str] = mapped_column(String(16), default="events")  # events, safety-net, master.csv
    trunk_id: Mapped[int | None] = mapped_column(ForeignKey("trunks.id"), index=True)  # the one that carried it
    vendor_id: Mapped[int | None] = mapped_column(ForeignKey("vendors.id"), index=True)  # buy_cost is its
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # out: the account called; in: it was called (number: the caller's, dialled: the number called)
    direction: Mapped[str] = mapped_column(String(3), default=OUT, server_default=OUT)


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
