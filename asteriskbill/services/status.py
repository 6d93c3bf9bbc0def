"""`asteriskbill status`: is everything the engine needs there, asked from the outside.

The database (kind, size, free disk, schema revision against the newest), each Asterisk server probed with its own
credentials (GET /asterisk/info, and GET /channels to tell which open reservations are calls up on it) and
its AMI (a login, and a Setvar the user must be allowed), whether the FastAGI server accepts a TCP
connection, and the credit open reservations hold. It reports; it never fails on what it finds (a server
down is an answer, not an error).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
from dataclasses import dataclass, field
from datetime import datetime

import httpx
from sqlalchemy import Engine, select, text
from sqlalchemy.exc import DBAPIError, SQLAlchemyError

from asteriskbill import __version__
from asteriskbill.ami.client import AmiClient, AmiDenied, AmiError, NoSuchChannel
from asteriskbill.ari.client import AriClient, AriError
from asteriskbill.billing.reservation import OPEN
from asteriskbill.errors import UserError
from asteriskbill.services import routing
from asteriskbill.services import servers as server_service
from asteriskbill.services.servers import AriServer
from asteriskbill.settings import Settings
from asteriskbill.store import migrate
from asteriskbill.store.engine import reading
from asteriskbill.store.models import Account, Reservation

UP, UNAUTHORIZED, UNREACHABLE, ERROR = "up", "unauthorized", "unreachable", "error"
NO_AMI = "none"
# a Setvar on this channel proves the AMI user may run it: Asterisk checks the permission, then finds no such
# channel (channel names hold a '/', uniqueids a '.'; and the variable would be harmless anyway)
PROBE_CHANNEL, PROBE_VARIABLE = "asteriskbill-status-probe", "ASTERISKBILL_PROBE"
PROBE_TIMEOUT = 3.0
_ANY_ADDRESS = {"": "127.0.0.1", "0.0.0.0": "127.0.0.1", "::": "::1"}  # listening everywhere: ask loopback


@dataclass(frozen=True)
class Database:
    kind: str  # sqlite, postgresql, ...
    url: str  # password hidden
    size: int | None  # bytes (the SQLite file; pg_database_size)
    revision: str | None  # None: not initialized
    head: str
    error: str = ""  # it could not be read
    free: int | None = None  # bytes free on the disk of the SQLite file's folder; None: a database server's

    @property
    def current(self) -> bool:
        return not self.error and self.revision == self.head


@dataclass(frozen=True)
class OpenCall:
    """An open reservation: a call being authorized, dialled or talking."""

    session: str
    account: str
    number: str
    uniqueid: str  # the caller channel's, as the AGI saw it
    since: datetime
    amount: int
    currency: str


@dataclass(frozen=True)
class ServerState:
    name: str
    ari_url: str  # a password in it masked
    source: str
    state: str  # up, unauthorized, unreachable, error
    detail: str
    version: str = ""
    entity_id: str = ""
    calls: list[OpenCall] = field(default_factory=list)  # open reservations whose channel is up there
    ami_url: str = ""
    ami: str = NO_AMI  # up, unauthorized, unreachable, error, or none configured
    ami_detail: str = ""


@dataclass(frozen=True)
class FastAgi:
    host: str
    port: int
    answers: bool
    detail: str


@dataclass(frozen=True)
class Status:
    version: str
    database: Database
    servers: list[ServerState]
    fastagi: FastAgi
    open_calls: list[OpenCall] | None  # None: the database could not be read
    held: dict[str, int]  # currency -> credit the open reservations hold
    slice_seconds: int = 0  # the setting: what a call would hold at a time if every server had AMI
    slicing: int = 0  # the slice calls hold now (services.servers.slicing); 0: their whole maximum
    demoted: list[tuple[str, str]] = field(default_factory=list)  # (trunk, why): tried after the others

    @property
    def elsewhere(self) -> list[OpenCall]:
        """Open reservations up on no server that answered (ended and not yet settled, or on a server down)."""
        placed = {call.session for server in self.servers for call in server.calls}
        return [call for call in self.open_calls or () if call.session not in placed]

    @property
    def problems(self) -> list[str]:
        found = []
        db = self.database
        if db.error:
            found.append(f"the database cannot be read: {db.error}")
        elif db.revision != db.head:
            found.append(
                f"the database is at revision {db.revision or '(none)'}, the newest is {db.head}: "
                f"run `asteriskbill init`"
            )
        found += [f"server {s.name} is {s.state}: {s.detail}" for s in self.servers if s.state != UP]
        found += [
            f"server {s.name}'s AMI is {s.ami}: {s.ami_detail}" for s in self.servers if s.ami not in (UP, NO_AMI)
        ]
        if self.slice_seconds:
            found += [
                f"calls hold their whole maximum: no AMI for server {s.name} "
                "(ami_url, ami_user, ami_secret; or `servers add --ami-url`)"
                for s in self.servers
                if s.ami == NO_AMI
            ]
        if not self.servers:
            found.append("no Asterisk server is configured: calls are not settled (`asteriskbill servers add`)")
        if not self.fastagi.answers:
            found.append(f"FastAGI does not answer on {self.fastagi.host}:{self.fastagi.port}: {self.fastagi.detail}")
        found += [f"trunk {trunk} is demoted, tried after the others: {why}" for trunk, why in self.demoted]
        return found


def status(engine: Engine, settings: Settings, timeout: float = PROBE_TIMEOUT) -> Status:
    database = _database(engine)
    followed = [server_service.from_settings(settings)] if settings.ari_url else []
    open_calls, slicing, demoted = None, 0, []
    if database.current:  # the tables are there
        followed = server_service.servers(engine, settings)
        open_calls = _open_calls(engine)
        slicing = server_service.slicing(engine, settings)
        demoted = routing.demoted(engine)
    probes, amis, fastagi = asyncio.run(_probe_all(followed, settings, timeout))
    states = [
        _state(server, probe, ami, open_calls or []) for server, probe, ami in zip(followed, probes, amis, strict=True)
    ]
    held: dict[str, int] = {}
    for call in open_calls or ():
        held[call.currency] = held.get(call.currency, 0) + call.amount
    return Status(__version__, database, states, fastagi, open_calls, held, settings.slice_seconds, slicing, demoted)


# --- the database ----------------------------------------------------------------------------------


def _database(engine: Engine) -> Database:
    url = engine.url
    shown, head = url.render_as_string(hide_password=True), migrate.head_revision()
    path = url.database if engine.dialect.name == "sqlite" and url.database not in (None, "", ":memory:") else None
    if path is not None and not os.path.exists(path):  # connecting would create an empty file
        return Database("sqlite", shown, None, None, head, error=f"no file {path}: run `asteriskbill init`")
    try:
        revision = migrate.current_revision(engine)
        size = os.path.getsize(path) if path is not None else _server_size(engine)
    except SQLAlchemyError as exc:  # the driver's own message when there is one (only a DBAPIError has it)
        cause = exc.orig if isinstance(exc, DBAPIError) and exc.orig is not None else exc
        return Database(
            engine.dialect.name, shown, None, None, head, error=(str(cause).splitlines() or [repr(cause)])[0]
        )
    free = shutil.disk_usage(os.path.dirname(os.path.abspath(path))).free if path is not None else None
    return Database(engine.dialect.name, shown, size, revision, head, free=free)


def _server_size(engine: Engine) -> int | None:
    if engine.dialect.name != "postgresql":
        return None
    with engine.connect() as conn:
        return conn.execute(text("SELECT pg_database_size(current_database())")).scalar_one()


def _open_calls(engine: Engine) -> list[OpenCall]:
    query = (
        select(
            Reservation.session,
            Account.name,
            Reservation.number,
            Reservation.uniqueid,
            Reservation.created_at,
            Reservation.amount,
            Account.currency,
        )
        .join(Account, Account.id == Reservation.account_id)
        .where(Reservation.status == OPEN)
        .order_by(Reservation.created_at, Reservation.id)
    )
    with reading(engine) as conn:
        return [OpenCall(*row) for row in conn.execute(query)]


# --- the servers and FastAGI -----------------------------------------------------------------------------


@dataclass(frozen=True)
class _Probe:
    state: str
    detail: str
    version: str = ""
    entity_id: str = ""
    channels: frozenset[str] = frozenset()


async def _probe_all(
    followed: list[AriServer], settings: Settings, timeout: float
) -> tuple[list[_Probe], list[tuple[str, str]], FastAgi]:
    return await asyncio.gather(
        asyncio.gather(*(_probe(s, settings.ari_app, timeout) for s in followed)),
        asyncio.gather(*(_probe_ami(s, timeout) for s in followed)),
        _fastagi(settings.fastagi_host, settings.fastagi_port, timeout),
    )


async def _probe(server: AriServer, app: str, timeout: float) -> _Probe:
    """GET /asterisk/info and /channels with the server's own credentials."""
    try:
        async with AriClient(server.ari_url, server.ari_user, server.ari_password, app, timeout=timeout) as ari:
            info = await ari.asterisk_info()
            channels = frozenset(await ari.channel_ids())
    except AriError as exc:
        if exc.status == 401:
            return _Probe(
                UNAUTHORIZED, f"401: Asterisk refused ari_user {server.ari_user!r} or its password (see ari.conf)"
            )
        return _Probe(ERROR, str(exc))
    except httpx.HTTPError as exc:
        return _Probe(UNREACHABLE, f"{server.shown_url}: {str(exc) or type(exc).__name__}")
    except UserError as exc:  # a bad ari_url setting
        return _Probe(ERROR, str(exc))
    except (ValueError, KeyError, TypeError) as exc:
        return _Probe(ERROR, f"{server.shown_url} does not answer like Asterisk's ARI ({type(exc).__name__})")
    return _Probe(UP, f"Asterisk {info.version}", info.version, info.entity_id, channels)


