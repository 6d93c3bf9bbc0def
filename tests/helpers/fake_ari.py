"""A fake Asterisk ARI on a real TCP port, answering like the real one (fixtures/asterisk/ari-http-samples.txt).

* ``GET /ari/events?app=...`` websocket upgrade with Basic auth or ``api_key=user:password``; wrong or missing
  credentials -> a plain ``401`` (``WWW-Authenticate: Basic realm="Asterisk REST Interface"``,
  ``{"message":"Authentication required"}``), no ``app`` -> ``400``; a good upgrade -> ``101`` and the frames.
* ``GET /ari/channels`` (the channels the frames played so far left up), ``DELETE /ari/channels/{id}``
  (``204`` + ``Content-Length: 0`` / ``404 {"message":"Channel not found"}``), ``GET /ari/asterisk/info``.

Frames are sent exactly as given, in the order they are queued with ``play``; ``drop(lost)`` queues the loss
of the connection: ``lost`` frames happen while nobody listens (they change the channel list, are never sent)
and the next connection goes on with what is queued after the drop. ``open_sockets`` counts the event
sockets connected now (it drops to 0 once the fake has seen a killed listener's socket close).

    async with FakeAri() as ari:
        ari.play(frames)
        client = AriClient(ari.url, "tester", "tester", "asteriskbill")
"""

from __future__ import annotations

import asyncio
import base64
import email.utils
import json
from collections.abc import Iterable
from urllib.parse import parse_qs, unquote

from websockets.asyncio.server import ServerConnection, serve
from websockets.datastructures import Headers
from websockets.http11 import Request, Response

VERSION = "GIT-master-f0c1c1a7b7"
ENTITY_ID = "02:fc:00:00:00:01"
INFO = {
    "build": {
        "os": "Linux",
        "kernel": "6.18.44-fc-v782",
        "machine": "x86_64",
        "options": "OPTIONAL_API",
        "date": "2026-11-23 20:33:37 UTC",
        "user": "root",
    },
    "system": {"version": VERSION, "entity_id": ENTITY_ID},
    "config": {"name": "", "default_language": "en", "setid": {"user": "", "group": ""}},
    "status": {"startup_time": "2026-11-23T20:53:01.282+0000", "last_reload_time": "2026-11-23T20:53:01.282+0000"},
}
BAD_REQUEST = (
    '<!DOCTYPE HTML PUBLIC "-//IETF//DTD HTML 2.0//EN">\r\n<html><head>\r\n<title>400 Bad Request</title>\r\n'
    "</head><body>\r\n<h1>Bad Request</h1>\r\n<p>HTTP request is missing param: [app]</p>\r\n<hr />\r\n"
    f"<address>Asterisk/{VERSION}</address>\r\n</body></html>\r\n"
)
REASONS = {200: "OK", 204: "No Content", 400: "Bad Request", 401: "Unauthorized", 404: "Not Found"}
DROP = object()


