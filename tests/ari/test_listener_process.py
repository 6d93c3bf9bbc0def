"""`asteriskbill serve` as a real process, killed with SIGKILL mid-call and started again: billed once."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sys

from fake_ari import FakeAri
from sqlalchemy import select
from test_ari_settlement import authorize, call_frames, world  # noqa: F401  (fixture)

from asteriskbill.store.models import Cdr, LedgerEntry


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


async def start_serve(db: str, ari: FakeAri) -> asyncio.subprocess.Process:
    env = {
        **os.environ,
        "ASTERISKBILL_ARI_URL": ari.url,
        "ASTERISKBILL_ARI_USER": "tester",
        "ASTERISKBILL_ARI_PASSWORD": "tester",
    }
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "asteriskbill.cli",
        "--db",
        db,
        "serve",
        "--port",
        str(free_port()),
        env=env,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )


async def until(condition, seconds: float = 30) -> None:
    for _ in range(int(seconds / 0.05)):
        if condition():
            return
        await asyncio.sleep(0.05)
    raise AssertionError("timed out")


def charges(engine) -> list[int]:
    with engine.begin() as conn:
        return conn.execute(select(LedgerEntry.amount).where(LedgerEntry.kind == "call")).scalars().all()


def test_sigkill_mid_call_then_restart_charges_once(cli, engine, world):  # noqa: F811
    session, max_ms = authorize(engine, world, "2001")
    playlist = call_frames("2001", session, max_ms)
    answered = next(i for i, f in enumerate(playlist) if '"dialstatus":"ANSWER"' in f and '"caller"' in f)

    async def main():
        async with FakeAri() as ari:
            ari.play(playlist[: answered + 2])
            first = await start_serve(cli.db, ari)
            await until(lambda: ari.upgrades and ari._queue.empty())
            await asyncio.sleep(0.3)
            first.send_signal(signal.SIGKILL)
            assert await first.wait() == -signal.SIGKILL
            ari.drop()  # the dead listener's socket goes away
            ari.play(playlist[answered + 2 :])  # the call goes on and ends meanwhile
            ari.play(playlist)  # the same frames again: no new bill
            second = await start_serve(cli.db, ari)
            try:
                await until(lambda: charges(engine))
                await asyncio.sleep(1.0)
            finally:
                second.terminate()
                _, err = await second.communicate()
            assert second.returncode == 0, err.decode()

    asyncio.run(asyncio.wait_for(main(), 90))
    # Asterisk's own ANSWEREDTIME_MS from the UserEvent (3506 ms) -> 4 s at 0.10/min
    assert charges(engine) == [-6_667]
    with engine.begin() as conn:
        assert conn.execute(select(Cdr.session, Cdr.billed_seconds)).all() == [(session, 4)]
    cli("check")
