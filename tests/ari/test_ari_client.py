"""The real client and listener against the fake ARI over real TCP (no timing assertions: a guard only)."""

import asyncio
import json
import logging
import socket
from datetime import timedelta

import pytest

from asteriskbill.ari.client import AriClient, AriError, Mark
from asteriskbill.ari.events import parse_event
from asteriskbill.ari.listener import call_reports, hang_up_overdue
from asteriskbill.ari.reports import EVENT_GAP, IncompleteCall
from asteriskbill.ari.tracker import CallTracker
from asteriskbill.settings import Settings
from tests.helpers.captures import CALLS, all_frames, check, expected, frames, jumble
from tests.helpers.fake_ari import ENTITY_ID, VERSION, FakeAri

EXPECTED = expected()
GUARD = 60  # seconds: a broken test fails instead of hanging; never an assertion about speed


def run(coro):
    return asyncio.run(asyncio.wait_for(coro, GUARD))


def client_for(fake: FakeAri, password: str = "tester", **options) -> AriClient:
    return AriClient(fake.url, "tester", password, "asteriskbill", min_delay=0.01, **options)


async def collect(client: AriClient, count: int, tracker: CallTracker | None = None) -> list:
    reports = []
    async for report in call_reports(client, tracker or CallTracker(), idle_flush=0.05):
        reports.append(report)
        if len(reports) == count:
            return reports
    return None


def by_session(reports) -> dict:
    assert len({r.session for r in reports}) == len(reports)
    return {r.session: r for r in reports}


def split_at_answer(call):
    frame_list = frames(call)
    answer = next(
        i for i, f in enumerate(frame_list) if '"type":"Dial"' in f and '"dialstatus":"ANSWER"' in f and '"caller"' in f
    )
    return frame_list[: answer + 1], frame_list[answer + 1 :]


class Stop(Exception):
    pass


def stopping_sleep(delays: list, after: int):
    async def sleep(seconds):
        delays.append(seconds)
        if len(delays) == after:
            raise Stop

    return sleep


def test_every_capture_through_the_client():
    async def main():
        async with FakeAri() as fake, client_for(fake) as client:
            fake.play(all_frames())
            reports = await collect(client, 8)
            assert fake.upgrades == [101]
            return reports

    reports = run(main())
    for call, report in zip(CALLS, reports, strict=True):
        check(call, report)


@pytest.mark.parametrize("seed", range(3))
def test_duplicated_and_shuffled_frames_over_tcp(seed):
    async def main():
        async with FakeAri() as fake, client_for(fake) as client:
            fake.play(jumble(all_frames() * 2, seed))
            return by_session(await collect(client, 8))

    reports = run(main())
    for call in CALLS:
        check(call, reports[EXPECTED[call].session])


def test_garbage_frames_are_logged_and_skipped(caplog):
    async def main():
        async with FakeAri() as fake, client_for(fake) as client:
            fake.play(["garbage", "{}", '{"type":"Dial","timestamp":"2026-11-23T21:05:01.630+0000"}'])
            fake.play(frames("2001"))
            return await collect(client, 1)

    (report,) = run(main())
    check("2001", report)
    warnings = [r.getMessage() for r in caplog.records if r.name == "asteriskbill.ari" and r.levelname == "WARNING"]
    assert len(warnings) == 3 and all("ignored an ARI frame" in w for w in warnings)


def test_reconnects_after_the_server_drops_the_socket(caplog):
    caplog.set_level(logging.INFO, logger="asteriskbill.ari")

    async def main():
        async with FakeAri() as fake, client_for(fake) as client:
            fake.play(f for call in CALLS[:4] for f in frames(call))
            fake.drop()
            fake.play(f for call in CALLS[4:] for f in frames(call))
            reports = await collect(client, 8)
            assert fake.upgrades == [101, 101]
            return reports

    reports = run(main())
    for call, report in zip(CALLS, reports, strict=True):
        check(call, report)
    messages = [r.getMessage() for r in caplog.records if r.name == "asteriskbill.ari"]
    assert sum("connected" in m for m in messages) == 2
    assert any("event socket closed" in m and "reconnecting in" in m for m in messages)


