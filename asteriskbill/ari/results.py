"""A tracker report -> what the settlement charges (pure)."""

from __future__ import annotations

from asteriskbill.ari.reports import FinishedCall, IncompleteCall
from asteriskbill.billing.settle import CallResult


def call_result(report: FinishedCall | IncompleteCall, server_id: str) -> CallResult | None:
    """The CallResult of a finished call, or of one seen in part from its UserEvent (the talk time from the
    callee's answer, the dialplan's figure); None when that UserEvent or its talk time was not seen: recovery
    settles the call from Asterisk's CDR. ``server_id``: the Asterisk the listener follows, for events that
    lack their asterisk_id."""
    if isinstance(report, FinishedCall):
        return CallResult(
            report.session,
            report.outcome,
            report.billable_ms,
            started_at=report.created_at,
            answered_at=report.answered_at,
            ended_at=report.ended_at,
            server=report.asterisk_id or server_id,
            uniqueid=report.uniqueid,
            linkedid=report.linkedid,
            callerid=report.caller_number,
            hangup_cause=report.hangup_cause_txt or str(report.hangup_cause),
            attempts=report.attempts,
        )
    if not report.asterisk_dialstatus or report.talk_ms is None:
        return None
    return CallResult(
        report.session,
        report.asterisk_dialstatus,
        report.talk_ms,
        answered_at=report.answered_at,
        ended_at=report.ended_at,
        server=report.asterisk_id or server_id,
        uniqueid=report.uniqueid,
        source="userevent",
        attempts=report.attempts,
    )
