"""The AMI client against the fake AMI over real TCP; the fake itself checked against the real transcripts."""

import asyncio
import logging
import re
import socket

import pytest

from asteriskbill.ami.client import AmiClient, AmiDenied, AmiError, NoSuchChannel
from asteriskbill.settings import SettingsError
from tests.helpers.fake_ami import READONLY, READONLY_SECRET, SECRET, USER, FakeAmi, transcripts
from tests.helpers.waiting import until

GUARD = 60  # seconds: a broken test fails instead of hanging; never an assertion about speed
CALLER, UNIQUEID = "Local/s@caller-00000004;2", "1796058497.9"  # the call of getvar.log
GONE = "Local/s@caller-ffffffff;2"
LIMIT = "TIMEOUT(absolute)"


def run(test):
    """Run ``test(fake)`` against a fake AMI with the recorded call up; nothing unexpected may reach it."""

    async def main():
        async with FakeAmi() as fake:
            fake.call(CALLER, UNIQUEID)
            result = await test(fake)
            assert fake.unexpected == []
            return result

    return asyncio.run(asyncio.wait_for(main(), GUARD))


def client(fake: FakeAmi, user: str = USER, secret: str = SECRET, timeout: float = 5.0) -> AmiClient:
    return AmiClient(fake.url, user, secret, timeout=timeout)


@pytest.mark.parametrize("transcript", transcripts(), ids=lambda t: t.name)
def test_the_fake_answers_each_recorded_request_as_asterisk_did(transcript):
    """The recorded requests, sent as raw bytes, get the recorded bytes back (but for the times in them: Ping's
    Timestamp, the seconds a TIMEOUT(absolute) has left); the fake closes where Asterisk closed."""

    async def replay(fake: FakeAmi) -> tuple[str, str]:
        fake.hang_up(CALLER)  # the transcript's notes say which call is up
        reader, writer = await asyncio.open_connection("127.0.0.1", fake.port)
        expected, received = "", b""
        for _, direction, text in transcript.entries:
            if direction == "<":
                expected += text
                continue
            received += await asyncio.wait_for(reader.readexactly(len(expected.encode()) - len(received)), 5)
            if direction == ">":
                writer.write(text.encode())
            elif up := re.match(r"a call is up: caller leg (\S+) \(uniqueid (\S+)\)", text):
                fake.call(up[1], up[2])
            elif gone := re.match(r"Asterisk's Hangup event for (\S+):", text):
                fake.hang_up(gone[1])
            elif text == "EOF from client":
                writer.write_eof()
            elif text == "EOF from Asterisk":
                assert await asyncio.wait_for(reader.read(), 5) == b""
        writer.close()
        return _times(expected), _times(received.decode())

    expected, received = run(replay)
    assert received == expected


def _times(text: str) -> str:
    text = re.sub(r"\r\nTimestamp: \d+\.\d{6}\r\n", "\r\nTimestamp: <now>\r\n", text)
    return re.sub(r"\r\nValue: \d+\.\d{3}\r\n", "\r\nValue: <seconds left>\r\n", text)


def test_login_ping_logoff():
    async def test(fake):
        async with client(fake) as ami:
            await ami.ping()
            assert ami.connected and ami.banner == "Asterisk Call Manager/13.0.0"
        assert not ami.connected
        return [{k: v for k, v in action.items() if k != "ActionID"} for action in fake.actions]

    assert run(test) == [
        {"Action": "Login", "Username": USER, "Secret": SECRET, "Events": "off"},
        {"Action": "Ping"},
        {"Action": "Logoff"},
    ]


def test_setvar_moves_the_hard_limit_until_the_call_is_gone():
    """Set, set again (the deadline is replaced), by name or by uniqueid; the call gone, NoSuchChannel."""

    async def test(fake):
        async with client(fake) as ami:
            await ami.setvar(CALLER, LIMIT, "60")
            assert 59 < float(await ami.getvar(CALLER, LIMIT)) <= 60
            await ami.setvar(UNIQUEID, LIMIT, "0.3")
            assert 0 < float(await ami.getvar(CALLER, LIMIT)) <= 0.3
            await until(lambda: CALLER not in fake.channels, "the hard limit to end the call")
            with pytest.raises(NoSuchChannel) as gone:
                await ami.setvar(CALLER, LIMIT, "5")
            await ami.ping()  # an error answer leaves the connection good
            assert fake.connections == 1
            assert str(gone.value) == f"AMI at 127.0.0.1:{fake.port}: no channel {CALLER!r} (the call has ended)"

    run(test)


def test_getvar():
    async def test(fake):
        async with client(fake) as ami:
            assert await ami.getvar(UNIQUEID, "CHANNEL(name)") == CALLER
            assert await ami.getvar(CALLER, "BILL_SESSION") == ""
            await ami.setvar(CALLER, "BILL_SESSION", "6f1c")
            assert await ami.getvar(UNIQUEID, "BILL_SESSION") == "6f1c"
            with pytest.raises(NoSuchChannel):
                await ami.getvar(GONE, "BILL_SESSION")

    run(test)


def test_answers_are_matched_by_action_id():
    """Three actions in flight, answered last first: each gets its own answer."""

    async def test(fake):
        async with client(fake) as ami:
            await ami.setvar(CALLER, "A", "first")
            await ami.setvar(CALLER, "B", "second")
            fake.reorder = 3
            return await asyncio.gather(
                ami.getvar(CALLER, "A"), ami.getvar(CALLER, "B"), ami.getvar(UNIQUEID, "CHANNEL(name)")
            )

    assert run(test) == ["first", "second", CALLER]