def test_a_call_up_during_a_reconnection_goes_to_recovery():
    before, after = split_at_answer("2001")

    async def main():
        async with FakeAri() as fake, client_for(fake) as client:
            fake.play(before)
            fake.drop()
            fake.play(after + frames("2002"))
            return await collect(client, 2)

    gap, good = run(main())
    assert isinstance(gap, IncompleteCall)
    assert (gap.session, gap.reason, gap.asterisk_answered_ms) == (EXPECTED["2001"].session, EVENT_GAP, 3506)
    check("2002", good)


def test_a_call_that_ended_while_disconnected_is_found_by_get_channels():
    before, after = split_at_answer("2007")

    async def main():
        async with FakeAri() as fake, client_for(fake) as client:
            fake.play(before)
            fake.drop(lost=after)
            fake.play(frames("2003"))
            return await collect(client, 2)

    lost, busy = run(main())
    assert (lost.session, lost.reason, lost.ended_at) == (EXPECTED["2007"].session, EVENT_GAP, None)
    check("2003", busy)


def test_wrong_credentials_say_so_and_retry_slowly(caplog):
    delays = []

    async def main():
        async with FakeAri() as fake:
            client = client_for(fake, password="wrong", max_delay=7.0, sleep=stopping_sleep(delays, 3))
            with pytest.raises(Stop):
                await collect(client, 1)
            await client.aclose()
            return fake.upgrades

    assert run(main()) == [401, 401, 401]  # one attempt per wait: no busy loop
    assert delays == [7.0, 7.0, 7.0]  # straight to the slowest pace
    errors = [r.getMessage() for r in caplog.records if r.levelname == "ERROR"]
    assert len(errors) == 3
    assert "401 Unauthorized" in errors[0] and "'tester'" in errors[0] and "ari_password" in errors[0]


def test_backoff_doubles_up_to_the_cap_when_nobody_listens(caplog):
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    delays = []
    client = AriClient(
        f"http://127.0.0.1:{port}",
        "tester",
        "tester",
        "asteriskbill",
        min_delay=0.5,
        max_delay=4.0,
        sleep=stopping_sleep(delays, 6),
    )

    async def main():
        with pytest.raises(Stop):
            async for _ in client.frames():
                raise AssertionError("nothing listens there")
        await client.aclose()

    run(main())
    assert delays == [0.5, 1.0, 2.0, 4.0, 4.0, 4.0]
    assert sum("cannot reach ARI" in r.getMessage() for r in caplog.records) == 6


def test_idle_marks_and_events_url():
    async def main():
        async with FakeAri() as fake, client_for(fake) as client:
            fake.play(frames("2003")[:2])
            seen = []
            async for frame in client.frames(idle_after=0.01):
                seen.append(frame)
                if frame is Mark.IDLE:
                    return seen, client.events_url, fake.port
        return None

    seen, url, port = run(main())
    assert seen[0] is Mark.CONNECTED and seen[1:3] == frames("2003")[:2] and seen[3] is Mark.IDLE
    assert url == f"ws://127.0.0.1:{port}/ari/events?app=asteriskbill&subscribeAll=true"
    assert "tester" not in url  # credentials go in the Authorization header only


def test_rest_calls():
    before, _ = split_at_answer("2002")
    caller = EXPECTED["2002"].uniqueid

    async def main():
        async with FakeAri() as fake, client_for(fake) as client:
            assert await client.channel_ids() == []
            fake.play(before)
            async for frame in client.frames():
                if frame == before[-1]:
                    break
            live = await client.channel_ids()
            info = await client.asterisk_info()
            deleted = await client.hangup(caller, reason_code=16)
            again = await client.hangup(caller)
            unknown = await client.hangup("no-such-channel")
            return live, info, deleted, again, unknown, fake.deleted, await client.channel_ids()

    live, info, deleted, again, unknown, fake_deleted, after = run(main())
    assert sorted(live) == ["1795467910.296", "1795467910.297", "1795467910.298", "1795467910.299"]
    assert (info.entity_id, info.version) == (ENTITY_ID, VERSION)
    assert (deleted, again, unknown) == (True, False, False)
    assert fake_deleted == [caller] and caller not in after


