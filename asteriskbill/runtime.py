"""`asteriskbill serve`: the FastAGI server and one ARI listener per Asterisk server.

Each listener follows one server's events: it turns each finished call into a settlement (in a worker
thread, from a queue, so a slow commit never stops the event socket being read), hangs up calls that
outlive their authorized maximum plus a grace (a dialplan without L()), reconnects on its own, and records
which Asterisk answers (GET /asterisk/info) in the servers table. The servers are that table plus the
ari_url setting (services/servers.py), re-read every SERVERS_INTERVAL: `servers add` and `servers remove`
need no restart. At start and every minute, reservations whose calls are up on no server that answers
are settled or released (services/recovery.py).
"""

from __future__ import annotations

import asyncio
import functools
import logging
import signal
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime

import httpx
from sqlalchemy import Engine

from asteriskbill.agi.apps import BillingApps
from asteriskbill.agi.server import start_server
from asteriskbill.ari.client import AriClient, AriError
from asteriskbill.ari.listener import call_reports, hang_up_overdue
from asteriskbill.ari.tracker import CallTracker, FinishedCall, IncompleteCall
from asteriskbill.billing.settle import CallResult
from asteriskbill.services import recovery, servers, settlement
from asteriskbill.services.servers import AriServer
from asteriskbill.settings import Settings

log = logging.getLogger("asteriskbill.serve")
SAFETY_GRACE_MS = 5000  # past the authorized maximum before the safety net hangs up
SAFETY_INTERVAL = 1.0
RECOVERY_INTERVAL = 60.0
IDENTIFY_RETRY = 5.0  # until GET /asterisk/info first answers; then every RECOVERY_INTERVAL
SERVERS_INTERVAL = 30.0


def result_of(call: FinishedCall) -> CallResult:
    return CallResult(
        call.session,
        call.outcome,
        call.billable_ms,
        started_at=call.created_at,
        answered_at=call.answered_at,
        ended_at=call.ended_at,
        server=call.asterisk_id,
        uniqueid=call.uniqueid,
        linkedid=call.linkedid,
        callerid=call.caller_number,
        hangup_cause=call.hangup_cause_txt or str(call.hangup_cause),
    )


class Listener:
    """Follows one Asterisk's ARI events and settles its calls (``server``: the ari_url setting by default)."""

    def __init__(
        self,
        engine: Engine,
        settings: Settings,
        server: AriServer | None = None,
        *,
        safety_interval: float = SAFETY_INTERVAL,
    ):
        self.engine = engine
        self.server = server or servers.from_settings(settings)
        self.safety_interval = safety_interval
        self.tracker = CallTracker()
        self.queue: asyncio.Queue[FinishedCall | IncompleteCall] = asyncio.Queue()
        self.asterisk_id = ""  # the entity id GET /asterisk/info gave
        self.ari = AriClient(self.server.ari_url, self.server.ari_user, self.server.ari_password, settings.ari_app)

    async def run(self) -> None:
        async with self.ari as ari:
            tasks = [
                asyncio.create_task(job)
                for job in (self._settle_forever(), self._safety_net(ari), self._identify_forever(ari))
            ]
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
            result = CallResult(
                call.session,
                call.asterisk_dialstatus,
                call.asterisk_answered_ms or 0,
                ended_at=call.ended_at,
                server=call.asterisk_id,
                uniqueid=call.uniqueid,
                source="userevent",
            )  # Asterisk's own timing from the hangup handler
        else:
            result = result_of(call)
        # the CDR says which Asterisk the call was on, even if its events lacked asterisk_id
        done = settlement.settle(self.engine, replace(result, server=result.server or self.asterisk_id))
        if done is None:
            log.warning("call %s has no reservation here: not billed", call.session)
        elif done.new:
            log.info("settled %s: %s, %d s, cost %d", done.session, done.outcome, done.billed_seconds, done.cost)

    async def _safety_net(self, ari: AriClient) -> None:
        while True:
            await asyncio.sleep(self.safety_interval)
            await hang_up_overdue(ari, self.tracker, datetime.now(UTC), SAFETY_GRACE_MS)

    async def _identify_forever(self, ari: AriClient) -> None:
        """Which Asterisk answers (its entity id is its events' asterisk_id), recorded in the servers table."""
        while True:
            try:
                info = await ari.asterisk_info()
                if info.entity_id != self.asterisk_id:
                    if self.server.source == servers.FROM_TABLE:  # the ari_url setting's server has no row
                        await asyncio.to_thread(
                            servers.record_asterisk_id, self.engine, self.server.name, info.entity_id
                        )
                    log.info("server %s is Asterisk %s (%s)", self.server.name, info.entity_id, info.version)
                    self.asterisk_id = info.entity_id
            except (AriError, httpx.HTTPError) as exc:
                log.debug("server %s: GET /asterisk/info failed: %s", self.server.name, exc)
            except Exception:
                log.exception("server %s: could not record its asterisk_id", self.server.name)
            await asyncio.sleep(RECOVERY_INTERVAL if self.asterisk_id else IDENTIFY_RETRY)

    async def channel_ids(self) -> set[str] | None:
        """The channels up on this server now; None when it does not answer."""
        try:
            return set(await self.ari.channel_ids())
        except (AriError, httpx.HTTPError) as exc:
            log.warning("server %s: GET /channels failed (%s)", self.server.name, exc)
            return None