async def _probe_ami(server: AriServer, timeout: float) -> tuple[str, str]:
    """(state, detail) of the server's AMI: a login, then a Setvar on a channel that cannot exist, which a
    user without write = call is refused and anyone else is told "No such channel"."""
    if not server.ami_url:
        return NO_AMI, "not configured"
    if not server.has_ami:
        return ERROR, "ami_url is set without ami_user and ami_secret"
    try:
        async with AmiClient(server.ami_url, server.ami_user, server.ami_secret, timeout=timeout) as ami:
            with contextlib.suppress(NoSuchChannel):  # what it should say
                await ami.setvar(PROBE_CHANNEL, PROBE_VARIABLE, "1")
            return UP, f"{ami.banner}, user {server.ami_user!r} may Setvar"
    except AmiDenied as exc:
        return UNAUTHORIZED, str(exc)
    except AmiError as exc:
        return UNREACHABLE, str(exc)
    except UserError as exc:  # a bad ami_url setting
        return ERROR, str(exc)


def _state(server: AriServer, probe: _Probe, ami: tuple[str, str], open_calls: list[OpenCall]) -> ServerState:
    calls = [call for call in open_calls if call.uniqueid and call.uniqueid in probe.channels]
    return ServerState(
        server.name,
        server.shown_url,
        server.source,
        probe.state,
        probe.detail,
        probe.version,
        probe.entity_id,
        calls,
        server.ami_url,
        *ami,
    )


async def _fastagi(host: str, port: int, timeout: float) -> FastAgi:
    """A TCP connect to where `serve` listens (it logs the empty connection as a dropped peer)."""
    try:
        _, writer = await asyncio.wait_for(asyncio.open_connection(_ANY_ADDRESS.get(host, host), port), timeout)
    except (OSError, TimeoutError) as exc:
        return FastAgi(host, port, False, str(exc) or "no answer within the timeout")
    writer.close()
    return FastAgi(host, port, True, "accepts connections")
