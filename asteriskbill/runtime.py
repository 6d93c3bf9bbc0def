"""`asteriskbill serve`: the FastAGI server and, when ari_url is set, the ARI listener beside it.

The listener turns each finished call into a settlement (in a worker thread, from a queue, so a slow
commit never stops the event socket being read), hangs up calls that outlive their authorized maximum
plus a grace (a dialplan without L()), and at start and every minute settles or releases reservations
whose calls are gone (services/recovery.py).
"""

from __future__ import annotations

import asyncio
import logging
import signal
from datetime import datetime, timezone

from sqlalchemy import Engine

from asteriskbill.agi.apps import BillingApps
from asteriskbill.agi.server import start_server
from asteriskbill.ari.client import AriClient
from asteriskbill.ari.listener import call_reports, hang_up_overdue
from asteriskbill.ari.tracker import CallTracker, FinishedCall, IncompleteCall
from asteriskbill.billing.settle import CallResult
from asteriskbill.services import recovery, settlement
from asteriskbill.settings import Settings

log = logging.getLogger("asteriskbill.serve")
SAFETY_GRACE_MS = 5000       # past the authorized maximum before the safety net hangs up
SAFETY_INTERVAL = 1.0
RECOVERY_INTERVAL = 60.0


def result_of(call: FinishedCall) -> CallResult:
    return CallResult(call.session, call.outcome, call.billable_ms, started_at=call.created_at,
                      answered_at=call.answered_at, ended_at=call.ended_at, server=call.asterisk_id,
                      uniqueid=call.uniqueid, linkedid=call.linkedid, callerid=call.caller_number,
                      hangup_cause=call.hangup_cause_txt or str(call.hangup_cause))


class Listener:
    """Follows one Asterisk's ARI events and settles its calls."""

    def __init__(self, engine: Engine, settings: Settings, *, safety_interval: float = SAFETY_INTERVAL):
        self.engine = engine
        self.settings = settings
        self.safety_interval = safety_interval
        self.tracker = CallTracker()
        self.queue: asyncio.Queue[FinishedCall | IncompleteCall] = asyncio.Queue()
        self.connected = False

    async def run(self) -> None:
        async with AriClient.from_settings(self.settings) as ari:
            tasks = [asyncio.create_task(job) for job in
                     (self._settle_forever(), self._safety_net(ari), self._recover_forever(ari))]
            try:
                async for call in call_reports(ari, self.tracker):
                    self.queue.put_nowait(call)
            finally:
                for task in tasks:
                    task.cancel()
                await asyncio.gather(*tasks, return_exceptions=True)

    async def _settle_forever(self) -> None:
        while True:
            call = await self.queue.get()
            try:
                await asyncio.to_thread(self.handle, call)
            except Exception:
                log.exception("could not settle %s; recovery will retry it", call.session)

    def handle(self, call: FinishedCall | IncompleteCall) -> None:
        """Settle a finished call, or one seen in part from Asterisk's UserEvent; else leave it to recovery."""
        if isinstance(call, IncompleteCall):
            if not call.asterisk_dialstatus:
                log.warning("call %s seen only in part (%s): left for recovery", call.session, call.reason)
                return
            result = CallResult(call.session, call.asterisk_dialstatus, call.asterisk_answered_ms or 0,
                                ended_at=call.ended_at, server=call.asterisk_id, uniqueid=call.uniqueid,
                                source="userevent")  # Asterisk's own timing from the hangup handler
        else:
            result = result_of(call)
        done = settlement.settle(self.engine, result)
        if done is None:
            log.warning("call %s has no reservation here: not billed", call.session)
        elif done.new:
            log.info("settled %s: %s, %d s, cost %d", done.session, done.outcome, done.billed_seconds, done.cost)

    async def _safety_net(self, ari: AriClient) -> None:
        while True:
            await asyncio.sleep(self.safety_interval)
            await hang_up_overdue(ari, self.tracker, datetime.now(timezone.utc), SAFETY_GRACE_MS)

    async def _recover_forever(self, ari: AriClient) -> None:
        while True:
            try:
                live = set(await ari.channel_ids())
                await asyncio.to_thread(recovery.expire, self.engine, live, SAFETY_GRACE_MS // 1000)
            except Exception:
                log.exception("recovery pass failed")
            await asyncio.sleep(RECOVERY_INTERVAL)


async def serve(engine: Engine, settings: Settings, stop: asyncio.Event) -> None:
    """Run until ``stop`` is set."""
    server = await start_server(BillingApps(engine, settings).apps, settings.fastagi_host, settings.fastagi_port,
                                allow=settings.fastagi_allow, idle_timeout=settings.fastagi_idle_timeout)
    host, port = server.address
    log.info("FastAGI on %s:%d (apps: card, ext)", host, port)
    listener = None
    if settings.ari_url:
        listener = asyncio.create_task(Listener(engine, settings).run())
        log.info("ARI listener for %s as application %s", settings.ari_url, settings.ari_app)
    else:
        log.warning("ari_url is not set: calls are authorized but NOT settled (set ari_url, ari_user, ari_password)")
    async with server:
        await stop.wait()
    if listener is not None:
        listener.cancel()
        await asyncio.gather(listener, return_exceptions=True)


def run(engine: Engine, settings: Settings) -> None:
    """Serve until SIGINT or SIGTERM."""
    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop.set)
        await serve(engine, settings, stop)

    asyncio.run(main())
