"""`serve` with several Asterisk servers: one listener each, each CDR says which Asterisk its call was on."""

from __future__ import annotations

import asyncio
import json
import re

from sqlalchemy import select

from asteriskbill.runtime import Listeners, serve
from asteriskbill.services import servers
from asteriskbill.store.models import Cdr, LedgerEntry, Reservation
from tests.helpers.calls import OTHER_ID, authorize, call_frames, marker, on
from tests.helpers.fake_ari import ENTITY_ID, FakeAri
from tests.helpers.waiting import until


def add_server(cli, name: str, ari: FakeAri) -> None:
    cli("servers", "add", name, "--ari-url", ari.url, "--ari-user", "tester", "--ari-password", "tester")


def settled(engine, count: int):
    def check() -> bool:
        with engine.begin() as conn:
            return len(conn.execute(select(Reservation.id).where(Reservation.status != "open")).all()) >= count

    return check


def identified(engine, settings, name: str, asterisk_id: str):
    return lambda: {s.name: s.asterisk_id for s in servers.servers(engine, settings)}.get(name) == asterisk_id


def test_one_listener_per_server_each_cdr_records_its_asterisk(cli, engine, world):
    """pbx-a is in the table when serve starts; pbx-b is added while it runs and followed without a restart."""
    world.settings = world.settings.replace(max_call_seconds=5)
    cli("cards", "recharge", world.card, "0.008334")  # two calls of 5 s
    first, max_ms = authorize(engine, world, "2001")
    second, _ = authorize(engine, world, "2007")
    settings = world.settings.replace(fastagi_port=0)

    async def main():
        stop = asyncio.Event()
        async with FakeAri() as a, FakeAri(entity_id=OTHER_ID) as b:
            add_server(cli, "pbx-a", a)
            running = asyncio.create_task(serve(engine, settings, stop, servers_interval=0.2))
            try:
                a.play(call_frames("2001", first, max_ms))
                await until(settled(engine, 1), "pbx-a's call")
                add_server(cli, "pbx-b", b)
                b.play(on(OTHER_ID, call_frames("2007", second, max_ms)))
                await until(settled(engine, 2), "pbx-b's call")
                await until(identified(engine, settings, "pbx-b", OTHER_ID), "pbx-b's entity id")
            finally:
                stop.set()
                await asyncio.wait_for(running, 10)

    asyncio.run(asyncio.wait_for(main(), 60))
    with engine.begin() as conn:
        assert dict(conn.execute(select(Cdr.session, Cdr.server)).all()) == {first: ENTITY_ID, second: OTHER_ID}
    listed = {s["name"]: s["asterisk_id"] for s in json.loads(cli("servers", "list", "--json").stdout)}
    assert listed == {"pbx-a": ENTITY_ID, "pbx-b": OTHER_ID}
    by_server = {r["key"]: r["total"] for r in json.loads(cli("cdr", "stats", "--by", "server", "--json").stdout)}
    assert {key: (t["calls"], t["answered"], t["cost"]) for key, t in by_server.items()} == {
        "pbx-a": (1, 1, "0.006667"),
        "pbx-b": (1, 1, "0.005"),
    }  # 3506 ms -> 4 s, 2003 ms -> 3 s
    cli("check")


def test_events_without_asterisk_id_get_the_servers_entity_id(cli, engine, world):
    session, max_ms = authorize(engine, world, "2001")
    playlist = [re.sub(r',"asterisk_id":"[^"]*"', "", f) for f in call_frames("2001", session, max_ms)]
    assert not any("asterisk_id" in frame for frame in playlist)

    async def main():
        stop = asyncio.Event()
        async with FakeAri(entity_id=OTHER_ID) as ari:
            add_server(cli, "pbx", ari)
            running = asyncio.create_task(serve(engine, world.settings.replace(fastagi_port=0), stop))
            try:
                await until(identified(engine, world.settings, "pbx", OTHER_ID), "the entity id")
                ari.play(playlist)
                await until(settled(engine, 1), "the call")
            finally:
                stop.set()
                await asyncio.wait_for(running, 10)

    asyncio.run(asyncio.wait_for(main(), 60))
    with engine.begin() as conn:
        assert conn.execute(select(Cdr.server)).scalars().all() == [OTHER_ID]


def test_a_call_seen_by_two_listeners_is_settled_once(cli, engine, world, not_billed):
    """The same events reach two listeners (two names for one Asterisk, or two `serve`s): one charge."""
    session, max_ms = authorize(engine, world, "2002")
    playlist = call_frames("2002", session, max_ms)
    (a_marker, a_end), (b_marker, b_end) = marker(), marker()

    async def main():
        stop = asyncio.Event()
        async with FakeAri() as a, FakeAri() as b:
            add_server(cli, "pbx", a)
            add_server(cli, "pbx-again", b)
            a.play(playlist + a_end)
            b.play(playlist + b_end)
            running = asyncio.create_task(serve(engine, world.settings.replace(fastagi_port=0), stop))
            try:
                # each listener logs its marker once it has settled the call (one of the two a no-op)
                await until(lambda: {a_marker, b_marker} <= not_billed.sessions, "both listeners' settlements")
            finally:
                stop.set()
                await asyncio.wait_for(running, 10)

    asyncio.run(asyncio.wait_for(main(), 60))
    with engine.begin() as conn:
        assert conn.execute(select(LedgerEntry.amount).where(LedgerEntry.kind == "call")).scalars().all() == [-8_334]
        assert len(conn.execute(select(Cdr.id)).all()) == 1


def test_listeners_follow_the_servers_table_and_the_setting(cli, engine, settings):
    async def main():
        async with FakeAri() as a, FakeAri() as b:
            with_default = settings.replace(ari_url=a.url, ari_user="tester", ari_password="tester")
            add_server(cli, "pbx-b", b)
            listeners = Listeners(engine, with_default)
            await listeners.refresh()
            assert sorted(s.name for s in listeners.running) == ["default", "pbx-b"]
            _, b_task = next(v for s, v in listeners.running.items() if s.name == "pbx-b")
            cli("servers", "remove", "pbx-b")
            await listeners.refresh()
            assert [s.name for s in listeners.running] == ["default"]
            await asyncio.gather(b_task, return_exceptions=True)
            assert b_task.cancelled()
            await listeners.stop()

    asyncio.run(asyncio.wait_for(main(), 30))


def test_a_changed_asterisk_is_recorded_once_and_audited(cli, engine):
    asterisk_id = "02:fc:00:00:00:09"
    cli("servers", "add", "pbx", "--ari-url", "http://127.0.0.1:8088", "--ari-user", "u", "--ari-password", "p")
    assert servers.record_asterisk_id(engine, "pbx", ENTITY_ID)
    assert not servers.record_asterisk_id(engine, "pbx", ENTITY_ID)
    assert servers.record_asterisk_id(engine, "pbx", asterisk_id)
    assert not servers.record_asterisk_id(engine, "default", asterisk_id)  # the setting has no row
    changes = [e for e in json.loads(cli("audit", "list", "--json").stdout) if e["action"] == "server.asterisk-id"]
    assert [c["detail"] for c in changes] == [
        {"asterisk_id": ENTITY_ID, "before": None},
        {"asterisk_id": asterisk_id, "before": ENTITY_ID},
    ]