def test_rest_with_wrong_credentials_raises_a_clear_error():
    async def main():
        async with FakeAri() as fake, client_for(fake, password="wrong") as client:
            with pytest.raises(AriError, match=r"401.*ari_user/ari_password") as error:
                await client.channel_ids()
            return error.value.status

    assert run(main()) == 401


def test_the_safety_net_hangs_up_an_overdue_call():
    before, _ = split_at_answer("2002")

    async def main():
        async with FakeAri() as fake, client_for(fake) as client:
            tracker = CallTracker()
            fake.play(before)
            async for frame in client.frames():
                if frame is not Mark.CONNECTED:
                    tracker.feed(parse_event(frame))
                if frame == before[-1]:
                    break
            (call,) = tracker.in_progress()
            assert await hang_up_overdue(client, tracker, call.deadline(1000), 1000) == []
            late = call.deadline(1000) + timedelta(milliseconds=1)
            assert await hang_up_overdue(client, tracker, late, 1000) == [call]
            assert await hang_up_overdue(client, tracker, late, 1000) == [call]  # gone already: not an error
            return fake.deleted

    assert run(main()) == [EXPECTED["2002"].uniqueid]


def test_settings_build_the_client():
    settings = Settings(ari_url="http://10.0.0.5:8088/", ari_user="bill", ari_password="s3cret", ari_app="billing")
    client = AriClient.from_settings(settings)
    assert client.events_url == "ws://10.0.0.5:8088/ari/events?app=billing&subscribeAll=true"
    asyncio.run(client.aclose())
    with pytest.raises(ValueError, match="ari_url"):
        AriClient("127.0.0.1:8088", "u", "p", "a")


async def _raw(port: int, request: str, headers_only: bool = False) -> bytes:
    """The raw bytes answered (until the server closes, or only the head of a 101 that stays open)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(request.replace("\n", "\r\n").encode())
    await writer.drain()
    data = await (reader.readuntil(b"\r\n\r\n") if headers_only else reader.read())
    writer.close()
    return data


UPGRADE = (
    "GET /ari/events?{query} HTTP/1.1\nHost: 127.0.0.1\nUpgrade: websocket\nConnection: Upgrade\n"
    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\nSec-WebSocket-Version: 13\n\n"
)


@pytest.mark.parametrize(
    "query",
    [
        "app=asteriskbill&subscribeAll=true",
        "app=asteriskbill&subscribeAll=true&api_key=tester:wrong",
        "app=asteriskbill&subscribeAll=true&api_key=nobody:tester",
    ],
)
def test_fake_refuses_upgrades_like_asterisk(query):
    async def main():
        async with FakeAri() as fake:
            return await _raw(fake.port, UPGRADE.format(query=query))

    head, _, body = run(main()).partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 401 Unauthorized\r\n")
    assert b'WWW-Authenticate: Basic realm="Asterisk REST Interface"' in head and b"101" not in head
    assert json.loads(body) == {"message": "Authentication required"}


def test_fake_answers_like_asterisk():
    async def main():
        async with FakeAri() as fake:
            return (
                await _raw(fake.port, UPGRADE.format(query="subscribeAll=true&api_key=tester:tester")),
                await _raw(fake.port, UPGRADE.format(query="app=asteriskbill&api_key=tester:tester"), True),
                await _raw(
                    fake.port, "DELETE /ari/channels/no-such-channel?api_key=tester:tester HTTP/1.1\nHost: x\n\n"
                ),
            )

    no_app, upgrade, missing = run(main())
    assert no_app.startswith(b"HTTP/1.1 400 Bad Request\r\n") and b"missing param: [app]" in no_app
    assert upgrade.startswith(b"HTTP/1.1 101 Switching Protocols\r\n") and b"Date:" not in upgrade
    assert missing.startswith(b"HTTP/1.1 404 Not Found\r\n")
    assert missing.endswith(b'\r\n\r\n{"message":"Channel not found"}')
