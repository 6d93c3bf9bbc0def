"""AGI peer + fake ARI together: authorize -> dial -> real captured events -> CDR -> balance, exactly once."""

from __future__ import annotations

import asyncio
import json

import pytest
from captures import expected, frames, jumble
from fake_ari import FakeAri
from sqlalchemy import select
from world import make_world, place

from asteriskbill.agi.peer import Call
from asteriskbill.runtime import Listener
from asteriskbill.store.models import Account, Cdr, LedgerEntry, Reservation

EXPECTED = expected()
USA = "0015551234"  # 0.10/min per second: 0.008334 pays exactly 5 s, like the captures' L(5000)


def call_frames(call: str, session: str, max_ms: int) -> list[str]:
    """A capture as if our AGI had authorized it: its BILL_SESSION and BILL_MAX_MS are ours."""
    original = EXPECTED[call].session
    return [
        frame.replace(original, session).replace(
            '"variable":"BILL_MAX_MS","value":"5000"', f'"variable":"BILL_MAX_MS","value":"{max_ms}"'
        )
        for frame in frames(call)
    ]


def authorize(engine, world, call: str) -> tuple[str, int]:
    [out] = place(
        engine,
        world.settings,
        Call(script="card", keys=(world.card + "#", world.pin + "#", USA + "#"), uniqueid=EXPECTED[call].uniqueid),
    )
    assert out.variables["BILL_STATUS"] == "OK", out.variables
    return out.variables["BILL_SESSION"], int(out.variables["BILL_MAX_MS"])


def start_listener(engine, settings, ari: FakeAri, safety_interval: float = 3600) -> tuple[Listener, asyncio.Task]:
    listener = Listener(
        engine,
        settings.replace(ari_url=ari.url, ari_user="tester", ari_password="tester"),
        safety_interval=safety_interval,
    )
    return listener, asyncio.create_task(listener.run())


async def stop(task: asyncio.Task) -> None:
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)


async def listen(engine, settings, ari: FakeAri, settled: int) -> None:
    """Run the listener until ``settled`` reservations are no longer open."""
    listener, task = start_listener(engine, settings, ari)
    try:
        for _ in range(1200):
            await asyncio.sleep(0.05)
            with engine.begin() as conn:
                done = conn.execute(select(Reservation.status).where(Reservation.status != "open")).all()
            if len(done) >= settled and listener.queue.empty():
                return
        raise AssertionError("the listener did not settle the calls in 60 s")
    finally:
        await stop(task)


def replay(engine, settings, playlist: list[str], settled: int = 1) -> None:
    async def main():
        async with FakeAri() as ari:
            ari.play(playlist)
            await listen(engine, settings, ari, settled)

    asyncio.run(asyncio.wait_for(main(), 120))


def card_state(engine, world):
    with engine.begin() as conn:
        balance = conn.execute(select(Account.balance).where(Account.name == world.card)).scalar_one()
        cdrs = conn.execute(
            select(Cdr.outcome, Cdr.billable_ms, Cdr.billed_seconds, Cdr.cost, Cdr.uniqueid, Cdr.linkedid, Cdr.server)
        ).all()
        charges = conn.execute(select(LedgerEntry.amount).where(LedgerEntry.kind == "call")).scalars().all()
    return balance, cdrs, charges


@pytest.fixture
def world(cli, tmp_path):
    return make_world(cli, tmp_path, card_value="0.008334")


