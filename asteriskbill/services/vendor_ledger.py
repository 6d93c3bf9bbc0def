"""A prepaid vendor's balance: every change is a ledger entry written with it, in the caller's transaction."""

from __future__ import annotations

from sqlalchemy import Connection, insert, update

from asteriskbill.store.models import Vendor, VendorLedgerEntry
from asteriskbill.store.types import utcnow

RECHARGE, CALL, ADJUST = "recharge", "call", "adjust"


def post(
    conn: Connection, vendor_id: int, kind: str, amount: int, operator: str, reference: str = "", note: str = ""
) -> int:
    """Move the vendor's balance by ``amount`` (signed micro-units, its currency) with its ledger entry; the
    balance after. The UPDATE takes the row's lock: concurrent postings each see the one before."""
    balance = conn.execute(
        update(Vendor).where(Vendor.id == vendor_id).values(balance=Vendor.balance + amount).returning(Vendor.balance)
    ).scalar_one()
    conn.execute(
        insert(VendorLedgerEntry).values(
            vendor_id=vendor_id,
            kind=kind,
            amount=amount,
            balance_after=balance,
            reference=reference or None,
            note=note or None,
            operator=operator,
            created_at=utcnow(),
        )
    )
    return balance
