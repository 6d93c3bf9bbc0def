"""A card's cost report (`asteriskbill cdr cost-report`): its calls in a period and what they cost in all."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine

from asteriskbill.services import cards
from asteriskbill.services.cdrs import CdrView, Filters, Totals, list_cdrs
from asteriskbill.store.engine import reading


@dataclass(frozen=True)
class CostReport:
    card: cards.CardView
    cdrs: list[CdrView]  # oldest first
    total: Totals


def cost_report(
    engine: Engine, number: str, since: datetime | None = None, until: datetime | None = None
) -> CostReport:
    """A card's calls and what they cost (the "cost report" of calling-card systems)."""
    with reading(engine) as conn:
        card = cards.find(conn, number)
    found = list_cdrs(engine, Filters(since=since, until=until, card=card.number, oldest_first=True))
    return CostReport(card, found, sum(map(Totals.of, found), Totals()))
