"""Service plans and their renewals: the fee an account on a plan pays each cycle (billing/plans.py)."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import BigInteger, CheckConstraint, Date, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from asteriskbill.store.base import Base
from asteriskbill.store.types import UTCDateTime, utcnow


class Plan(Base):
    """A fee each cycle, and the tariff its accounts call on when they have none of their own."""

    __tablename__ = "plans"
    __table_args__ = (
        CheckConstraint("cycle IN ('daily', 'weekly', 'monthly')", name="cycle"),
        CheckConstraint("billing IN ('prepaid', 'postpaid')", name="billing"),
        CheckConstraint("on_failure IN ('suspend', 'allow-debt')", name="on_failure"),
        CheckConstraint("fee >= 0", name="fee"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    tariff_id: Mapped[int] = mapped_column(ForeignKey("tariffs.id"))  # its currency is the fee's
    cycle: Mapped[str] = mapped_column(String(16))  # billing.plans.CYCLES
    fee: Mapped[int] = mapped_column(BigInteger)  # micro-units a cycle
    billing: Mapped[str] = mapped_column(String(16))  # prepaid: at the cycle's start; postpaid: after its end
    on_failure: Mapped[str] = mapped_column(String(16))  # suspend | allow-debt, when the fee cannot be paid
    # Minutes or money included each cycle, as written (billing/bundles.py: "60min:44,49;5.00"); "": none. Fixed
    # once the plan is made: account_bundles count them by position.
    bundles: Mapped[str] = mapped_column(Text, default="", server_default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class PlanRenewal(Base):
    """One account's fee for one cycle: the unique (account, cycle) row is what charges a cycle once, however
    often or concurrently renewal runs."""

    __tablename__ = "plan_renewals"
    __table_args__ = (
        UniqueConstraint("account_id", "cycle_start"),
        CheckConstraint("outcome IN ('charged', 'suspended', 'debt')", name="outcome"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"))
    plan_id: Mapped[int] = mapped_column(ForeignKey("plans.id"), index=True)
    cycle_start: Mapped[date] = mapped_column(Date)  # the cycle's first day, in the timezone setting
    fee: Mapped[int] = mapped_column(BigInteger)  # micro-units charged: 0 while suspended
    outcome: Mapped[str] = mapped_column(String(16))  # billing.plans.OUTCOMES
    ledger_entry_id: Mapped[int | None] = mapped_column(ForeignKey("ledger_entries.id"))  # None: nothing charged
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # When a suspended cycle's fee was taken at last (billing.plans.renewal); None: as it was first decided.
    updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class AccountBundle(Base):
    """What is left this cycle of one bundle of an account's plan (services/bundles.py): refilled by renewal at the
    start of each cycle, taken from by settlement; open calls hold some of it (reservations.bundle_seconds or
    bundle_amount)."""

    __tablename__ = "account_bundles"
    __table_args__ = (UniqueConstraint("account_id", "plan_id", "position"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    plan_id: Mapped[int] = mapped_column(ForeignKey("plans.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer)  # the bundle's place in plans.bundles
    cycle_start: Mapped[date] = mapped_column(Date)  # the first day of the cycle it was refilled for
    left: Mapped[int] = mapped_column(BigInteger)  # in its unit: seconds, or micro-units of a money bundle
