"""CDRs written straight into the table, at the moments a test needs (the engine would stamp them with now)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Engine, insert, select

from asteriskbill.money import parse_amount
from asteriskbill.store.models import Account, Cdr


@dataclass(frozen=True)
class Call:
    started_at: datetime
    seconds: int = 60  # billed; 0: not answered
    cost: str = "0.10"
    buy: str | None = "0.04"
    call_class: str = "local"
    currency: str = "USD"
    buy_currency: str | None = None  # a vendor's currency no rate converted at the settlement


def add_cdrs(engine: Engine, account: str, calls: list[Call]) -> list[int]:
    """Write ``calls`` as CDRs of ``account``, in this order; their ids."""
    with engine.begin() as conn:
        account_id = conn.execute(select(Account.id).where(Account.name == account)).scalar_one()
        first = conn.execute(select(Cdr.id).order_by(Cdr.id.desc()).limit(1)).scalar() or 0
        return [
            conn.execute(
                insert(Cdr).values(_values(f"{account}-{first + n}", account_id, call)).returning(Cdr.id)
            ).scalar_one()
            for n, call in enumerate(calls, 1)
        ]


def _values(session: str, account_id: int, call: Call) -> dict:
    answered = call.started_at + timedelta(seconds=5) if call.seconds else None
    return {
        "session": session,
        "account_id": account_id,
        "server": "pbx1",
        "callerid": "201",
        "dialled": "004420712345",
        "number": "4420712345",
        "destination": "UK London",
        "prefix": "4420",
        "call_class": call.call_class,
        "started_at": call.started_at,
        "answered_at": answered,
        "ended_at": call.started_at + timedelta(seconds=call.seconds + 5),
        "billable_ms": call.seconds * 1000,
        "billed_seconds": call.seconds,
        "outcome": "ANSWER" if call.seconds else "NOANSWER",
        "hangup_cause": "16" if call.seconds else "19",
        "cost": parse_amount(call.cost),
        "buy_cost": None if call.buy is None else parse_amount(call.buy),
        "buy_currency": call.buy_currency,
        "currency": call.currency,
    }
