"""The catalog's version: what `serve` keeps in memory is checked against it on every call (store/catalog.py)."""

from __future__ import annotations

from sqlalchemy import BigInteger, Integer
from sqlalchemy.orm import Mapped, mapped_column

from asteriskbill.store.base import Base


class CatalogVersion(Base):
    """One row (id 1), its version raised by a trigger in the very transaction of every change to the tariffs,
    holidays, rate revisions in effect, routes and number plans, whatever program makes it (migration 0014).
    Rates have no trigger (an import writes a million rows): the rows in effect only change with a revision
    switched in, which is a change of rate_revisions and of the tariff's rates_revision."""

    __tablename__ = "catalog_version"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    version: Mapped[int] = mapped_column(BigInteger)
