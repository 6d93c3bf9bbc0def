"""Settlement decisions (pure): what a finished call is billed for.

Billable time is the callee's answer to the end of the bridge, in milliseconds. It is billed in
whole seconds, a started second counting in full, and never beyond the maximum the call was
authorized for: ``Dial(...,L())`` ends the bridge a few milliseconds after the limit (5004 ms
for L(5000) on a real Asterisk), and those milliseconds were never paid for.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from asteriskbill.money import ceil_div

ANSWER = "ANSWER"
OUTCOMES = (ANSWER, "BUSY", "NOANSWER", "CONGESTION", "CANCEL", "CHANUNAVAIL", "NOTDIALED")
STATS_BY = ("account", "company", "gateway", "destination", "server", "direction")  # what CDR statistics group by
CARRIER_STATS_BY = ("vendor", "trunk")  # and by what carried the calls (services/carrier_stats.py)


@dataclass(frozen=True)
class CallResult:
    """What happened to one authorized call, from the ARI events, a safety net or Asterisk's own CDR."""

    session: str
    outcome: str
    billable_ms: int = 0
    started_at: datetime | None = None
    answered_at: datetime | None = None
    ended_at: datetime | None = None
    server: str = ""
    uniqueid: str = ""
    linkedid: str = ""
    callerid: str = ""
    hangup_cause: str = ""
    source: str = "events"
    # The Dial statuses of the call's attempts over its routes, in order: the last one carried the call (the
    # hangup handler's `attempts`, dialplan.event_attempts); () when not known: its first route carried it.
    attempts: tuple[str, ...] = ()


def billable_seconds(result: CallResult, max_seconds: int) -> int:
    """Whole seconds to bill: started seconds of answered talk, at most the authorized maximum."""
    if result.outcome != ANSWER or result.billable_ms <= 0:
        return 0
    return min(ceil_div(result.billable_ms, 1000), max_seconds)
