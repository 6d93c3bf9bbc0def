"""`asteriskbill serve` as a real process, killed with SIGKILL mid-call and started again: billed once."""

from __future__ import annotations

import asyncio
import signal

from sqlalchemy import select

from asteriskbill.store.models import Cdr, LedgerEntry
from tests.helpers.calls import authorize, call_frames, marker, not_billed_in
from tests.helpers.fake_ari import FakeAri
from tests.helpers.serve import start_serve
from tests.helpers.waiting import until


def charges(engine) -> list[int]:
    with engine.begin() as conn:
        return conn.execute(select(LedgerEntry.amount).where(LedgerEntry.kind == "call")).scalars().all()


def test_sigkill_mid_call_then_restart_charges_once(cli, engine, world, tmp_path):
    session, max_ms = authorize(engine, world, "2001")
    playlist = call_frames("2001", session, max_ms)
    answered = next(i for i, f in enumerate(playlist) if '"dialstatus":"ANSWER"' in f and '"caller"' in f)
    first_log, second_log = tmp_path / "first.log", tmp_path / "second.log"
    first_marker, first_end = marker()
    second_marker, second_end = marker()

    async def main():
        async with FakeAri() as ari:
            ari.play(playlist[: answered + 2] + first_end)
            first, _ = await start_serve(cli.db, ari, first_log)
            # once it logs the marker call played after them, it has handled the call's start
            await until(lambda: not_billed_in(first_log, first_marker), "the first serve to see the call start")
            assert not charges(engine)
            first.send_signal(signal.SIGKILL)
            assert await first.wait() == -signal.SIGKILL
            await until(lambda: ari.open_sockets == 0, "the dead listener's socket to close")
            ari.play(playlist[answered + 2 :])  # the call goes on and ends meanwhile
            ari.play(playlist)  # the same frames again: no new bill
            ari.play(second_end)
            second, _ = await start_serve(cli.db, ari, second_log)
            try:
                await until(lambda: not_billed_in(second_log, second_marker), "the second serve to handle every frame")
            finally:
                second.terminate()
                await second.wait()
            assert second.returncode == 0, second_log.read_text()

    asyncio.run(asyncio.wait_for(main(), 90))
    # Asterisk's own ANSWEREDTIME_MS from the UserEvent (3506 ms) -> 4 s at 0.10/min
    assert charges(engine) == [-6_667]
    with engine.begin() as conn:
        assert conn.execute(select(Cdr.session, Cdr.billed_seconds)).all() == [(session, 4)]
    cli("check")
