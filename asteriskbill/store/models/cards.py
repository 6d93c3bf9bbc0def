"""Calling cards: a card is an account of kind card plus this row; batches group one generation."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from asteriskbill.store.base import Base
from asteriskbill.store.types import UTCDateTime, utcnow


class CardBatch(Base):
    __tablename__ = "card_batches"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    count: Mapped[int] = mapped_column(Integer)
    face_value: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    tariff_id: Mapped[int] = mapped_column(ForeignKey("tariffs.id"))
    activation: Mapped[str] = mapped_column(String(16))  # billing.cards.ACTIVATIONS
    valid_days: Mapped[int | None] = mapped_column(Integer)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    operator: Mapped[str] = mapped_column(String(64))


class Card(Base):
    __tablename__ = "cards"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), unique=True)
    number: Mapped[str] = mapped_column(String(19), unique=True)
    pin_hash: Mapped[str] = mapped_column(String(64))  # HMAC-SHA256 hex, keyed with the installation secret
    batch_id: Mapped[int] = mapped_column(ForeignKey("card_batches.id"), index=True)
    status: Mapped[str] = mapped_column(String(16))  # billing.cards.STORED_STATUSES
    activation: Mapped[str] = mapped_column(String(16))
    valid_days: Mapped[int | None] = mapped_column(Integer)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    activated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    first_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # PIN lockout: failures counted in a window from the first one; locked until a moment.
    pin_failures: Mapped[int] = mapped_column(Integer, default=0)
    pin_failed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    pin_locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