class Listeners:
    """One running Listener per server to follow, kept in step with the servers table."""

    def __init__(self, engine: Engine, settings: Settings):
        self.engine = engine
        self.settings = settings
        self.running: dict[AriServer, tuple[Listener, asyncio.Task]] = {}
        self.idle_warned = False

    async def refresh(self) -> None:
        """Start a listener for each new server (or one whose listener failed), stop those removed."""
        try:
            wanted = await asyncio.to_thread(servers.servers, self.engine, self.settings)
        except Exception:
            log.exception("could not read the servers table: the listeners stay as they are")
            return
        if not wanted and not self.idle_warned:
            log.warning(
                "no Asterisk server to follow: calls are authorized but NOT settled "
                "(`asteriskbill servers add`, or the ari_url setting)"
            )
        self.idle_warned = not wanted
        for server in [s for s in self.running if s not in wanted]:
            log.info("server %s removed: no longer following %s", server.name, server.shown_url)
            self.running.pop(server)[1].cancel()
        for server in wanted:
            if server not in self.running or self.running[server][1].done():
                listener = Listener(self.engine, self.settings, server)
                task = asyncio.create_task(listener.run())
                task.add_done_callback(functools.partial(_report_failure, server.name))
                self.running[server] = listener, task
                log.info(
                    "following server %s at %s (application %s)", server.name, server.shown_url, self.settings.ari_app
                )

    async def follow(self, interval: float = SERVERS_INTERVAL) -> None:
        while True:
            await asyncio.sleep(interval)
            await self.refresh()

    async def stop(self) -> None:
        tasks = [task for _, task in self.running.values()]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def channel_ids(self) -> set[str] | None:
        """The channels up on every server that answers; None when none does."""
        answers = await asyncio.gather(
            *(listener.channel_ids() for listener, task in self.running.values() if not task.done())
        )
        known = [ids for ids in answers if ids is not None]
        return set().union(*known) if known else None


def _report_failure(name: str, task: asyncio.Task) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.error(
            "the listener of server %s failed; it restarts within %.0f s",
            name,
            SERVERS_INTERVAL,
            exc_info=task.exception(),
        )


async def recover_forever(engine: Engine, listeners: Listeners) -> None:
    while True:
        live = await listeners.channel_ids()
        if live is not None:  # an overdue call on a server that does not answer counts as gone: flagged
            try:
                await asyncio.to_thread(recovery.expire, engine, live, SAFETY_GRACE_MS // 1000)
            except Exception:
                log.exception("recovery pass failed")
        await asyncio.sleep(RECOVERY_INTERVAL)


async def serve(
    engine: Engine,
    settings: Settings,
    stop: asyncio.Event,
    *,
    ready: Callable[[str, int], None] | None = None,
    servers_interval: float = SERVERS_INTERVAL,
) -> None:
    """Run until ``stop`` is set; ``ready(host, port)`` once FastAGI listens (port 0 picks a free one)."""
    server = await start_server(
        BillingApps(engine, settings).apps,
        settings.fastagi_host,
        settings.fastagi_port,
        allow=settings.fastagi_allow,
        idle_timeout=settings.fastagi_idle_timeout,
        reply_timeout=settings.agi_reply_timeout,
    )
    host, port = server.address
    log.info("FastAGI on %s:%d (apps: card, ext)", host, port)
    listeners = Listeners(engine, settings)
    jobs = []
    try:
        await listeners.refresh()
        jobs = [
            asyncio.create_task(listeners.follow(servers_interval)),
            asyncio.create_task(recover_forever(engine, listeners)),
        ]
        if ready is not None:
            ready(host, port)
        await stop.wait()
    finally:
        await server.close()  # first: stopping, no new call is authorized while the listeners wind down
        for job in jobs:
            job.cancel()
        await asyncio.gather(*jobs, return_exceptions=True)
        await listeners.stop()


def run(engine: Engine, settings: Settings, ready: Callable[[str, int], None] | None = None) -> None:
    """Serve until SIGINT or SIGTERM."""

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop.set)
        await serve(engine, settings, stop, ready=ready)

    asyncio.run(main())
