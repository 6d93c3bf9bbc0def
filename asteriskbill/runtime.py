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
import contextlib
import functools
import logging
import signal
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

import httpx
from sqlalchemy import Engine

from asteriskbill import affinity
from asteriskbill.agi.apps import BillingApps
from asteriskbill.agi.server import start_server
from asteriskbill.ami.client import AmiClient
from asteriskbill.ari.client import AriClient, AriError
from asteriskbill.ari.listener import call_reports, hang_up_overdue
from asteriskbill.ari.reports import FinishedCall, IncompleteCall
from asteriskbill.ari.results import call_result
from asteriskbill.ari.tracker import CallTracker
from asteriskbill.billing.master_csv import MasterCsv
from asteriskbill.billing.plans import CHARGED
from asteriskbill.billing.routing import AsrRule
from asteriskbill.credit_control import CreditControl
from asteriskbill.errors import UserError
from asteriskbill.services import lifecycle, plan_renewals, recovery, routing, servers
from asteriskbill.services.servers import AriServer
from asteriskbill.settings import Settings
from asteriskbill.store.catalog import MemoryCatalog
from asteriskbill.store.writer import Writer

if TYPE_CHECKING:
    from asteriskbill.web.server import Console

log = logging.getLogger("asteriskbill.serve")
SAFETY_GRACE_MS = 5000  # past the authorized maximum before the safety net hangs up
SAFETY_INTERVAL = 1.0
RECOVERY_INTERVAL = 60.0
TRUNK_JUDGING = 30.0  # seconds between two judgements of the trunks' answer-seizure ratios
PLAN_RENEWAL = 60.0  # seconds between two renewals of the service plans
IDENTIFY_RETRY = 5.0  # until GET /asterisk/info first answers; then every RECOVERY_INTERVAL
SERVERS_INTERVAL = 30.0
SETTLE_GROUP = 256  # finished calls handed to the writer at once


class Listener:
    """Follows one Asterisk's ARI events and settles its calls (``server``: the ari_url setting by default)."""

    def __init__(
        self,
        engine: Engine,
        settings: Settings,
        server: AriServer | None = None,
        *,
        safety_interval: float = SAFETY_INTERVAL,
        connected: Callable[[], None] | None = None,
        slice_seconds: int = 0,
        writer: Writer | None = None,
    ):
        self.engine = engine
        self.writer = writer
        self.server = server or servers.from_settings(settings)
        self.connected = connected
        self.slice_seconds = slice_seconds
        self.timezone = settings.timezone  # the days and months of spending limits, as extensions count them
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
                async for call in call_reports(ari, self.tracker, connected=self.connected):
                    self.queue.put_nowait(call)
            finally:
                for task in tasks:
                    task.cancel()
                await asyncio.gather(*tasks, return_exceptions=True)

    async def _settle_forever(self) -> None:
        """Settle what is queued together (the writer commits them as one group), in order: when one call is
        handled, every call queued before it is too."""
        while True:
            calls = [await self.queue.get()]
            while not self.queue.empty() and len(calls) < SETTLE_GROUP:
                calls.append(self.queue.get_nowait())
            outcomes = await asyncio.gather(*map(self._settle, calls), return_exceptions=True)
            for call, outcome in zip(calls, outcomes, strict=True):
                if isinstance(outcome, Exception):
                    log.error("could not settle %s; recovery will retry it", call.session, exc_info=outcome)

    async def _settle(self, call: FinishedCall | IncompleteCall) -> None:
        """Settle a finished call, or one seen in part from Asterisk's UserEvent; else leave it to recovery."""
        result = call_result(call, self.asterisk_id)
        if result is None:
            log.warning("call %s seen only in part: left for recovery", call.session)
            return
        if self.writer is not None:
            done = await self.writer.run_many(lifecycle.settle_many, result)
        else:
            done = await asyncio.to_thread(lifecycle.settle, self.engine, result)
        if done is None:
            log.warning("call %s has no reservation here: not billed", call.session)
        elif done.new:
            log.info("settled %s: %s, %d s, cost %d", done.session, done.outcome, done.billed_seconds, done.cost)

    async def _safety_net(self, ari: AriClient) -> None:
        """Every pass: the calls' hard limits follow their credit (AMI), and calls past their maximum are hung up."""
        async with contextlib.AsyncExitStack() as stack:
            credit = None
            if self.slice_seconds and self.server.has_ami:
                ami = await stack.enter_async_context(
                    AmiClient(self.server.ami_url, self.server.ami_user, self.server.ami_secret)
                )
                credit = CreditControl(self.engine, ami, self.tracker, self.slice_seconds, self.timezone)
            while True:
                await asyncio.sleep(self.safety_interval)
                now = datetime.now(UTC)
                if credit is not None:
                    await credit.tick(now)
                await hang_up_overdue(ari, self.tracker, now, SAFETY_GRACE_MS)

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

    def __init__(self, engine: Engine, settings: Settings, writer: Writer | None = None):
        self.engine = engine
        self.settings = settings
        self.writer = writer
        self.running: dict[AriServer, tuple[Listener, asyncio.Task]] = {}
        self.idle_warned = False
        self.connected = asyncio.Event()  # a listener (re)connected: calls may have ended unseen

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
        slices = await asyncio.to_thread(servers.slicing, self.engine, self.settings)
        for server in wanted:
            if server not in self.running or self.running[server][1].done():
                listener = Listener(
                    self.engine,
                    self.settings,
                    server,
                    connected=self.connected.set,
                    slice_seconds=slices,
                    writer=self.writer,
                )
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

    async def channel_ids(self, *, every: bool = False) -> set[str] | None:
        """The channels up on every server that answers; None when none does (``every``: when one does not)."""
        answers = await asyncio.gather(
            *(listener.channel_ids() for listener, task in self.running.values() if not task.done())
        )
        known = [ids for ids in answers if ids is not None]
        if not known or (every and len(known) < len(answers)):
            return None
        return set().union(*known)