@pytest.mark.parametrize("call", sorted(EXPECTED))
def test_each_capture_gives_its_cdr_and_charge(cli, engine, world, call):
    session, max_ms = authorize(engine, world, call)
    assert max_ms == 5000
    replay(engine, world.settings, call_frames(call, session, max_ms))
    balance, cdrs, charges = card_state(engine, world)
    outcome, ms = EXPECTED[call].outcome, EXPECTED[call].billable_ms
    billed = min(-(-ms // 1000), 5)
    cost = 0 if not billed else -(-billed * 100_000 // 60)  # 0.10/min per second, rounded up once
    assert cdrs == [
        (
            outcome,
            pytest.approx(ms, abs=10),
            billed,
            cost,
            EXPECTED[call].uniqueid,
            EXPECTED[call].linkedid,
            "02:fc:00:00:00:01",
        )
    ]
    assert charges == ([-cost] if cost else [])
    assert balance == 8_334 - cost
    cli("check")  # every balance equals its ledger


def test_cut_by_dial_limit_never_costs_more_than_was_available(engine, world):
    """2002: L(5000) ended the bridge after 5004 ms; the card had exactly what 5 s cost."""
    session, max_ms = authorize(engine, world, "2002")
    replay(engine, world.settings, call_frames("2002", session, max_ms))
    balance, [cdr], _ = card_state(engine, world)
    assert (cdr.billable_ms, cdr.billed_seconds, balance) == (5004, 5, 0)


def test_events_twice_and_shuffled_charge_once(engine, world):
    session, max_ms = authorize(engine, world, "2001")
    playlist = call_frames("2001", session, max_ms)
    replay(engine, world.settings, jumble(playlist, seed=3) + jumble(playlist, seed=4))
    replay(engine, world.settings, playlist)  # a second listener run sees the whole call again
    balance, cdrs, charges = card_state(engine, world)
    assert len(cdrs) == 1 and charges == [-6_667] and balance == 8_334 - 6_667


def test_listener_restarted_mid_call_charges_once(engine, world):
    """The first listener sees the start and dies; the next one sees only the end (the UserEvent)."""
    session, max_ms = authorize(engine, world, "2007")
    playlist = call_frames("2007", session, max_ms)
    answered = next(i for i, f in enumerate(playlist) if '"dialstatus":"ANSWER"' in f and '"caller"' in f)

    async def main():
        async with FakeAri() as ari:  # listener 1: start of the call, then killed
            ari.play(playlist[: answered + 3])
            _, task = start_listener(engine, world.settings, ari)
            await asyncio.sleep(1.0)
            await stop(task)
        async with FakeAri() as ari:  # listener 2: the rest of the call
            ari.play(playlist[answered + 3 :])
            await listen(engine, world.settings, ari, 1)

    asyncio.run(asyncio.wait_for(main(), 120))
    balance, [cdr], charges = card_state(engine, world)
    # Asterisk's own ANSWEREDTIME_MS from the hangup handler's UserEvent: 2003 ms -> 3 s
    assert (cdr.outcome, cdr.billed_seconds, charges) == ("ANSWER", 3, [-5_000])
    replay(engine, world.settings, playlist)  # and a full replay later changes nothing
    assert card_state(engine, world)[2] == [-5_000]


def test_unknown_session_is_not_billed(engine, world):
    replay_frames = frames("2001")  # a call this database never authorized

    async def main():
        async with FakeAri() as ari:
            ari.play(replay_frames)
            _, task = start_listener(engine, world.settings, ari)
            await asyncio.sleep(1.5)
            await stop(task)

    asyncio.run(main())
    assert card_state(engine, world)[1:] == ([], [])


def test_safety_net_hangs_up_an_overdue_call(engine, world):
    session, max_ms = authorize(engine, world, "2001")
    playlist = call_frames("2001", session, max_ms)
    answered = next(i for i, f in enumerate(playlist) if '"dialstatus":"ANSWER"' in f and '"caller"' in f)
    caller = json.loads(playlist[answered])["caller"]["id"]

    async def main():
        async with FakeAri() as ari:
            ari.play(playlist[: answered + 1])  # answered on 23 Nov with a 5 s limit: long overdue now
            _, task = start_listener(engine, world.settings, ari, safety_interval=0.1)
            for _ in range(100):
                await asyncio.sleep(0.05)
                if ari.deleted:
                    break
            await stop(task)
            return ari.deleted

    assert asyncio.run(asyncio.wait_for(main(), 30)) == [caller]
