"""Vendors, their trunks, and calls they carried with each Dial attempt, written straight into the tables (settlement
writes them in use): the CDR's trunk and vendor are those of its last attempt, a call with no attempts was routed
by the routes table."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Engine, insert, select

from asteriskbill.money import parse_amount
from asteriskbill.store.models import Account, CallAttempt, Cdr, Tariff, Trunk, Vendor


@dataclass(frozen=True)
class Carried:
    session: str
    account: str
    started_at: datetime
    attempts: tuple[tuple[str, str], ...]  # (trunk, dialstatus) in order; (): routed by the routes table
    seconds: int = 0  # billed
    cost: str = "0"
    buy: str | None = None
    buy_currency: str | None = None  # a vendor's currency no rate converted at the settlement
    currency: str = "USD"

    @property
    def outcome(self) -> str:
        return self.attempts[-1][1] if self.attempts else ("ANSWER" if self.seconds else "NOANSWER")


def add_vendor(engine: Engine, name: str, currency: str, trunks: list[str]) -> None:
    """Vendor ``name``, its destination set (an empty tariff) and its ``trunks``."""
    with engine.begin() as conn:
        tariff = conn.execute(
            insert(Tariff).values(name=f"vendor:{name}", currency=currency, timezone="UTC").returning(Tariff.id)
        ).scalar_one()
        vendor = conn.execute(
            insert(Vendor).values(name=name, currency=currency, tariff_id=tariff).returning(Vendor.id)
        ).scalar_one()
        for trunk in trunks:
            conn.execute(insert(Trunk).values(vendor_id=vendor, name=trunk, dial=f"PJSIP/${{NUMBER}}@{trunk}"))


def add_carried(engine: Engine, calls: list[Carried]) -> None:
    """The CDRs of ``calls`` and their attempts."""
    with engine.begin() as conn:
        accounts = dict(conn.execute(select(Account.name, Account.id)).tuples().all())
        trunks = {name: (tid, vid) for name, tid, vid in conn.execute(select(Trunk.name, Trunk.id, Trunk.vendor_id))}
        for call in calls:
            trunk_id, vendor_id = trunks[call.attempts[-1][0]] if call.attempts else (None, None)
            cdr = conn.execute(
                insert(Cdr).values(_values(call, accounts[call.account], trunk_id, vendor_id)).returning(Cdr.id)
            ).scalar_one()
            for position, (trunk, status) in enumerate(call.attempts, 1):
                conn.execute(
                    insert(CallAttempt).values(
                        cdr_id=cdr, position=position, trunk_id=trunks[trunk][0], dialstatus=status
                    )
                )


def _values(call: Carried, account_id: int, trunk_id: int | None, vendor_id: int | None) -> dict:
    answered = call.started_at + timedelta(seconds=5) if call.outcome == "ANSWER" else None
    return {
        "session": call.session,
        "account_id": account_id,
        "server": "pbx1",
        "uniqueid": f"{call.session}.1",
        "linkedid": f"{call.session}.1",
        "callerid": "201",
        "dialled": "004420712345",
        "number": "4420712345",
        "destination": "UK London",
        "prefix": "4420",
        "call_class": "international",
        "started_at": call.started_at,
        "answered_at": answered,
        "ended_at": call.started_at + timedelta(seconds=call.seconds + 5),
        "billable_ms": call.seconds * 1000,
        "billed_seconds": call.seconds,
        "outcome": call.outcome,
        "hangup_cause": "16" if answered else "17",
        "cost": parse_amount(call.cost),
        "buy_cost": None if call.buy is None else parse_amount(call.buy),
        "buy_currency": call.buy_currency,
        "currency": call.currency,
        "trunk_id": trunk_id,
        "vendor_id": vendor_id,
    }