def test_a_refused_login_is_one_line_without_the_secret():
    async def test(fake):
        wrong = "wrong-Secr3t"
        with pytest.raises(AmiDenied) as refused:
            await client(fake, secret=wrong).ping()
        message = str(refused.value)
        assert wrong not in message and "\n" not in message
        assert message == (
            f"AMI at 127.0.0.1:{fake.port} refused ami_user 'billing' (Authentication failed): "
            "check the user, its secret and permit= in manager.conf"
        )

    run(test)


def test_a_user_without_write_call_is_denied():
    async def test(fake):
        async with client(fake, READONLY, READONLY_SECRET) as ami:
            denied = re.escape("ami_user 'readonly' may not run Setvar (manager.conf: write = call)")
            with pytest.raises(AmiDenied, match=denied):
                await ami.setvar(CALLER, LIMIT, "5")
            await ami.ping()

    run(test)


def test_every_answer_is_awaited_at_most_the_timeout_then_the_next_action_reconnects():
    async def test(fake):
        async with client(fake, timeout=0.2) as ami:
            await ami.ping()
            fake.mute = True
            with pytest.raises(AmiError, match=r"^AMI at 127.0.0.1:\d+: no answer to Setvar within 0.2 s$"):
                await ami.setvar(CALLER, LIMIT, "5")
            assert not ami.connected  # a connection that stopped answering is not used again
            with pytest.raises(AmiError, match=r"no answer to Login within 0\.2 s"):
                await ami.ping()
            fake.mute = False
            await ami.setvar(CALLER, LIMIT, "5")
            assert fake.connections == 3

    run(test)


def test_a_lost_connection_fails_what_waits_and_the_next_action_reconnects(caplog):
    caplog.set_level(logging.INFO, logger="asteriskbill.ami")

    async def test(fake):
        async with client(fake) as ami:
            await ami.ping()
            fake.mute = True
            waiting = asyncio.create_task(ami.getvar(CALLER, LIMIT))
            await until(lambda: len(fake.actions) == 3, "the Getvar to reach Asterisk")
            fake.drop()  # Asterisk restarts
            with pytest.raises(AmiError, match=r"^AMI at 127.0.0.1:\d+: Asterisk closed the connection$"):
                await waiting
            fake.mute = False
            await ami.setvar(CALLER, LIMIT, "5")
            assert fake.connections == 2

    run(test)
    assert "Asterisk closed the connection; the next action reconnects" in caplog.text


def test_unreachable_or_not_ami():
    async def test(fake):
        with socket.socket() as held:  # bound, never listening: refuses connections
            held.bind(("127.0.0.1", 0))
            closed = held.getsockname()[1]
            with pytest.raises(AmiError, match=f"^AMI at 127.0.0.1:{closed}: .*[Cc]onnect.*refused"):
                await AmiClient(f"tcp://127.0.0.1:{closed}", USER, SECRET).ping()
        fake.banner = ""  # a service that says nothing
        with pytest.raises(AmiError, match=r"no answer to the connection within 0\.2 s$"):
            await client(fake, timeout=0.2).ping()
        fake.banner = "HTTP/1.1 400 Bad Request\r\n"
        with pytest.raises(
            AmiError, match=re.escape("does not answer like Asterisk's manager interface: it said b'HTTP")
        ):
            await client(fake).ping()

    run(test)


def test_the_secret_is_never_logged_nor_shown(caplog):
    caplog.set_level(logging.DEBUG)

    async def test(fake):
        ami = client(fake)
        assert SECRET not in repr(ami)
        await ami.setvar(CALLER, LIMIT, "5")
        fake.drop()
        await until(lambda: not ami.connected, "the client to see the connection lost")
        await ami.ping()
        await ami.aclose()
        with pytest.raises(AmiDenied):
            await client(fake, secret=SECRET + "x").ping()

    run(test)
    assert "AMI connected" in caplog.text and SECRET not in caplog.text


def test_bad_requests_are_refused_before_anything_is_sent():
    async def test(fake):
        async with client(fake) as ami:
            with pytest.raises(ValueError, match="a line break in Value"):
                await ami.setvar(CALLER, LIMIT, "5\r\nAction: Originate")
            with pytest.raises(ValueError, match="needs a channel"):  # Asterisk would set a global variable
                await ami.setvar("", LIMIT, "5")
            await ami.ping()
        return [action["Action"] for action in fake.actions]

    assert run(test) == ["Login", "Ping", "Logoff"]


@pytest.mark.parametrize(
    "url, problem",
    [
        ("127.0.0.1:5038", "not an AMI address like tcp://127.0.0.1:5038"),
        ("http://127.0.0.1:8088", "not an AMI address"),
        ("tcp://127.0.0.1:50x8", "not an AMI address"),
        ("tcp://127.0.0.1:5038/manager", "not an AMI address"),
        ("tcp://admin:pw@127.0.0.1:5038", "holds credentials"),
    ],
)
def test_an_address_that_is_not_tcp_host_port(url, problem):
    with pytest.raises(SettingsError) as refused:
        AmiClient(url, USER, SECRET)
    assert problem in str(refused.value) and "pw" not in str(refused.value)