def _report_failure(name: str, task: asyncio.Task) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.error(
            "the listener of server %s failed; it restarts within %.0f s",
            name,
            SERVERS_INTERVAL,
            exc_info=task.exception(),
        )


async def judge_trunks_forever(engine: Engine, settings: Settings) -> None:
    """Every TRUNK_JUDGING seconds: demote the trunks whose answer-seizure ratio fell under the threshold, restore
    those that rose back (services/routing.py), and say so in the log."""
    rule = AsrRule(settings.trunk_asr_window, settings.trunk_asr_threshold)
    while True:
        try:
            for line in await asyncio.to_thread(routing.judge_all, engine, rule):
                log.warning("%s", line)
        except Exception:
            log.exception("judging the trunks failed")
        await asyncio.sleep(TRUNK_JUDGING)


async def renew_plans_forever(engine: Engine, settings: Settings) -> None:
    """At the start and every PLAN_RENEWAL seconds: charge each account on a service plan the fee of its cycle, once
    (services/plan_renewals.py), with one log line for each account charged, frozen or charged into debt."""
    zone = ZoneInfo(settings.timezone)
    while True:
        try:
            for renewed in await asyncio.to_thread(plan_renewals.renew, engine, zone):
                level = logging.INFO if renewed.outcome == CHARGED else logging.WARNING  # frozen, into debt: look
                log.log(level, "plan renewal: %s", renewed.line)
        except Exception:
            log.exception("renewing the service plans failed")
        await asyncio.sleep(PLAN_RENEWAL)


async def recover_forever(engine: Engine, settings: Settings, listeners: Listeners) -> None:
    """Every minute, and at once when a listener (re)connects: recover the calls that ended unseen."""
    while True:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(listeners.connected.wait(), RECOVERY_INTERVAL)
        connected = listeners.connected.is_set()
        listeners.connected.clear()
        listed_at = datetime.now(UTC)
        live = await listeners.channel_ids(every=connected)
        try:
            await asyncio.to_thread(recover, engine, settings, live, listed_at if connected else None)
        except Exception:
            log.exception("recovery pass failed")


