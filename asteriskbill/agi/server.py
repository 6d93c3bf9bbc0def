"""The FastAGI server: one asyncio process serving every call, ``AGI(agi://127.0.0.1:4573/card)``.

FastAGI has no authentication: whoever connects can try PINs. So it listens on loopback by default; any
other address needs ``fastagi_allow`` (IP addresses or networks of the Asterisk hosts), and connections from
elsewhere are closed at once and logged. Apps are chosen by the script path of ``agi_network_script``
(``card`` in ``agi://host/card?x=1``); an unknown name gets a VERBOSE line in Asterisk's log,
``BILL_STATUS=ERROR`` and the connection closed, so the dialplan can refuse the call.

Accepted connections have TCP keepalive (probing after 60 s idle), so a vanished Asterisk host is
noticed even between commands; a live peer that stops answering is given up by the reply deadline.
Closing the server (serve's SIGTERM) stops accepting and cancels the sessions; what that does to a call
being authorized is the application's business (agi/apps.py).
"""

from __future__ import annotations

import asyncio
import functools
import ipaddress
import socket
from collections.abc import Iterable, Mapping

from asteriskbill.agi.channel import REPLY_TIMEOUT, Channel, log
from asteriskbill.agi.protocol import Env
from asteriskbill.agi.session import STATUS_VARIABLE, App, Session, report_status
from asteriskbill.errors import UserError

LINGER = 1.0  # after our last command: how long to wait for Asterisk's trailing HANGUP and EOF
Network = ipaddress.IPv4Network | ipaddress.IPv6Network
LOOPBACK = (ipaddress.ip_network("127.0.0.0/8"), ipaddress.ip_network("::1/128"))
# probe after 60 s idle, every 10 s, give up after 3 unanswered: a dead host is noticed within ~90 s
KEEPALIVE = (("TCP_KEEPIDLE", 60), ("TCP_KEEPINTVL", 10), ("TCP_KEEPCNT", 3))


def parse_allow(entries: Iterable[str]) -> tuple[Network, ...]:
    networks = []
    for entry in entries:
        try:
            networks.append(ipaddress.ip_network(entry.strip(), strict=False))
        except ValueError:
            raise UserError(f"fastagi_allow: {entry!r} is not an IP address or network") from None
    return tuple(networks)


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def keep_alive(sock: socket.socket) -> None:
    """TCP keepalive, with probes early enough to matter (the kernel default waits two hours). Set on the
    listening socket: Linux copies these options to every connection it accepts, so no call pays for them."""
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
    for option, value in KEEPALIVE:
        if hasattr(socket, option):  # all three on Linux
            sock.setsockopt(socket.IPPROTO_TCP, getattr(socket, option), value)


def allowed(address: str, networks: tuple[Network, ...]) -> bool:
    try:
        ip = ipaddress.ip_address(address.partition("%")[0])
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    return any(ip in network for network in networks)


class _Connection(Session):
    """One FastAGI connection: refused at once unless from an allowed host, tracked by its server until it ends."""

    def __init__(self, server: FastAgiServer):
        super().__init__(
            server.choose,
            env_timeout=server.idle_timeout,
            reply_timeout=server.reply_timeout,
            linger=LINGER,
            status_variable=server.status_variable,
            on_end=server.ended,
        )
        self._server = server

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)  # a socket's
        host, port = transport.get_extra_info("peername")[:2]
        if not self._server.allowed(host):
            log.warning("FastAGI connection from %s:%s refused: not in fastagi_allow", host, port)
            transport.abort()
            return
        if self._server.closing:  # accepted just before close(): it would start a session nobody waits for
            transport.abort()
            return
        self.where = f"{host}:{port}"
        self._server.sessions.add(self)
        super().connection_made(transport)


class FastAgiServer:
    """Accepts Asterisk's connections and runs one application task per call."""

    def __init__(
        self,
        apps: Mapping[str, App],
        *,
        allow: tuple[Network, ...],
        idle_timeout: float,
        status_variable: str,
        reply_timeout: float = REPLY_TIMEOUT,
    ):
        self.apps = dict(apps)
        self.allow = allow or LOOPBACK
        self.idle_timeout = idle_timeout
        self.reply_timeout = reply_timeout
        self.status_variable = status_variable
        self.sessions: set[Session] = set()
        self.closing = False
        self._server: asyncio.Server | None = None
        # the few Asterisk hosts' addresses, checked once each rather than parsed on every call
        self.allowed = functools.lru_cache(maxsize=256)(lambda address: allowed(address, self.allow))

    @property
    def address(self) -> tuple[str, int]:
        """The bound host and port (useful with port 0)."""
        assert self._server is not None
        address: tuple[str, int] = self._server.sockets[0].getsockname()[:2]
        return address

    async def start(self, host: str, port: int) -> None:
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(lambda: _Connection(self), host, port, reuse_address=True)
        for sock in self._server.sockets:
            keep_alive(sock)
        log.info("FastAGI listening on %s:%d for %s", *self.address, ", ".join(sorted(self.apps)) or "no apps")

    def ended(self, session: Session, outcome: str) -> None:
        self.sessions.discard(session)

    def choose(self, env: Env) -> App:
        return self.apps.get(env.script) or self._unknown

    async def _unknown(self, channel: Channel, env: Env) -> None:
        log.warning(
            "FastAGI request for unknown application %r (%s) from %s", env.script, env.get("request"), env.channel
        )
        await channel.verbose(
            f"asteriskbill: no FastAGI application {env.script!r}; have: {', '.join(sorted(self.apps))}", 1
        )
        await report_status(channel, self.status_variable, "ERROR")

    async def close(self) -> None:
        """Stop accepting, cancel running sessions (their abort hooks run), and wait for them."""
        self.closing = True
        if self._server is not None:
            self._server.close()
        tasks = [session.task for session in self.sessions if session.task is not None]
        for session in list(self.sessions):
            session.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if self._server is not None:
            # last: from Python 3.12.1 on, wait_closed() also waits for the connections the sessions hold
            await self._server.wait_closed()

    async def serve_forever(self) -> None:
        assert self._server is not None
        await self._server.serve_forever()

    async def __aenter__(self) -> FastAgiServer:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()


async def start_server(
    apps: Mapping[str, App],
    host: str = "127.0.0.1",
    port: int = 4573,
    *,
    allow: Iterable[str] = (),
    idle_timeout: float = 30.0,
    reply_timeout: float = REPLY_TIMEOUT,
    status_variable: str = STATUS_VARIABLE,
) -> FastAgiServer:
    """Listen and return the running server (``async with await start_server(...) as server``).

    A non-loopback ``host`` without ``allow`` is refused with a UserError: FastAGI has no authentication."""
    networks = parse_allow(allow)
    if not is_loopback(host) and not networks:
        raise UserError(
            f"refusing to listen for FastAGI on {host}: FastAGI has no authentication, so a "
            f"non-loopback address needs fastagi_allow (the Asterisk hosts' IP addresses)"
        )
    server = FastAgiServer(
        apps, allow=networks, idle_timeout=idle_timeout, reply_timeout=reply_timeout, status_variable=status_variable
    )
    await server.start(host, port)
    return server