class FakeAri:
    def __init__(self, user: str = "tester", password: str = "tester", entity_id: str = ENTITY_ID):
        self.user, self.password = user, password
        self.info = {**INFO, "system": {**INFO["system"], "entity_id": entity_id}}  # another Asterisk
        self.upgrades: list[int] = []  # the status answered to each websocket upgrade
        self.deleted: list[str] = []  # channel ids hung up with DELETE
        self.channels: dict[str, dict] = {}  # id -> snapshot of every channel up
        self.open_sockets = 0
        self._queue: asyncio.Queue = asyncio.Queue()
        self._server = None

    @property
    def port(self) -> int:
        return self._server.sockets[0].getsockname()[1]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def __aenter__(self) -> FakeAri:
        self._server = await serve(
            self._stream,
            "127.0.0.1",
            0,
            process_request=self._route,
            process_response=_bare_101,
            server_header=None,
            compression=None,
        )
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        self._server.close()
        await self._server.wait_closed()

    # -- the script --------------------------------------------------------------------------------

    def play(self, frames: Iterable[str]) -> None:
        for frame in frames:
            self._queue.put_nowait(frame)

    def drop(self, lost: Iterable[str] = ()) -> None:
        """Queue the loss of the connection (no close frame, as when Asterisk dies) and what happens unseen."""
        self._queue.put_nowait((DROP, list(lost)))

    def _apply(self, frame: str) -> None:
        try:
            event = json.loads(frame)
            channel = event.get("channel") or {}
        except (ValueError, AttributeError):
            return  # garbage frames are sent as they are
        if event.get("type") == "ChannelDestroyed":
            self.channels.pop(channel.get("id"), None)
        elif channel.get("id"):
            self.channels[channel["id"]] = channel

    async def _stream(self, socket: ServerConnection) -> None:
        closed = asyncio.ensure_future(socket.wait_closed())
        self.open_sockets += 1
        try:
            while True:
                getter = asyncio.ensure_future(self._queue.get())
                await asyncio.wait({getter, closed}, return_when=asyncio.FIRST_COMPLETED)
                if not getter.done():
                    getter.cancel()
                    return
                item = getter.result()
                if isinstance(item, tuple):
                    for frame in item[1]:
                        self._apply(frame)
                    socket.transport.abort()
                    return
                self._apply(item)
                await socket.send(item)
        finally:
            self.open_sockets -= 1
            closed.cancel()

    # -- HTTP ----------------------------------------------------------------------------------------

    def _route(self, socket: ServerConnection, request: Request) -> Response | None:
        path, _, query = request.path.partition("?")
        params = parse_qs(query)
        websocket = path == "/ari/events"
        if not self._authorized(request.headers.get("Authorization"), params.get("api_key", [""])[0]):
            response = _response(
                401,
                b'{"message":"Authentication required"}',
                websocket=websocket,
                extra={"WWW-Authenticate": 'Basic realm="Asterisk REST Interface"'},
            )
        elif websocket:
            response = None if "app" in params else _response(400, BAD_REQUEST.encode(), "text/html", websocket=True)
        else:
            response = self._rest(request.method, path)
        if websocket:
            self.upgrades.append(101 if response is None else response.status_code)
        return response

    def _authorized(self, header: str | None, api_key: str) -> bool:
        expected = f"{self.user}:{self.password}"
        if header and header.startswith("Basic "):
            try:
                return base64.b64decode(header[6:]).decode() == expected
            except ValueError:
                return False
        return unquote(api_key) == expected

    def _rest(self, method: str, path: str) -> Response:
        if (method, path) == ("GET", "/ari/channels"):
            return _json(200, list(self.channels.values()))
        if (method, path) == ("GET", "/ari/asterisk/info"):
            return _json(200, self.info)
        if method == "DELETE" and path.startswith("/ari/channels/"):
            channel_id = unquote(path.removeprefix("/ari/channels/"))
            if self.channels.pop(channel_id, None) is None:
                return _json(404, {"message": "Channel not found"})
            self.deleted.append(channel_id)
            return _response(204, b"", None)
        return _json(404, {"message": "Resource not found"})


def _json(status: int, body: object) -> Response:
    return _response(status, json.dumps(body, separators=(",", ":")).encode())


def _response(
    status: int,
    body: bytes,
    content_type: str | None = "application/json",
    *,
    websocket: bool = False,
    extra: dict[str, str] | None = None,
) -> Response:
    """A plain HTTP response in Asterisk's header order (upgrade refusals carry no Connection header)."""
    headers = Headers([("Server", f"Asterisk/{VERSION}"), ("Date", email.utils.formatdate(usegmt=True))])
    if not websocket:
        headers["Connection"] = "close"
    headers["Cache-Control"] = "no-cache, no-store"
    for name, value in (extra or {}).items():
        headers[name] = value
    if content_type:
        headers["Content-type"] = content_type
    headers["Content-Length"] = str(len(body))
    return Response(status, REASONS[status], headers, body)


def _bare_101(socket: ServerConnection, request: Request, response: Response) -> None:
    """Asterisk's 101 has no Date header."""
    if response.status_code == 101 and "Date" in response.headers:
        del response.headers["Date"]
