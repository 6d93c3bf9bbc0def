"""Issue 10 item 3: a FastAGI peer that stops answering loses its session and its hold after agi_reply_timeout, and
accepted connections have TCP keepalive on."""

from __future__ import annotations

import asyncio
import functools
import os
import socket

import pytest
from sqlalchemy import select

from asteriskbill.agi.peer import Call, call_fastagi
from asteriskbill.agi.server import start_server
from asteriskbill.billing.reservation import OPEN, RELEASED
from asteriskbill.settings import SettingsError, load
from asteriskbill.store.models import Reservation
from tests.helpers.agi_peers import connect
from tests.helpers.calls import USA
from tests.helpers.fake_ari import FakeAri
from tests.helpers.serve import start_serve
from tests.helpers.waiting import until
from tests.helpers.world import make_world

TIMEOUT = "0.5"


def status_of(engine, uniqueid: str) -> str | None:
    with engine.begin() as conn:
        return conn.execute(select(Reservation.status).where(Reservation.uniqueid == uniqueid)).scalar_one_or_none()


def released(engine, uniqueid: str) -> bool:
    return status_of(engine, uniqueid) == RELEASED


def test_silent_peers_release_their_hold_and_real_callers_get_through(cli, engine, tmp_path):
    world = make_world(cli, tmp_path)
    log = tmp_path / "serve.log"
    # acme-201's call holds its whole 10.00 (100 min at 0.10/min, under the 3 h cap); the card's its 1.00
    silent_ext = Call(script="ext", args=[USA], callerid="201", uniqueid="1800000000.1")
    silent_card = Call(script="card", args=[USA], keys=[world.card + "#", world.pin + "#"], uniqueid="1800000000.2")

    async def main():
        async with FakeAri() as ari:
            serve, port = await start_serve(cli.db, ari, log, agi_reply_timeout=TIMEOUT)
            try:
                ext = await connect(port, silent_ext)  # sends its environment, then answers nothing
                card = await connect(port, silent_card)  # answers until its credit is held, then nothing
                assert await ext.answer_until(lambda command: True) is not None
                assert await card.answer_until(lambda command: status_of(engine, silent_card.uniqueid) == OPEN)
                for peer, call in ((ext, silent_ext), (card, silent_card)):
                    await until(functools.partial(released, engine, call.uniqueid), f"{call.script}'s hold to go")
                    assert await peer.closed_by_server(10), "the silent peer's connection is still open"
                    await peer.close()
                return await asyncio.gather(
                    call_fastagi(Call(script="ext", args=[USA], callerid="201"), "127.0.0.1", port),
                    call_fastagi(Call(script="card", args=[USA], keys=silent_card.keys), "127.0.0.1", port),
                )
            finally:
                serve.terminate()
                await serve.wait()

    real_ext, real_card = asyncio.run(asyncio.wait_for(main(), 90))
    assert real_ext.variables["BILL_STATUS"] == "OK" and real_card.variables["BILL_STATUS"] == "OK"
    lines = log.read_text().splitlines()
    for call in (silent_ext, silent_card):
        assert len([line for line in lines if "no reply" in line and call.channel in line]) == 1, log.read_text()
    assert "Traceback" not in log.read_text()


def _accepted(peer: socket.socket) -> socket.socket:
    """This process's end of the connection ``peer`` made (the server side), found among its open descriptors."""
    for fd in os.listdir("/proc/self/fd"):
        try:
            candidate = socket.socket(fileno=os.dup(int(fd)))
        except OSError:
            continue
        try:
            if candidate.getpeername() == peer.getsockname():
                return candidate
        except OSError:
            pass
        candidate.close()
    raise AssertionError("no accepted socket for the peer")


def test_accepted_connections_have_tcp_keepalive():
    async def scenario():
        async with await start_server({}, port=0) as server:
            _, writer = await asyncio.open_connection(*server.address)
            await asyncio.sleep(0)  # let the server accept
            try:
                with _accepted(writer.get_extra_info("socket")) as accepted:
                    return (
                        accepted.getsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE),
                        accepted.getsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPIDLE),
                    )
            finally:
                writer.close()

    keepalive, idle = asyncio.run(asyncio.wait_for(scenario(), 30))
    assert keepalive == 1
    assert idle <= 120  # Linux's default of 2 h would notice a vanished Asterisk host far too late


def test_the_reply_timeout_setting_is_checked():
    with pytest.raises(SettingsError, match=r"agi_reply_timeout=0\.0 \(from ASTERISKBILL_AGI_REPLY_TIMEOUT\)"):
        load(env={"ASTERISKBILL_AGI_REPLY_TIMEOUT": "0"})
    assert load(env={"ASTERISKBILL_AGI_REPLY_TIMEOUT": "0.5"}).agi_reply_timeout == 0.5
