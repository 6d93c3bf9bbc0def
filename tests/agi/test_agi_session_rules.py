"""The session's own rules, kept while making it cheap (issue 12): one command at a time in the order asked, a
late reply never taken by the next command, every reply deadline and the linger after our EOF enforced, and a
closing server cutting off connections still sending their environment. Real TCP, a peer that answers only when
the test says so."""

from __future__ import annotations

import asyncio
import logging

import pytest

from asteriskbill.agi.channel import Channel
from asteriskbill.agi.protocol import Env, PeerGone
from asteriskbill.agi.server import start_server
from tests.helpers.waiting import until

ENV = b"agi_network: yes\nagi_network_script: card\nagi_request: agi://127.0.0.1/card\nagi_channel: PJSIP/x-1\n\n"


class Peer(asyncio.Protocol):
    """Asterisk's side, answering only when told: every command line received, and whether the server closed."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.closed = False
        self._rest = b""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        transport.write(ENV)

    def data_received(self, data: bytes) -> None:
        *lines, self._rest = (self._rest + data).split(b"\n")
        self.lines += [line.decode() for line in lines]

    def eof_received(self) -> bool:
        return True  # the server's EOF: stay open, as a peer that never sends its HANGUP and close

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True

    def reply(self, line: str = "200 result=1") -> None:
        self.transport.write(line.encode() + b"\n")


async def connect(address: tuple[str, int]) -> Peer:
    _, peer = await asyncio.get_running_loop().create_connection(Peer, *address)
    return peer


async def settle() -> None:
    """Let the loop run a few rounds: what the server wrote is then in the peer's lines (loopback)."""
    for _ in range(10):
        await asyncio.sleep(0)


def run(coro):
    return asyncio.run(asyncio.wait_for(coro, 60))


def test_commands_of_concurrent_tasks_go_one_at_a_time_first_come_first_served():
    started: list[int] = []

    async def app(channel: Channel, env: Env) -> None:
        async def one(n: int) -> None:
            started.append(n)
            await channel.set_variable(f"V{n}", n)

        await asyncio.gather(*(one(n) for n in range(3)))

    async def scenario() -> list[list[str]]:
        async with await start_server({"card": app}, port=0) as server:
            peer = await connect(server.address)
            seen = []
            for n in range(1, 4):
                await until(lambda n=n: len(started) == 3 and len(peer.lines) == n, "the next command", 10, 0.01)
                await settle()
                seen.append(list(peer.lines))
                peer.reply()
            return seen

    assert run(scenario()) == [
        ["SET VARIABLE V0 0"],
        ["SET VARIABLE V0 0", "SET VARIABLE V1 1"],
        ["SET VARIABLE V0 0", "SET VARIABLE V1 1", "SET VARIABLE V2 2"],
    ]


def test_a_command_cancelled_while_waiting_for_its_turn_leaves_the_others_going():
    tasks: list[asyncio.Task] = []
    done: list[str] = []

    async def app(channel: Channel, env: Env) -> None:
        async def one(n: int) -> None:
            await channel.set_variable(f"V{n}", n)
            done.append(f"V{n}")

        tasks.extend(asyncio.ensure_future(one(n)) for n in range(3))
        await asyncio.gather(*tasks, return_exceptions=True)

    async def scenario() -> list[str]:
        async with await start_server({"card": app}, port=0) as server:
            peer = await connect(server.address)
            await until(lambda: peer.lines, "the first command", 10, 0.01)
            tasks[1].cancel()  # queued behind V0
            await settle()
            peer.reply()
            await until(lambda: len(peer.lines) == 2, "the next command", 10, 0.01)
            peer.reply()
            await until(lambda: len(done) == 2, "both answered", 10, 0.01)
            return peer.lines

    assert run(scenario()) == ["SET VARIABLE V0 0", "SET VARIABLE V2 2"]
    assert done == ["V0", "V2"] and tasks[1].cancelled()


def test_the_late_reply_to_a_cancelled_command_is_not_taken_by_the_next():
    got: list[str | None] = []

    async def app(channel: Channel, env: Env) -> None:
        first = asyncio.ensure_future(channel.get_variable("FIRST"))
        await until(lambda: peer_lines, "the first command out", 10, 0.01)
        first.cancel()
        got.append(await channel.get_variable("SECOND"))

    peer_lines: list[str] = []

    async def scenario() -> None:
        async with await start_server({"card": app}, port=0) as server:
            peer = await connect(server.address)
            peer.lines = peer_lines
            await until(lambda: len(peer.lines) == 2, "both commands", 10, 0.01)
            peer.reply("200 result=1 (first)")
            peer.reply("200 result=1 (second)")
            await until(lambda: got, "the second answer", 10, 0.01)

    run(scenario())
    assert peer_lines == ["GET VARIABLE FIRST", "GET VARIABLE SECOND"] and got == ["second"]


def test_a_short_reply_deadline_after_a_long_one_is_kept(caplog):
    """A command that may wait an hour for the caller, answered at once, must not push the next one's deadline."""
    caplog.set_level(logging.WARNING, "asteriskbill.agi")
    errors: list[Exception] = []

    async def app(channel: Channel, env: Env) -> None:
        await channel.command("WAIT", "FOR", "DIGIT", 3_600_000, wait=3600)
        try:
            await channel.noop()
        except PeerGone as exc:
            errors.append(exc)
            raise

    async def scenario() -> None:
        async with await start_server({"card": app}, port=0, reply_timeout=0.2) as server:
            peer = await connect(server.address)
            await until(lambda: peer.lines, "the long command", 10, 0.01)
            peer.reply("200 result=0")
            await until(lambda: errors, "the silent peer to be given up", 30, 0.01)

    run(scenario())
    assert "no reply to NOOP within 0.2 s" in caplog.text


def test_a_peer_that_never_closes_after_our_eof_is_closed_after_the_linger():
    async def app(channel: Channel, env: Env) -> None:
        await channel.set_variable("BILL_STATUS", "OK")

    async def scenario() -> Peer:
        async with await start_server({"card": app}, port=0) as server:
            peer = await connect(server.address)
            await until(lambda: peer.lines, "the command", 10, 0.01)
            peer.reply()  # ...and then neither HANGUP nor close
            await until(lambda: not server.sessions, "the server to end the session after its linger", 30, 0.01)
            return peer

    peer = run(scenario())
    assert peer.lines == ["SET VARIABLE BILL_STATUS OK"] and not peer.closed  # the server ended it by itself


@pytest.mark.parametrize("sent", [b"", b"agi_network: yes\nagi_netw"], ids=["nothing", "half an environment"])
def test_closing_the_server_closes_connections_still_sending_their_environment(sent):
    async def scenario() -> bool:
        server = await start_server({}, port=0)
        reader, writer = await asyncio.open_connection(*server.address)
        writer.write(sent)
        await until(lambda: server.sessions, "the server to accept", 10, 0.01)
        await server.close()
        closed = await reader.read() == b""
        writer.close()
        return closed and not server.sessions

    assert run(scenario())
