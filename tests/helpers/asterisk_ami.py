"""A small synchronous Asterisk manager (AMI) session for the real-Asterisk tests: actions, and every event kept.

A thread reads the socket: responses wake the action that waits for them, events are kept in arrival order
and handed to the hooks (which run in that thread, so they may send actions but must not wait for them).
"""

from __future__ import annotations

import contextlib
import itertools
import socket
import threading
from collections.abc import Callable

from tests.helpers.waiting import wait_for

Message = dict[str, str]
Hook = Callable[[Message], None]


class Ami:
    def __init__(self, host: str, port: int, user: str, secret: str):
        self.sock = socket.create_connection((host, port), timeout=10)
        self.stream = self.sock.makefile("rb")
        self.stream.readline()  # "Asterisk Call Manager/..."
        self.sock.settimeout(None)
        self.write_lock = threading.Lock()
        self.changed = threading.Condition()
        self.events: list[Message] = []
        self.responses: dict[str, Message] = {}
        self.hooks: list[Hook] = []
        self.ids = itertools.count(1)
        self.reader = threading.Thread(target=self._read, name="ami-reader", daemon=True)
        self.reader.start()
        reply = self.action("Login", Username=user, Secret=secret)
        assert reply.get("Response") == "Success", f"AMI login refused: {reply}"

    def send(self, action: str, **fields: str) -> str:
        """Send an action without waiting for its response; its ActionID."""
        action_id = str(next(self.ids))
        lines = [f"Action: {action}", f"ActionID: {action_id}", *(f"{k}: {v}" for k, v in fields.items())]
        with self.write_lock:
            self.sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        return action_id

    def action(self, action: str, **fields: str) -> Message:
        """Send an action and return its response."""
        action_id = self.send(action, **fields)
        with self.changed:
            if not self.changed.wait_for(lambda: action_id in self.responses, timeout=30):
                raise AssertionError(f"AMI {action}: no response in 30 s")
            return self.responses.pop(action_id)

    def seen(self, predicate: Callable[[Message], bool]) -> list[Message]:
        with self.changed:
            return [event for event in self.events if predicate(event)]

    def wait_event(self, predicate: Callable[[Message], bool], what: str, seconds: float = 30) -> Message:
        wait_for(lambda: self.seen(predicate), what, seconds, interval=0.05)
        return self.seen(predicate)[0]

    def forget(self) -> None:
        """Drop the hooks and the events kept so far (between tests)."""
        with self.changed:
            self.hooks.clear()
            self.events.clear()

    def close(self) -> None:
        with contextlib.suppress(OSError):  # already closed by Asterisk
            self.sock.shutdown(socket.SHUT_RDWR)
        self.sock.close()
        self.reader.join(timeout=5)

    def _read(self) -> None:
        message: Message = {}
        for raw in self.stream:
            line = raw.decode(errors="replace").rstrip("\r\n")
            if line:
                key, _, value = line.partition(":")
                message.setdefault(key.strip(), value.strip())
                continue
            if "Event" in message:
                with self.changed:
                    self.events.append(message)
                    self.changed.notify_all()
                for hook in list(self.hooks):
                    hook(message)
            elif "ActionID" in message:
                with self.changed:
                    self.responses[message["ActionID"]] = message
                    self.changed.notify_all()
            message = {}
