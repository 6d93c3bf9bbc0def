"""agi-bin as a thin relay to the running FastAGI server (``asteriskbill serve``).

A process per call that imported the billing code would spend ~0.3 s loading SQLAlchemy, the models and the
services before its first AGI command; ``serve`` has them loaded and the same apps. So the console scripts
(asteriskbill-card / -ext, which agi-bin/'s wrappers run) connect to the FastAGI address of the settings
(fastagi_host / fastagi_port), hand the server Asterisk's environment block as a FastAGI request for their app
(``agi_network_script``), then pass bytes both ways until the server closes. Asterisk's hang-up of a process
AGI, SIGHUP, becomes FastAGI's ``HANGUP`` line. Only the standard library is imported here (setting_sources
is standard library only too).

When no server answers within CONNECT_TIMEOUT, or it closes the connection before its first command (an
address outside fastagi_allow, serve stopping, a block that is not AGI), the call runs in this process as
before (script.main, fed what was already read of stdin), after one line on stderr.

The exit status is the in-process one: 1 when the app failed, which the server tells the channel with
``SET VARIABLE BILL_STATUS ERROR`` (session.report_status), else 0.
"""

from __future__ import annotations

import os
import select
import signal
import socket
import sys

from asteriskbill.setting_sources import FASTAGI_HOST, FASTAGI_PORT, unchecked

TYPE_CHECKING = False  # typing costs milliseconds at every agi-bin start: it is for the annotations only
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import BinaryIO

    Fallback = Callable[..., int]  # script.main(argv, stdin=None)

CONNECT_TIMEOUT = 1.0
CHUNK = 64 * 1024
MAX_ENV = 64 * 1024  # Asterisk's block is ~1 KiB: past this it is no AGI, and the in-process script says so
HANGUP = b"HANGUP\n"
# the line session.report_status sends for a failed app (tests/agi/test_relay.py pins it to format_command)
FAILED = b"SET VARIABLE BILL_STATUS ERROR"


def run(app: str, args: list[str], fallback: Fallback) -> int:
    """The call of ``asteriskbill-<app>`` (Asterisk's arguments ``args``) through ``serve`` when it answers,
    else ``fallback([app, *args])`` in this process; returns the exit status. SIGHUP must be ignored already."""
    hangup = _Hangup()
    try:
        outcome = _through_server(app, hangup)
    finally:
        hangup.close()
    if isinstance(outcome, int):
        return outcome
    why, head = outcome
    if hangup.received:  # the caller is gone and nothing was done for the call yet
        return 0
    if why:
        print(f"asteriskbill-{app}: {why}: running the call in this process", file=sys.stderr)
    if head is None:
        return fallback([app, *args])
    return fallback([app, *args], stdin=_replayed(head))


def _through_server(app: str, hangup: _Hangup) -> int | tuple[str, bytes | None]:
    """The exit status of the relayed call; else why it was not relayed ("": the in-process script will say)
    and what was read of stdin (None: nothing)."""
    address = _address()
    if address is None:  # settings the relay cannot use: the in-process script names the problem
        return "", None
    try:
        server = _connect(address)
    except OSError as exc:
        return f"the FastAGI server at {_where(address)} did not answer ({exc.strerror or exc})", None
    with server:
        head = _read_env()
        if _block_end(head) < 0:  # not AGI: the in-process script says what is wrong with it
            return "", head
        status = _relay(server, _request(head, app, address), hangup)
    if status is None:
        return f"the FastAGI server at {_where(address)} closed the connection before its first command", head
    return status


def _address() -> tuple[str, int] | None:
    """fastagi_host / fastagi_port as settings.load() would read them; None when unreadable or unusable."""
    try:
        values = unchecked(("fastagi_host", "fastagi_port"))
        host, port = str(values.get("fastagi_host", FASTAGI_HOST)), int(values.get("fastagi_port", FASTAGI_PORT))
    except (OSError, ValueError, TypeError):
        return None
    return (host, port) if host and 0 < port < 65536 else None


def _connect(address: tuple[str, int]) -> socket.socket:
    """socket.create_connection, but to an IP address without a name lookup (the resolver's first call costs
    milliseconds, and a relay makes only one)."""
    for family in (socket.AF_INET, socket.AF_INET6):
        try:
            socket.inet_pton(family, address[0])
        except OSError:
            continue
        server = socket.socket(family, socket.SOCK_STREAM)
        try:
            server.settimeout(CONNECT_TIMEOUT)
            server.connect(address)
        except OSError:
            server.close()
            raise
        return server
    return socket.create_connection(address, CONNECT_TIMEOUT)


