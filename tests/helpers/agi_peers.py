"""FastAGI peers that misbehave as the hardening issue found them: raw bytes in the environment, silence after
the environment or after a point of their choosing, endless 520 usage texts. Real TCP, Asterisk's answers
(``asteriskbill.agi.peer.Asterisk``) until they stop behaving."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Mapping

from asteriskbill.agi.peer import Asterisk, Call
from asteriskbill.agi.protocol import decode_line, encode_line


class Peer:
    """One connection to a FastAGI server that has sent ``call``'s environment."""

    def __init__(self, call: Call, reader: asyncio.StreamReader, writer: asyncio.StreamWriter):
        self.fake = Asterisk(call)
        self.reader, self.writer = reader, writer

    async def answer_until(self, stop: Callable[[str], object]) -> str | None:
        """Answer each command as Asterisk would until ``stop(command)`` (run in a thread: it may read the
        database) is true; return that command, left unanswered (None: the server closed first)."""
        while line := await self.reader.readline():
            command = decode_line(line)
            if await asyncio.to_thread(stop, command):
                return command
            for reply in self.fake.handle(command)[1]:
                self.writer.write(encode_line(reply))
        return None

    async def closed_by_server(self, seconds: float) -> bool:
        """Whether the server closes the connection within ``seconds`` (whatever it still sends is ignored)."""
        try:
            async with asyncio.timeout(seconds):
                while await self.reader.read(65536):
                    pass
        except TimeoutError:
            return False
        except OSError:
            pass  # reset by the server: closed too
        return True

    async def close(self) -> None:
        self.writer.close()
        with contextlib.suppress(OSError):
            await self.writer.wait_closed()


async def connect(port: int, call: Call, raw: Mapping[str, bytes] | None = None) -> Peer:
    """Connect to the FastAGI server on ``port`` and send ``call``'s environment, with the ``agi_*`` values in
    ``raw`` replaced by those exact bytes (e.g. ``{"callerid": b"\\xff5551"}``)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    peer = Peer(call, reader, writer)
    lines = peer.fake.env(f"agi://127.0.0.1:{port}/{call.script}", call.script).split(b"\n")
    for name, value in (raw or {}).items():
        prefix = b"agi_%s: " % name.encode()
        [found] = [n for n, line in enumerate(lines) if line.startswith(prefix)]
        lines[found] = prefix + value
    writer.write(b"\n".join(lines))
    return peer
