"""Issue 10 item 8: a multi-line 520 reply is capped (lines and bytes); a peer past the cap loses its session and
its hold, with one line in the log."""

from __future__ import annotations

import asyncio
import contextlib
import logging

import pytest
from sqlalchemy import select

from asteriskbill.agi.apps import BillingApps
from asteriskbill.agi.peer import USAGE_HEAD, Call
from asteriskbill.agi.protocol import MAX_USAGE_BYTES, MAX_USAGE_LINES, Decoder, ProtocolError, Reply
from asteriskbill.agi.server import start_server
from asteriskbill.billing.reservation import RELEASED
from asteriskbill.store.models import Reservation
from tests.helpers.agi_peers import connect
from tests.helpers.calls import USA
from tests.helpers.world import make_world

FLOOD = 32 * 1024 * 1024  # what the peer offers; 200 MB grew serve by 211 MB before the cap


def after_env() -> Decoder:
    decoder = Decoder()
    decoder.feed(b"agi_network: yes\n\n")
    return decoder


def test_a_usage_text_within_the_caps_is_one_reply():
    usage = [b"x" * 100] * 20
    assert after_env().feed(b"520-Invalid\n" + b"\n".join(usage) + b"\n520 End\n") == [
        Reply(520, message="End", usage=("x" * 100,) * 20)
    ]


@pytest.mark.parametrize(
    "lines, size",
    [(MAX_USAGE_LINES + 1, 10), (MAX_USAGE_BYTES // 1000 + 1, 1000)],
    ids=["too many lines", "too many bytes"],
)
def test_a_usage_text_past_a_cap_is_a_protocol_error(lines, size):
    decoder = after_env()
    decoder.feed(b"520-Invalid\n")
    with pytest.raises(ProtocolError, match="520"):
        for _ in range(lines):
            decoder.feed(b"u" * size + b"\n")


def test_an_endless_520_over_tcp_ends_the_session_and_releases_its_hold(cli, engine, tmp_path, caplog):
    world = make_world(cli, tmp_path)
    caplog.set_level(logging.INFO, "asteriskbill")

    async def flood(writer: asyncio.StreamWriter) -> int:
        sent = 0
        writer.write(USAGE_HEAD.encode() + b"\n")
        with contextlib.suppress(OSError):
            while sent < FLOOD:
                writer.write(b"Usage: " + b"u" * 200 + b"\n" * 8)
                await writer.drain()
                sent += 208
        return sent

    async def main():
        async with await start_server(BillingApps(engine, world.settings).apps, port=0) as server:
            peer = await connect(server.address[1], Call(script="ext", args=[USA], callerid="201"))
            first = await peer.answer_until(lambda command: True)  # the credit is held: answer with the flood
            assert first is not None and first.startswith("SET VARIABLE BILL_SESSION")
            flooding = asyncio.ensure_future(flood(peer.writer))
            closed = await peer.closed_by_server(20)
            flooding.cancel()
            await peer.close()
            return closed

    assert asyncio.run(asyncio.wait_for(main(), 60)), "the server kept reading the 520 reply"
    with engine.begin() as conn:
        assert conn.execute(select(Reservation.status)).scalar_one() == RELEASED
    warnings = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(warnings) == 1 and "520" in warnings[0].getMessage(), caplog.text
    assert warnings[0].exc_info is None and "Traceback" not in caplog.text
