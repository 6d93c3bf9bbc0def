"""Issue 10 item 2: SIGTERM of a real `serve` under 150 concurrent `ext` authorizations holds credit only for the
calls whose dialplan heard BILL_STATUS=OK, and keeps every one of those (calls authorized before, now dialling or
talking, included)."""

from __future__ import annotations

import asyncio
import signal
import time

import pytest
from sqlalchemy import select

from asteriskbill.agi.peer import Call, call_fastagi
from asteriskbill.billing.reservation import OPEN
from asteriskbill.store.models import Reservation
from tests.helpers.calls import USA
from tests.helpers.fake_ari import FakeAri
from tests.helpers.serve import start_serve
from tests.helpers.waiting import until
from tests.helpers.world import make_world

CALLS = 150
TALKING = 10  # authorized before the stop: their hold must survive it
PROMPTLY = 15.0  # seconds from SIGTERM to exit: systemd's default stop timeout is 90 s


def open_uniqueids(engine) -> set[str]:
    with engine.begin() as conn:
        return set(conn.execute(select(Reservation.uniqueid).where(Reservation.status == OPEN)).scalars())


def test_sigterm_during_150_authorizations_holds_only_what_the_dialplan_heard(cli, engine, tmp_path):
    make_world(cli, tmp_path)
    cli("accounts", "recharge", "acme-201", "1000")  # every call can be granted: 60 s at 0.10/min holds 0.10
    log = tmp_path / "serve.log"
    # Each reply 20 ms late, as from a busy Asterisk: SIGTERM finds calls between authorization and BILL_STATUS
    calls = [
        Call(script="ext", args=[USA], callerid="201", uniqueid=f"1800000000.{n}", reply_delay=0.02)
        for n in range(TALKING + CALLS)
    ]

    async def main():
        async with FakeAri() as ari:
            serve, port = await start_serve(cli.db, ari, log, max_call_seconds="60")
            talking = await asyncio.gather(*(call_fastagi(call, "127.0.0.1", port) for call in calls[:TALKING]))
            placing = [asyncio.ensure_future(call_fastagi(call, "127.0.0.1", port)) for call in calls[TALKING:]]
            await until(
                lambda: len(open_uniqueids(engine)) > TALKING, "an authorization to be committed", interval=0.005
            )
            serve.send_signal(signal.SIGTERM)
            started = time.monotonic()
            code = await asyncio.wait_for(serve.wait(), 60)
            return code, time.monotonic() - started, talking + await asyncio.gather(*placing)

    code, took, outcomes = asyncio.run(asyncio.wait_for(main(), 120))
    assert code == 0, log.read_text()
    assert took < PROMPTLY, f"serve took {took:.1f} s to stop"
    heard = {
        call.uniqueid for call, out in zip(calls, outcomes, strict=True) if out.variables.get("BILL_STATUS") == "OK"
    }
    assert {call.uniqueid for call in calls[:TALKING]} <= heard
    if len(heard) == TALKING + CALLS:
        pytest.fail("every call was authorized before SIGTERM: nothing was in flight to test")
    held = open_uniqueids(engine)
    assert held - heard == set(), "credit held for calls whose dialplan never heard BILL_STATUS=OK"
    assert heard - held == set(), "calls the dialplan may dial lost their hold"
    assert "Traceback" not in log.read_text()
