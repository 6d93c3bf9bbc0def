"""Every mapped table, imported here so Alembic and the metadata see them all."""

from asteriskbill.store.base import Base
from asteriskbill.store.models.accounts import Account, Did, LedgerEntry
from asteriskbill.store.models.audit import AuditEntry
from asteriskbill.store.models.calls import CardCallerId, Cdr, NumberPlanRow, Reservation
from asteriskbill.store.models.cards import Card, CardBatch
from asteriskbill.store.models.catalog import CatalogVersion
from asteriskbill.store.models.operations import BoothSession, CurrencyRate, Preference, Server
from asteriskbill.store.models.plans import AccountBundle, Plan, PlanRenewal
from asteriskbill.store.models.routes import RouteRow
from asteriskbill.store.models.routing import CallAttempt, RoutingEntry, RoutingGroup, Trunk, Vendor, VendorLedgerEntry
from asteriskbill.store.models.tariffs import Holiday, RateRevision, RateRow, Tariff
from asteriskbill.store.models.users import ConsoleSession, ConsoleUser, LoginAttempt

__all__ = [
    "Account",
    "AccountBundle",
    "AuditEntry",
    "Base",
    "BoothSession",
    "CallAttempt",
    "Card",
    "CardBatch",
    "CardCallerId",
    "CatalogVersion",
    "Cdr",
    "ConsoleSession",
    "ConsoleUser",
    "CurrencyRate",
    "Did",
    "Holiday",
    "LedgerEntry",
    "LoginAttempt",
    "NumberPlanRow",
    "Plan",
    "PlanRenewal",
    "Preference",
    "RateRevision",
    "RateRow",
    "Reservation",
    "RouteRow",
    "RoutingEntry",
    "RoutingGroup",
    "Server",
    "Tariff",
    "Trunk",
    "Vendor",
    "VendorLedgerEntry",
]
