"""What the call tracker reports (pure dataclasses): a call the events fully describe, one they describe in
part, and a call in progress. ari/tracker.py makes them; ari/results.py turns them into what is billed."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

# Why a call is reported as incomplete.
MISSED_START = "missed_start"  # BILL_SESSION not seen: the listener started during the call
EVENT_GAP = "event_gap"  # the event socket reconnected while the call was up
NO_FINAL_DIALSTATUS = "no_final_dialstatus"

MS = timedelta(milliseconds=1)


@dataclass(frozen=True)
class FinishedCall:
    """A call the events fully describe: what the settlement charges (``billable_ms`` capped at ``max_ms``)."""

    session: str
    asterisk_id: str
    uniqueid: str  # the caller channel's id (the CDR's uniqueid of its Dial record)
    linkedid: str  # as Asterisk's CDR when the channels' creation was seen, else uniqueid
    channel: str
    caller_number: str
    context: str
    exten: str  # the extension the caller dialled (dialplan exten at Dial time)
    dialstring: str  # what Dial() was given, e.g. "2001@carrier" ("" when not dialled)
    outcome: str  # ANSWER, BUSY, NOANSWER, CONGESTION, CANCEL, CHANUNAVAIL, ..., NOTDIALED
    created_at: datetime | None  # caller channel creation
    dial_started_at: datetime | None
    answered_at: datetime | None
    talk_ended_at: datetime | None
    ended_at: datetime  # caller channel destroyed
    billable_ms: int  # raw talk time; 0 unless answered
    hangup_cause: int  # Q.850 cause of the caller's ChannelDestroyed
    hangup_cause_txt: str
    max_ms: int | None  # BILL_MAX_MS; None when the AGI did not set it
    asterisk_answered_ms: int | None  # ANSWEREDTIME_MS from the UserEvent, a cross-check only
    attempts: tuple[str, ...] = ()  # the Dial status of each route tried, from the UserEvent (dialplan.event_attempts)

    @property
    def capped_ms(self) -> int:
        """The billable ms never exceeding the authorized maximum (an L() cut overshoots by a few ms)."""
        return self.billable_ms if self.max_ms is None else min(self.billable_ms, self.max_ms)


@dataclass(frozen=True)
class IncompleteCall:
    """A call that ended but that the events do not fully describe: not to be charged from these facts."""

    session: str
    reason: str  # MISSED_START, EVENT_GAP, NO_FINAL_DIALSTATUS
    asterisk_id: str
    uniqueid: str
    channel: str
    ended_at: datetime | None  # caller destroyed, else the UserEvent's ended_at; None if neither was seen
    asterisk_dialstatus: str  # from the UserEvent, "" if not seen
    asterisk_answered_ms: int | None  # ANSWEREDTIME_MS from the UserEvent, a cross-check only
    answered_at: datetime | None = None  # the callee's answer, from the UserEvent
    talk_ms: int | None = None  # from the UserEvent (see the module's docstring); None: unknown
    attempts: tuple[str, ...] = ()  # the Dial status of each route tried, from the UserEvent


@dataclass(frozen=True)
class CallInProgress:
    session: str
    asterisk_id: str
    channel_id: str
    channel: str
    answered_at: datetime | None
    max_ms: int | None

    def deadline(self, grace_ms: int) -> datetime | None:
        """When the safety net should hang up: answer + maximum + grace (None: not answered or no maximum)."""
        if self.answered_at is None or self.max_ms is None:
            return None
        return self.answered_at + (self.max_ms + grace_ms) * MS
