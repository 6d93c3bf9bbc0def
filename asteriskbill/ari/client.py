"""A thin ARI client: the event websocket (``websockets``) and the few REST calls billing needs (``httpx``).

Why our own: the ``ari`` package is Python-2-only, ari-client puts credentials unencoded in the URL and
spins at 100 % CPU when the socket closes, asyncari never ends on a closed socket, aioari returns silently
on close, and none of them reconnects (each measured against a real Asterisk).

``frames()`` never ends by itself: it reconnects with capped exponential backoff whenever the socket
closes or cannot be opened, says clearly when Asterisk answers 401 (wrong ari_user/ari_password) and then
retries only at the slowest pace. It yields ``Mark.CONNECTED`` after each successful connection (events may
have been lost before it: see ``CallTracker.resync``) and, with ``idle_after``, ``Mark.IDLE`` whenever no
frame came for that long.
"""

from __future__ import annotations

import asyncio
import base64
import enum
import logging
import time
from collections.abc import AsyncGenerator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlencode

import httpx
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus, InvalidURI

from asteriskbill.ari.address import split_ari_url
from asteriskbill.settings import Settings

log = logging.getLogger("asteriskbill.ari")


class AriError(Exception):
    """ARI answered a REST call with a status billing did not expect."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status


class Mark(enum.Enum):
    CONNECTED = "connected"
    IDLE = "idle"


Frame = str | Mark


@dataclass(frozen=True)
class AsteriskInfo:
    entity_id: str  # = the events' asterisk_id
    version: str


class AriClient:
    """``async with AriClient.from_settings(settings) as ari: async for frame in ari.frames(): ...``"""

    def __init__(
        self,
        url: str,
        user: str,
        password: str,
        app: str,
        *,
        min_delay: float = 0.5,
        max_delay: float = 30.0,
        timeout: float = 10.0,
        sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep,
    ):
        parts = split_ari_url(url)
        # ari_user and ari_password authenticate: a user:password@ recorded before they were refused in the
        # URL is left out, so that no log line shows it
        base = f"{parts.netloc.rpartition('@')[2]}{parts.path}"
        self.events_url = f"{'wss' if parts.scheme == 'https' else 'ws'}://{base}/ari/events?" + urlencode(
            {"app": app, "subscribeAll": "true"}
        )
        self.user = user
        self._where = f"{self.events_url.split('?', 1)[0]} (app {app})"
        self.min_delay, self.max_delay, self.timeout = min_delay, max_delay, timeout
        self._sleep = sleep
        token = base64.b64encode(f"{user}:{password}".encode()).decode()
        self._authorization = f"Basic {token}"
        self._http = httpx.AsyncClient(
            base_url=f"{parts.scheme}://{base}/ari", auth=(user, password), timeout=timeout, trust_env=False
        )

    @classmethod
    def from_settings(cls, settings: Settings, **options: Any) -> AriClient:
        return cls(settings.ari_url, settings.ari_user, settings.ari_password, settings.ari_app, **options)

    async def __aenter__(self) -> AriClient:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    # -- the event socket ------------------------------------------------------------------------

    async def frames(self, idle_after: float | None = None) -> AsyncGenerator[Frame]:
        """Every text frame, forever, across reconnections (see the module docstring)."""
        delay = self.min_delay
        while True:
            opened_at = None
            try:
                # A deep receive queue absorbs bursts while the consumer settles a call: Asterisk drops a
                # socket it cannot write to for long (ari.conf websocket_write_timeout).
                async with connect(
                    self.events_url,
                    additional_headers={"Authorization": self._authorization},
                    open_timeout=self.timeout,
                    close_timeout=2,
                    proxy=None,
                    max_queue=4096,
                ) as socket:
                    opened_at = time.monotonic()
                    log.info("ARI event socket connected to %s", self._where)
                    yield Mark.CONNECTED
                    while True:
                        try:
                            # not wait_for: Python 3.11's drops a cancel that lands as a frame arrives, and
                            # the listener (serve on SIGTERM) would then never stop
                            async with asyncio.timeout(idle_after):
                                frame = await socket.recv()
                        except TimeoutError:
                            yield Mark.IDLE
                            continue
                        yield frame if isinstance(frame, str) else frame.decode("utf-8", "replace")
            except (ConnectionClosed, InvalidHandshake, InvalidURI, OSError, TimeoutError) as exc:
                if opened_at is not None and time.monotonic() - opened_at >= self.max_delay:
                    delay = self.min_delay  # the connection was stable: start the backoff again
                delay = self._wait_after(exc, delay)
            await self._sleep(delay)
            delay = min(delay * 2, self.max_delay)

    def _wait_after(self, exc: Exception, delay: float) -> float:
        """Say why the socket is down; returns how long to wait (the slowest pace for bad credentials)."""
        if isinstance(exc, InvalidStatus) and exc.response.status_code == 401:
            log.error(
                "ARI at %s answered 401 Unauthorized: ari_user %r or ari_password is wrong (see ari.conf); "
                "retrying every %.0f s",
                self._where,
                self.user,
                self.max_delay,
            )
            return self.max_delay
        if isinstance(exc, InvalidStatus):
            body = bytes(exc.response.body or b"")[:200].decode("utf-8", "replace").strip()
            log.error(
                "ARI at %s refused the event socket with HTTP %d: %s; retrying in %.1f s",
                self._where,
                exc.response.status_code,
                body,
                delay,
            )
        elif isinstance(exc, ConnectionClosed):
            log.warning("ARI event socket closed (%s); reconnecting in %.1f s", exc, delay)
        else:
            log.warning(
                "cannot reach ARI at %s: %s; retrying in %.1f s", self._where, str(exc) or type(exc).__name__, delay
            )
        return delay

    # -- REST --------------------------------------------------------------------------------------

    async def channel_ids(self) -> list[str]:
        """GET /channels: the ids of every channel up now."""
        response = await self._request("GET", "/channels")
        return [channel["id"] for channel in response.json()]

    async def hangup(self, channel_id: str, reason_code: int | None = None) -> bool:
        """DELETE /channels/{id}: True when hung up, False when it was already gone (404)."""
        params = {"reason_code": str(reason_code)} if reason_code is not None else None
        response = await self._request("DELETE", f"/channels/{quote(channel_id, safe='')}", params, ok=(204, 404))
        return response.status_code == 204

    async def asterisk_info(self) -> AsteriskInfo:
        """GET /asterisk/info: which Asterisk this is (entity id, version)."""
        system = (await self._request("GET", "/asterisk/info")).json()["system"]
        return AsteriskInfo(entity_id=system["entity_id"], version=system["version"])

    async def _request(
        self, method: str, path: str, params: dict[str, str] | None = None, ok: tuple[int, ...] = (200,)
    ) -> httpx.Response:
        response = await self._http.request(method, path, params=params)
        if response.status_code in ok:
            return response
        if response.status_code == 401:
            raise AriError(401, f"ARI refused ari_user {self.user!r} (401): check ari_user/ari_password")
        raise AriError(
            response.status_code, f"ARI {method} {path} answered {response.status_code}: {response.text[:200].strip()}"
        )
