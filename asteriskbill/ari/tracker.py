"""Correlate ARI events into billed calls (pure: no I/O, no asyncio, no clock).

Feed events in arrival order; ``feed`` and ``flush`` return the calls that ended. Rules (from the real
captures in tests/fixtures/asterisk/ari/, README §3 and §5):

* A billed call is the channel on which ``ChannelVarset BILL_SESSION`` is seen (the caller leg the AGI
  ran on); ``BILL_MAX_MS`` on the same channel is the authorized maximum.
* Its outcome comes from the ``Dial`` events whose ``caller`` is that channel ("" -> RINGING/PROGRESS ->
  ANSWER|BUSY|NOANSWER|CONGESTION|CANCEL|CHANUNAVAIL...); Dial events without a caller belong to an originate
  and are ignored. Any answered peer makes the call ANSWER; no Dial at all gives NOTDIALED.
* Talk time of an answered peer runs from its ``Dial ANSWER`` to the first ``ChannelLeftBridge`` of the caller
  or that peer after it (else the peer's, else the caller's ``ChannelDestroyed``); it is the raw figure:
  an ``L(5000)`` cut gives ~5004 ms, the settlement caps it at ``max_ms``.
* The routes tried and each one's Dial status (``attempts``: the last carried the call) come from the caller's
  ``asteriskbill`` UserEvent (``dialplan.event_attempts``), not from the Dial events: one Dial may ring several
  peers at once. () when that UserEvent was not seen: settlement takes the first route.
* The call ends when the caller channel is destroyed, but it is only reported once no late frame can still
  change it: when an event stamped ``settle_ms`` after the destruction has arrived, or at ``flush()``
  (the listener calls it when the socket has been idle) - frames arrive up to a few ms out of timestamp
  order, and a BUSY call's Dial BUSY and destruction share the same millisecond.
* Every update is idempotent (min/first-wins), so a duplicated frame changes nothing; each session is
  reported once. Every channel seen is tracked until ``retention_ms`` after its destruction (it may turn
  out to be a caller or a peer), then dropped: channels without BILL_SESSION leave no state behind.

What the tracker cannot vouch for from the events it reports as an ``IncompleteCall``: a call whose
``BILL_SESSION`` was not seen (the listener started mid-call; the session comes from the ``asteriskbill``
UserEvent of the caller's hangup handler), a call that lived through a reconnection (``resync``), or one whose
Dial has no final status. Its talk time is the UserEvent's (``dialplan.event_talk``: from the callee's
answer; for an older dialplan's event, Asterisk's ANSWEREDTIME_MS only when a Dial event showed the caller
not yet answered, as it counts from the caller's answer); None when unknown or the UserEvent was not seen:
then recovery settles the call from Asterisk's CDR. A call of which the tracker saw neither BILL_SESSION
nor that UserEvent is not reported at all: recovery finds its reservation.
One tracker per Asterisk (channel ids are unique per Asterisk only).
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from asteriskbill import dialplan
from asteriskbill.ari.events import (
    BridgeEvent,
    Channel,
    ChannelEvent,
    DialEvent,
    Event,
    HangupEvent,
    UserEvent,
    VarsetEvent,
)
from asteriskbill.ari.reports import (
    EVENT_GAP,
    MISSED_START,
    MS,
    NO_FINAL_DIALSTATUS,
    CallInProgress,
    FinishedCall,
    IncompleteCall,
)
from asteriskbill.billing.numbers import is_digits

ANSWER = "ANSWER"
NOT_DIALED = "NOTDIALED"
NOT_FINAL = frozenset({"", "RINGING", "PROGRESS", "PROCEEDING"})


@dataclass
class _Leg:
    """One peer the caller dialled."""

    peer_id: str
    began_at: datetime
    dialstring: str = ""
    status: str = ""  # the final status, once known
    status_at: datetime | None = None  # when it became known


@dataclass
class _Track:
    """What the events said about one channel."""

    id: str
    name: str = ""
    asterisk_id: str = ""
    caller_number: str = ""
    first_at: datetime | None = None
    dial_at: datetime | None = None
    context: str = ""  # where the caller dialled from (else where the channel started)
    exten: str = ""
    created_at: datetime | None = None
    session: str | None = None  # from ChannelVarset BILL_SESSION
    max_ms: int | None = None
    userevent: dict[str, str] = field(default_factory=dict)
    ringing_at_dial: bool = False  # a Dial event showed this caller not answered: the Dial answered it
    legs: dict[str, _Leg] = field(default_factory=dict)
    dialled_by: str | None = None
    left_bridge: list[datetime] = field(default_factory=list)
    destroyed_at: datetime | None = None
    cause: int = 0
    cause_txt: str = ""
    gap: bool = False
    done: bool = False

    @property
    def any_session(self) -> str | None:
        return self.session or self.userevent.get("session") or None


def _int_or_none(text: str | None) -> int | None:
    return int(text) if text and is_digits(text) else None


class CallTracker:
    def __init__(self, *, settle_ms: int = 1000, retention_ms: int = 60_000, remember_sessions: int = 100_000):
        self._settle = settle_ms * MS
        self._retention = retention_ms * MS
        self._remember = remember_sessions
        self._tracks: dict[str, _Track] = {}
        self._names: dict[str, str] = {}  # channel name -> id, for Local ;1/;2 pairs (linkedid)
        self._pending: set[str] = set()  # destroyed, not yet settled
        self._reported: dict[str, None] = {}  # sessions reported, oldest first
        self._watermark: datetime | None = None  # latest event timestamp seen
        self._gc_at: datetime | None = None

    @property
    def tracked_channels(self) -> int:
        return len(self._tracks)

    def feed(self, event: Event) -> list[FinishedCall | IncompleteCall]:
        """Apply one event; return the calls it lets settle."""
        if self._watermark is None or event.timestamp > self._watermark:
            self._watermark = event.timestamp
        watermark = self._watermark
        self._apply(event)
        horizon = watermark - self._settle
        results = self._settle_where(lambda destroyed_at: destroyed_at <= horizon)
        self._collect_garbage(watermark)
        return results

    def flush(self) -> list[FinishedCall | IncompleteCall]:
        """Report every call whose caller was destroyed (call when the event stream is idle, or at the end)."""
        return self._settle_where(lambda destroyed_at: True)

    def in_progress(self) -> list[CallInProgress]:
        """Billed calls whose caller channel is still up (BILL_SESSION seen, not destroyed)."""
        return [
            CallInProgress(t.session, t.asterisk_id, t.id, t.name, self._answered_at(t), t.max_ms)
            for t in self._tracks.values()
            if t.session and t.destroyed_at is None and not t.done and t.session not in self._reported
        ]

    def overdue(self, now: datetime, grace_ms: int) -> list[CallInProgress]:
        """Calls in progress past their authorized maximum plus ``grace_ms``: hang them up."""
        return [c for c in self.in_progress() if (d := c.deadline(grace_ms)) is not None and now > d]

    def resync(self, live_channel_ids: Collection[str] | None) -> list[IncompleteCall]:
        """After a reconnection: events were lost, so every call still up is flagged (it will end as an
        EVENT_GAP IncompleteCall), and calls whose channel is no longer in ``live_channel_ids`` (GET /channels)
        are reported now. ``None`` (the list could not be fetched) only flags."""
        lost = []
        for track in list(self._tracks.values()):
            if track.destroyed_at is not None:
                continue
            if live_channel_ids is None or track.id in live_channel_ids:
                track.gap = True
                continue
            self._drop(track)
            session = self._claim(track)
            if session is not None:
                lost.append(self._incomplete(track, session, EVENT_GAP))
        return lost

    # -- applying events -------------------------------------------------------------------------

    def _apply(self, event: Event) -> None:
        match event:
            case DialEvent(caller=Channel() as caller):
                self._dial(event, caller)
            case VarsetEvent(channel=Channel() as channel):
                self._varset(self._track(channel, event), event)
            case HangupEvent(type="ChannelDestroyed", channel=channel):
                self._destroyed(self._track(channel, event), event)
            case BridgeEvent(type="ChannelLeftBridge", channel=Channel() as channel):
                track = self._track(channel, event)
                if event.timestamp not in track.left_bridge:
                    track.left_bridge.append(event.timestamp)
            case UserEvent(eventname=name, channel=Channel() as channel) if name == dialplan.USER_EVENT:
                track = self._track(channel, event)
                track.userevent = track.userevent or dict(event.userevent)
            case (
                ChannelEvent(channel=channel)
                | HangupEvent(channel=channel)
                | BridgeEvent(channel=Channel() as channel)
                | UserEvent(channel=Channel() as channel)
            ):
                self._track(channel, event)

    def _track(self, channel: Channel, event: Event) -> _Track:
        track = self._tracks.get(channel.id)
        if track is None:
            track = self._tracks[channel.id] = _Track(channel.id)
        track.name = track.name or channel.name
        self._names[track.name] = track.id
        track.asterisk_id = track.asterisk_id or event.asterisk_id
        track.caller_number = track.caller_number or channel.caller_number
        track.created_at = track.created_at or channel.created_at
        if track.dial_at is None and (track.first_at is None or event.timestamp < track.first_at):
            track.first_at, track.context, track.exten = event.timestamp, channel.context, channel.exten
        return track

    def _varset(self, track: _Track, event: VarsetEvent) -> None:
        if event.variable == dialplan.SESSION and event.value and track.session is None:
            track.session = event.value
        elif event.variable == dialplan.MAX_MS and track.max_ms is None:
            track.max_ms = _int_or_none(event.value)

    def _dial(self, event: DialEvent, caller: Channel) -> None:
        track = self._track(caller, event)
        peer = self._track(event.peer, event)
        peer.dialled_by = track.id
        track.ringing_at_dial = track.ringing_at_dial or caller.state != "Up"
        if track.dial_at is None or event.timestamp < track.dial_at:  # the caller as it dialled
            track.dial_at, track.context, track.exten = event.timestamp, caller.context, caller.exten
            track.caller_number = caller.caller_number or track.caller_number
        leg = track.legs.setdefault(peer.id, _Leg(peer.id, event.timestamp))
        leg.dialstring = leg.dialstring or event.dialstring
        leg.began_at = min(leg.began_at, event.timestamp)
        if event.dialstatus not in NOT_FINAL and (leg.status_at is None or event.timestamp < leg.status_at):
            leg.status, leg.status_at = event.dialstatus, event.timestamp

    def _destroyed(self, track: _Track, event: HangupEvent) -> None:
        if track.destroyed_at is None or event.timestamp < track.destroyed_at:
            track.destroyed_at, track.cause, track.cause_txt = event.timestamp, event.cause, event.cause_txt
            if not track.done:
                self._pending.add(track.id)

    # -- reporting -------------------------------------------------------------------------------

    def _settle_where(self, ready: Callable[[datetime], bool]) -> list[FinishedCall | IncompleteCall]:
        """Report the destroyed callers whose destruction time is ``ready``, in order of destruction."""
        ended: list[tuple[datetime, _Track]] = []
        for track_id in self._pending:
            track = self._tracks[track_id]
            if track.destroyed_at is not None and ready(track.destroyed_at):  # pending: always destroyed
                ended.append((track.destroyed_at, track))
        ended.sort(key=lambda end: (end[0], end[1].id))
        results: list[FinishedCall | IncompleteCall] = []
        for ended_at, track in ended:
            self._pending.discard(track.id)
            result = self._report(track, ended_at)
            if result is not None:
                results.append(result)
        return results

    def _report(self, track: _Track, ended_at: datetime) -> FinishedCall | IncompleteCall | None:
        """The one report of a call whose caller was destroyed at ``ended_at``; None for a channel that is
        not a billed call or was reported."""
        session = self._claim(track)
        if session is None:
            return None
        if track.session is None:
            return self._incomplete(track, session, MISSED_START)
        if track.gap:
            return self._incomplete(track, session, EVENT_GAP)
        outcome = self._outcome(track)
        if outcome is None:
            return self._incomplete(track, session, NO_FINAL_DIALSTATUS)
        return self._finished(track, session, outcome, ended_at)

    def _claim(self, track: _Track) -> str | None:
        """Mark the channel reported; its session when this is the first report of a billed call, else None."""
        track.done = True
        session = track.any_session
        if session is None or session in self._reported:
            return None
        self._reported[session] = None
        if len(self._reported) > self._remember:
            del self._reported[next(iter(self._reported))]
        return session

    @staticmethod
    def _incomplete(track: _Track, session: str, problem: str) -> IncompleteCall:
        talk = dialplan.event_talk(track.userevent, answered_by_dial=track.ringing_at_dial)
        return IncompleteCall(
            session,
            problem,
            track.asterisk_id,
            track.id,
            track.name,
            track.destroyed_at or talk.ended_at,
            track.userevent.get(dialplan.EVENT_DIALSTATUS, ""),
            _int_or_none(track.userevent.get(dialplan.EVENT_ANSWEREDTIME_MS)),
            talk.answered_at,
            talk.ms,
            dialplan.event_attempts(track.userevent),
        )

    def _finished(self, track: _Track, session: str, outcome: str, ended_at: datetime) -> FinishedCall:
        talks = [(start, self._talk_end(track, leg, start, ended_at)) for start, leg in self._answers(track)]
        legs = sorted(track.legs.values(), key=lambda leg: leg.began_at)
        return FinishedCall(
            session=session,
            asterisk_id=track.asterisk_id,
            uniqueid=track.id,
            linkedid=self._linkedid(track),
            channel=track.name,
            caller_number=track.caller_number,
            context=track.context,
            exten=track.exten,
            dialstring=legs[0].dialstring if legs else "",
            outcome=outcome,
            created_at=track.created_at,
            dial_started_at=legs[0].began_at if legs else None,
            answered_at=min((start for start, _ in talks), default=None),
            talk_ended_at=max((end for _, end in talks), default=None),
            ended_at=ended_at,
            billable_ms=sum((end - start) // MS for start, end in talks),
            hangup_cause=track.cause,
            hangup_cause_txt=track.cause_txt,
            max_ms=track.max_ms,
            asterisk_answered_ms=_int_or_none(track.userevent.get(dialplan.EVENT_ANSWEREDTIME_MS)),
            attempts=dialplan.event_attempts(track.userevent),
        )

    @staticmethod
    def _answers(track: _Track) -> list[tuple[datetime, _Leg]]:
        """The answered legs with the time of their answer, earliest first."""
        answers = [
            (leg.status_at, leg) for leg in track.legs.values() if leg.status == ANSWER and leg.status_at is not None
        ]
        return sorted(answers, key=lambda answer: answer[0])

    def _answered_at(self, track: _Track) -> datetime | None:
        answers = self._answers(track)
        return answers[0][0] if answers else None

    def _outcome(self, track: _Track) -> str | None:
        """The call's outcome; None while a leg has no final status."""
        legs = list(track.legs.values())
        if not legs:
            return NOT_DIALED
        if self._answers(track):
            return ANSWER
        finals = [(leg.status_at, leg.status) for leg in legs if leg.status_at is not None]
        if len(finals) < len(legs):
            return None
        return max(finals, key=lambda final: final[0])[1]

    def _talk_end(self, track: _Track, leg: _Leg, start: datetime, ended_at: datetime) -> datetime:
        """First bridge exit of caller or peer after the answer at ``start``; else the peer's, else the caller's
        end (``ended_at``)."""
        peer = self._tracks.get(leg.peer_id)
        peer_left = peer.left_bridge if peer else []
        left = [t for t in (*track.left_bridge, *peer_left) if t >= start]
        if left:
            return min(left)
        if peer is not None and peer.destroyed_at is not None and peer.destroyed_at >= start:
            return peer.destroyed_at
        return max(ended_at, start)

    def _linkedid(self, track: _Track) -> str:
        """Follow who created whom (the Dial caller of a peer, the ;1 half of a Local ;2) to the first channel."""
        seen = {track.id}
        while True:
            parent_id = track.dialled_by
            if parent_id is None and track.name.startswith("Local/") and track.name.endswith(";2"):
                parent_id = self._names.get(track.name[:-1] + "1")
            parent = self._tracks.get(parent_id) if parent_id else None
            if parent is None or parent.id in seen:
                return track.id
            seen.add(parent.id)
            track = parent

    # -- forgetting ------------------------------------------------------------------------------

    def _drop(self, track: _Track) -> None:
        del self._tracks[track.id]
        self._pending.discard(track.id)
        if self._names.get(track.name) == track.id:
            del self._names[track.name]

    def _collect_garbage(self, watermark: datetime) -> None:
        """Drop channels destroyed more than ``retention_ms`` before ``watermark`` (the latest event time)
        that no open call needs."""
        if self._gc_at is not None and watermark - self._gc_at < timedelta(seconds=1):
            return
        self._gc_at = watermark
        horizon = watermark - self._retention
        needed = {peer for t in self._tracks.values() if t.any_session and not t.done for peer in t.legs}
        for track in [
            t
            for t in self._tracks.values()
            if t.destroyed_at is not None
            and t.destroyed_at < horizon
            and t.id not in self._pending
            and t.id not in needed
        ]:
            self._drop(track)


def replay(events: Iterable[Event], tracker: CallTracker | None = None) -> list[FinishedCall | IncompleteCall]:
    """Feed ``events`` then flush: every call they describe (tests, benchmarks, offline re-rating)."""
    tracker = tracker or CallTracker()
    results = [result for event in events for result in tracker.feed(event)]
    return results + tracker.flush()