def recover(engine: Engine, settings: Settings, live: set[str] | None, listed_at: datetime | None) -> None:
    """Calls whose channel is gone from ``live``: all those authorized before ``listed_at`` (a listener has just
    connected: whatever ended before was not seen), else the overdue ones. Settled from Master.csv when the
    master_csv setting names it, else released and flagged."""
    if live is None:
        return  # no server answers, or one does not: its calls may be up
    grace = SAFETY_GRACE_MS // 1000
    # Master.csv grows all day: read it at a (re)connection, else only when a call is overdue
    wanted = listed_at is not None or bool(recovery.overdue(engine, datetime.now(UTC), grace))
    master = _master(settings.master_csv) if wanted and settings.master_csv else None
    zone = ZoneInfo(settings.timezone)
    if listed_at is not None:
        done = recovery.recover_gone(engine, live, listed_at, master, zone)
        if done.settled or done.flagged:
            log.warning(
                "calls that ended while nobody listened: %d settled from Master.csv, %d released and flagged",
                len(done.settled),
                len(done.flagged),
            )
    recovery.expire(engine, live, grace, master, zone)


def _master(path: str) -> MasterCsv | None:
    try:
        return recovery.load_master(path)
    except UserError as exc:
        log.warning("master_csv: %s; calls gone are released and flagged", exc)
        return None


async def serve(
    engine: Engine,
    settings: Settings,
    stop: asyncio.Event,
    *,
    ready: Callable[[str, str | None], None] | None = None,
    servers_interval: float = SERVERS_INTERVAL,
    web: bool = False,
) -> None:
    """Run until ``stop`` is set; ``ready("host:port" of FastAGI, of the console or None)`` once both listen
    (port 0 picks a free one). ``web``: serve the console too, on the web_host and web_port settings."""
    with affinity.one_cpu(settings.serve_cpu) as cpu:  # before any thread starts: each keeps to that CPU too
        console = _console(engine, settings) if web else None
        writer = Writer(engine)  # the hot path's writes, in groups: one commit for all that is queued
        catalog = MemoryCatalog(engine)  # tariffs, rates, routes and plans in memory, checked on every call
        try:
            await asyncio.to_thread(catalog.warm)  # the rates' indexes are built in threads; calls read SQL meanwhile
            await _serve(engine, settings, stop, ready, servers_interval, console, writer, catalog, cpu)
        finally:
            catalog.close()
            await asyncio.to_thread(writer.close)  # what is queued is written first


async def _serve(
    engine: Engine,
    settings: Settings,
    stop: asyncio.Event,
    ready: Callable[[str, str | None], None] | None,
    servers_interval: float,
    console: Console | None,
    writer: Writer,
    catalog: MemoryCatalog,
    cpu: int | None,
) -> None:
    server = await start_server(
        BillingApps(engine, settings, writer=writer, catalog=catalog).apps,
        settings.fastagi_host,
        settings.fastagi_port,
        allow=settings.fastagi_allow,
        idle_timeout=settings.fastagi_idle_timeout,
        reply_timeout=settings.agi_reply_timeout,
    )
    host, port = server.address
    where = "any CPU" if cpu is None else f"CPU {cpu}"
    log.info("FastAGI on %s:%d (apps: card, ext, in); serve runs on %s", host, port, where)
    listeners = Listeners(engine, settings, writer)
    periodic: list[asyncio.Task] = []  # cancelled at the stop; the console's job ends by itself
    jobs = []
    try:
        await listeners.refresh()
        periodic = [
            asyncio.create_task(listeners.follow(servers_interval)),
            asyncio.create_task(recover_forever(engine, settings, listeners)),
            asyncio.create_task(renew_plans_forever(engine, settings)),
        ]
        if settings.trunk_asr_threshold:
            periodic.append(asyncio.create_task(judge_trunks_forever(engine, settings)))
        jobs = list(periodic)
        if console is not None:
            jobs.append(await console.start())
        if ready is not None:
            ready(f"{host}:{port}", console.address if console else None)
        await stop.wait()
    finally:
        await server.close()  # first: stopping, no new call is authorized while the listeners wind down
        if console is not None:
            console.stop()
        for job in periodic:
            job.cancel()
        await asyncio.gather(*jobs, return_exceptions=True)
        await listeners.stop()


def _console(engine: Engine, settings: Settings) -> Console:
    from asteriskbill.web.server import Console  # here: Starlette, Jinja2 and uvicorn cost ~0.1 s to import

    return Console(engine, settings)


def run(
    engine: Engine, settings: Settings, ready: Callable[[str, str | None], None] | None = None, *, web: bool = False
) -> None:
    """Serve until SIGINT or SIGTERM."""

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop.set)
        await serve(engine, settings, stop, ready=ready, web=web)

    asyncio.run(main())
