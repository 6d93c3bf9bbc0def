"""AGI peer + fake ARI together: authorize -> dial -> real captured events -> CDR -> balance, exactly once."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta

import pytest
from sqlalchemy import select

from asteriskbill.ari.events import parse_timestamp
from asteriskbill.runtime import Listener
from asteriskbill.store.models import Account, Cdr, LedgerEntry
from asteriskbill.store.writer import Writer
from tests.helpers.calls import EXPECTED, NotBilled, authorize, call_frames, marker
from tests.helpers.captures import frames, jumble
from tests.helpers.fake_ari import FakeAri
from tests.helpers.waiting import until


def start_listener(
    engine, settings, ari: FakeAri, safety_interval: float = 3600, writer: Writer | None = None
) -> tuple[Listener, asyncio.Task]:
    listener = Listener(
        engine,
        settings.replace(ari_url=ari.url, ari_user="tester", ari_password="tester"),
        safety_interval=safety_interval,
        writer=writer,
    )
    return listener, asyncio.create_task(listener.run())


async def stop(task: asyncio.Task) -> None:
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)


async def listen(engine, settings, ari: FakeAri, not_billed: NotBilled, writer: Writer | None = None) -> None:
    """Run a listener until it has handled all that ``ari`` has queued and settled the calls it ended: until
    a marker call played last is logged as not billed."""
    session, playlist = marker()
    ari.play(playlist)
    _, task = start_listener(engine, settings, ari, writer=writer)
    try:
        await until(lambda: session in not_billed.sessions, "the listener to handle every frame played")
    finally:
        await stop(task)


def replay(engine, settings, playlist: list[str], not_billed: NotBilled, writer: Writer | None = None) -> None:
    async def main():
        async with FakeAri() as ari:
            ari.play(playlist)
            await listen(engine, settings, ari, not_billed, writer)

    asyncio.run(asyncio.wait_for(main(), 120))


def card_state(engine, world):
    with engine.begin() as conn:
        balance = conn.execute(select(Account.balance).where(Account.name == world.card)).scalar_one()
        cdrs = conn.execute(
            select(Cdr.outcome, Cdr.billable_ms, Cdr.billed_seconds, Cdr.cost, Cdr.uniqueid, Cdr.linkedid, Cdr.server)
        ).all()
        charges = conn.execute(select(LedgerEntry.amount).where(LedgerEntry.kind == "call")).scalars().all()
    return balance, cdrs, charges


@pytest.mark.parametrize("call", sorted(EXPECTED))
def test_each_capture_gives_its_cdr_and_charge(cli, engine, world, not_billed, call):
    session, max_ms = authorize(engine, world, call)
    assert max_ms == 5000
    replay(engine, world.settings, call_frames(call, session, max_ms), not_billed)
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


def test_cut_by_dial_limit_never_costs_more_than_was_available(engine, world, not_billed):
    """2002: L(5000) ended the bridge after 5004 ms; the card had exactly what 5 s cost."""
    session, max_ms = authorize(engine, world, "2002")
    replay(engine, world.settings, call_frames("2002", session, max_ms), not_billed)
    balance, [cdr], _ = card_state(engine, world)
    assert (cdr.billable_ms, cdr.billed_seconds, balance) == (5004, 5, 0)


def test_events_twice_and_shuffled_charge_once(engine, world, not_billed):
    session, max_ms = authorize(engine, world, "2001")
    playlist = call_frames("2001", session, max_ms)
    replay(engine, world.settings, jumble(playlist, seed=3) + jumble(playlist, seed=4), not_billed)
    replay(engine, world.settings, playlist, not_billed)  # a second listener run sees the whole call again
    balance, cdrs, charges = card_state(engine, world)
    assert len(cdrs) == 1 and charges == [-6_667] and balance == 8_334 - 6_667


def test_through_serves_writer_events_twice_charge_once(engine, world, not_billed):
    """As `serve` runs it: the listener hands what it has queued to the one writer together (settle_many)."""
    session, max_ms = authorize(engine, world, "2001")
    playlist = call_frames("2001", session, max_ms)
    writer = Writer(engine)
    try:
        replay(engine, world.settings, jumble(playlist, seed=5) + playlist, not_billed, writer)
    finally:
        writer.close()
    balance, cdrs, charges = card_state(engine, world)
    assert len(cdrs) == 1 and charges == [-6_667] and balance == 8_334 - 6_667


def with_talk_ms(playlist: list[str]) -> list[str]:
    """The frames with the UserEvent the packaged dialplan sends (these captures' dialplan predates talk_ms):
    the callee answered at the Dial ANSWER, the hangup handler ran at the UserEvent's own time."""
    answer = next(parse_timestamp(json.loads(f)["timestamp"]) for f in playlist if '"dialstatus":"ANSWER"' in f)
    changed = []
    for frame in playlist:
        event = json.loads(frame)
        if event["type"] == "ChannelUserevent":
            ended = parse_timestamp(event["timestamp"])
            event["userevent"] |= {
                "talk_ms": str((ended - answer) // timedelta(milliseconds=1)),
                "answered_at": f"{answer.timestamp():.3f}",
                "ended_at": f"{ended.timestamp():.3f}",
            }
            frame = json.dumps(event)
        changed.append(frame)
    return changed


def restarted_mid_call(engine, world, not_billed, playlist: list[str]) -> None:
    """The first listener sees the start and dies; the next one sees only the end (the UserEvent)."""
    answered = next(i for i, f in enumerate(playlist) if '"dialstatus":"ANSWER"' in f and '"caller"' in f)

    async def main():
        async with FakeAri() as ari:  # listener 1: start of the call, then killed
            ari.play(playlist[: answered + 3])
            await listen(engine, world.settings, ari, not_billed)
        assert card_state(engine, world)[1:] == ([], [])  # the start of a call bills nothing
        async with FakeAri() as ari:  # listener 2: the rest of the call
            ari.play(playlist[answered + 3 :])
            await listen(engine, world.settings, ari, not_billed)

    asyncio.run(asyncio.wait_for(main(), 120))


def test_listener_restarted_mid_call_charges_once(engine, world, not_billed):
    session, max_ms = authorize(engine, world, "2007")
    playlist = with_talk_ms(call_frames("2007", session, max_ms))
    restarted_mid_call(engine, world, not_billed, playlist)
    _, [cdr], charges = card_state(engine, world)
    # the hangup handler's talk_ms, from the callee's answer: 2003 ms -> 3 s
    assert (cdr.outcome, cdr.billed_seconds, charges) == ("ANSWER", 3, [-5_000])
    replay(engine, world.settings, playlist, not_billed)  # and a full replay later changes nothing
    assert card_state(engine, world)[2] == [-5_000]


def test_an_older_dialplans_userevent_alone_bills_nothing(engine, world, not_billed):
    """Its ANSWEREDTIME_MS counts from the caller's answer (a card's IVR too): recovery settles the call."""
    session, max_ms = authorize(engine, world, "2007")
    restarted_mid_call(engine, world, not_billed, call_frames("2007", session, max_ms))
    assert card_state(engine, world)[1:] == ([], [])


def test_unknown_session_is_not_billed(engine, world, not_billed):
    replay(engine, world.settings, frames("2001"), not_billed)  # a call this database never authorized
    assert EXPECTED["2001"].session in not_billed.sessions  # the listener did see the call end
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
            try:
                await until(lambda: ari.deleted, "the safety net's DELETE /channels", seconds=10)
            finally:
                await stop(task)
            return ari.deleted

    assert asyncio.run(asyncio.wait_for(main(), 30)) == [caller]
