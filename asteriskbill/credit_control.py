"""Real-time credit control: each call's hard limit on its Asterisk channel follows the credit it holds.

A call holds one slice of credit at a time (billing/reservation.py); the AGI gives its caller channel
TIMEOUT(absolute) = that slice, counted from the authorization. While the call is up, `serve` (one
CreditControl per Asterisk server, run by its listener every second):

* once the events show the callee's answer, moves the deadline to answer + time held (the ring time was
  never talk, so it is given back to the call; slices.up);
* shortly before a call's deadline, holds one more slice under the account's lock (slices.extend) and
  only then pushes the channel's TIMEOUT(absolute) to the new deadline.

Always in that order: the channel never runs past what is held. ARI cannot set a variable on a channel that
is not in a Stasis application (409), so the limit is set over AMI (Setvar), which uses the same setter. If
`serve` dies, nothing pushes the limit and the call ends when its slice does; if the money runs out, the last
extension holds what is left and the call ends on that second. Channels are named by their uniqueid: a call
that AMI does not know is on another server (left to its CreditControl) or has just ended.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime

from sqlalchemy import Engine

from asteriskbill.ami.client import AmiClient, AmiError, NoSuchChannel
from asteriskbill.ari.tracker import CallTracker
from asteriskbill.billing.reservation import extend_ahead
from asteriskbill.dialplan import ANSWERED_AT_VARIABLE, HARD_LIMIT
from asteriskbill.services import slices

log = logging.getLogger("asteriskbill.credit")
ANSWERED_AT = f"SHARED({ANSWERED_AT_VARIABLE})"  # the callee's answer, epoch seconds, set by the dialplan at answer


class CreditControl:
    def __init__(self, engine: Engine, ami: AmiClient, tracker: CallTracker, slice_seconds: int, timezone: str = "UTC"):
        self.engine = engine
        self.timezone = timezone
        self.ami = ami
        self.tracker = tracker
        self.slice_seconds = slice_seconds
        self._answered: set[str] = set()  # sessions whose answer was recorded here

    async def tick(self, now: datetime) -> None:
        """One pass: record the answers the events showed, then extend the calls whose deadline is near."""
        try:
            await self._record_answers()
            await self._extend_due(now)
        except AmiError as exc:
            log.warning("AMI: %s; the calls' limits are pushed at the next pass", exc)
        except Exception:  # the database, say: the next pass tries again; meanwhile each call ends with its slice
            log.exception("could not extend the calls' credit; the next pass tries again")

    async def _record_answers(self) -> None:
        calls = self.tracker.in_progress()
        self._answered &= {call.session for call in calls}  # forget the calls that ended
        for call in calls:
            if call.answered_at is None or call.session in self._answered:
                continue
            self._answered.add(call.session)
            moment = await asyncio.to_thread(slices.up, self.engine, call.session, call.answered_at)
            if moment is not None:
                await self._limit(call.channel_id, moment)

    async def _extend_due(self, now: datetime) -> None:
        for call in await asyncio.to_thread(slices.due, self.engine, now + extend_ahead(self.slice_seconds)):
            try:
                answered_at = await self._answer_of(call.uniqueid)  # also: is the call on this server?
            except NoSuchChannel:
                continue  # not on this server, or it has just ended: its settlement or recovery closes it
            if not call.answered and answered_at is not None:
                await asyncio.to_thread(slices.up, self.engine, call.session, answered_at)
            moment = await asyncio.to_thread(
                slices.extend, self.engine, call.session, self.slice_seconds, self.timezone
            )
            if moment is not None:
                await self._limit(call.uniqueid, moment)

    async def _answer_of(self, uniqueid: str) -> datetime | None:
        """The callee's answer as the dialplan recorded it (calls answered while `serve` was not listening)."""
        text = await self.ami.getvar(uniqueid, ANSWERED_AT)
        try:
            return datetime.fromtimestamp(float(text), UTC) if text else None
        except (ValueError, OverflowError):
            return None

    async def _limit(self, uniqueid: str, deadline: datetime) -> None:
        """Hang the channel ``uniqueid`` up at ``deadline`` (at once when it is past: 0 would mean never)."""
        seconds = max((deadline - datetime.now(UTC)).total_seconds(), 0.001)
        try:
            await self.ami.setvar(uniqueid, HARD_LIMIT, f"{seconds:.3f}")
        except NoSuchChannel:
            return  # it has just ended
        log.info("channel %s: hard limit at %s", uniqueid, deadline.isoformat(timespec="milliseconds"))
