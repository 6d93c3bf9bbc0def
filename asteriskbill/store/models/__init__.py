"""Every mapped table, imported here so Alembic and the metadata see them all."""

from asteriskbill.store.base import Base
from asteriskbill.store.models.tariffs import Holiday, RateRow, Tariff

__all__ = ["Base", "Holiday", "RateRow", "Tariff"]