def _where(address: tuple[str, int]) -> str:
    host, port = address
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def _read_env() -> bytes:
    """Asterisk's environment block from stdin, through its empty line (all there is at EOF or past MAX_ENV)."""
    data = b""
    while _block_end(data) < 0 and len(data) <= MAX_ENV:
        chunk = os.read(0, CHUNK)
        if not chunk:
            break
        data += chunk
    return data


def _block_end(data: bytes) -> int:
    """Where the environment block's empty line starts in ``data``, or -1."""
    start = 0
    while (end := data.find(b"\n", start)) >= 0:
        if data[start:end] in (b"", b"\r"):
            return start
        start = end + 1
    return -1


def _request(head: bytes, app: str, address: tuple[str, int]) -> bytes:
    """The block as FastAGI carries it: Asterisk's lines, then ours (later lines win), then the empty line."""
    end = _block_end(head)
    ours = f"agi_network: yes\nagi_network_script: {app}\nagi_request: agi://{_where(address)}/{app}\n"
    return head[:end] + ours.encode() + head[end:]


def _relay(server: socket.socket, request: bytes, hangup: _Hangup) -> int | None:
    """Pass bytes until the server closes; the exit status, or None when it closed before sending a byte."""
    server.settimeout(None)
    server.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # each line goes at once, as Asterisk's do
    commands = _Commands()
    watched = [server.fileno(), 0, hangup.wakeup]
    at_line_start = True  # the HANGUP line goes between Asterisk's lines, never inside one
    try:
        server.sendall(request)
        while True:
            readable = select.select(watched, [], [])[0]
            if hangup.wakeup in readable:
                hangup.drain()
            if 0 in readable:
                data = os.read(0, CHUNK)
                if data:
                    server.sendall(data)
                    at_line_start = data.endswith(b"\n")
                else:  # Asterisk closed our stdin: the server hears EOF, as from a closed connection
                    watched.remove(0)
                    server.shutdown(socket.SHUT_WR)
            if at_line_start and 0 in watched:
                hangup.send_once(server)
            if server.fileno() in readable:
                data = server.recv(CHUNK)
                if not data:
                    return commands.status
                commands.feed(data)
                if not _to_asterisk(data):
                    return commands.status
    except OSError:  # the server broke the connection
        return None if commands.status is None else 1


def _to_asterisk(data: bytes) -> bool:
    """Write ``data`` to stdout; False when Asterisk is gone (closing the connection then tells the server)."""
    try:
        _write(1, data)
    except OSError:
        return False
    return True


def _write(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


class _Commands:
    """Watches the server's lines: whether it sent any, and whether the app failed."""

    def __init__(self) -> None:
        self.status: int | None = None  # None until the first byte
        self._line = b""

    def feed(self, data: bytes) -> None:
        if self.status is None:
            self.status = 0
        *lines, rest = (self._line + data).split(b"\n")
        if FAILED in lines:
            self.status = 1
        self._line = rest[: len(FAILED) + 1]  # enough to tell FAILED from any longer line


class _Hangup:
    """SIGHUP from the relay's start: remembered, and the relay woken (a pipe) to send HANGUP once."""

    def __init__(self) -> None:
        self.received = self.sent = False
        self.wakeup, self._wake = os.pipe()
        for fd in (self.wakeup, self._wake):
            os.set_blocking(fd, False)
        self._previous_wakeup = signal.set_wakeup_fd(self._wake, warn_on_full_buffer=False)
        signal.signal(signal.SIGHUP, self._caught)

    def _caught(self, *_: object) -> None:
        self.received = True

    def drain(self) -> None:
        while True:
            try:
                os.read(self.wakeup, 512)
            except BlockingIOError:
                return

    def send_once(self, server: socket.socket) -> None:
        if self.received and not self.sent:
            self.sent = True
            server.sendall(HANGUP)

    def close(self) -> None:
        """SIGHUP ignored again (as before the relay), for the in-process fallback or the exit."""
        signal.signal(signal.SIGHUP, signal.SIG_IGN)
        signal.set_wakeup_fd(self._previous_wakeup)
        os.close(self.wakeup)
        os.close(self._wake)


def _replayed(head: bytes) -> BinaryIO:
    """A pipe giving ``head``, then the rest of stdin (copied by a thread, for as long as the call lasts)."""
    import threading

    read_end, write_end = os.pipe()

    def copy() -> None:
        try:
            data = head
            while data:
                _write(write_end, data)
                data = os.read(0, CHUNK)
        except OSError:  # the call is over: nobody reads any more
            pass
        finally:
            os.close(write_end)

    threading.Thread(target=copy, daemon=True).start()
    return open(read_end, "rb", buffering=0)
