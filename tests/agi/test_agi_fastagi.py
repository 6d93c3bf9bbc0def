"""The FastAGI server and the Channel API driven by the fake Asterisk over real TCP."""

from __future__ import annotations

import asyncio
import contextlib
import logging

import pytest

from asteriskbill.agi.channel import Channel
from asteriskbill.agi.peer import Call, call_fastagi
from asteriskbill.agi.protocol import CallerHangup, ConnectionClosed, DeadChannel, Env, PromptMissing
from asteriskbill.agi.server import start_server
from asteriskbill.errors import UserError
from tests.helpers.waiting import until

ENV = (
    b"agi_network: yes\nagi_network_script: card\nagi_request: agi://127.0.0.1/card\n"
    b"agi_channel: PJSIP/x-1\nagi_accountcode: \n\n"
)


def run(coro):
    return asyncio.run(asyncio.wait_for(coro, 60))


async def session(apps, *calls: Call, **options):
    """Start a server on an ephemeral port, place the calls, return their outcomes."""
    async with await start_server(apps, port=0, **options) as server:
        return await asyncio.gather(*(call_fastagi(call, *server.address) for call in calls))


class Released(list):
    """Abort hooks append here: what a reservation release would do."""

    def hook(self, name: str):
        return lambda: self.append(name)


async def card(channel: Channel, env: Env, released: Released) -> None:
    """A miniature card IVR: the shape the real one has."""
    await channel.answer()
    try:
        number = await channel.get_data("enter-card", 5000, 16)
        channel.on_abort(released.hook(f"reservation for {number.digits}"))
        pin = await channel.get_data("enter-pin", 5000, 4)
        await channel.stream_file("you-have", "")
        await channel.set_variable("BILL_NUMBER", number.digits)
        await channel.set_variable("BILL_PIN", pin.digits + ("?" if pin.timed_out else ""))
        await channel.set_variable("BILL_STATUS", "OK")
    except CallerHangup:
        await channel.set_variable("BILL_STATUS", "HANGUP")
        raise


def card_app(released: Released):
    return {"card": lambda channel, env: card(channel, env, released)}


def test_a_whole_call_sets_the_variables_and_keeps_the_reservation(caplog):
    caplog.set_level(logging.INFO, "asteriskbill.agi")
    released = Released()
    [outcome] = run(session(card_app(released), Call(keys=["4111#", "12"])))
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert outcome.agistatus == "SUCCESS" and released == []
    assert outcome.variables == {"BILL_NUMBER": "4111", "BILL_PIN": "12?", "BILL_STATUS": "OK"}
    assert outcome.commands[:3] == ["ANSWER", "GET DATA enter-card 5000 16", "GET DATA enter-pin 5000 4"]
    assert str(outcome.lines[-1]) == '< "HANGUP\\n"'  # Asterisk's trailing HANGUP after our EOF: tolerated


def test_hangup_at_a_prompt_releases_and_still_sets_the_status():
    released = Released()
    [outcome] = run(session(card_app(released), Call(keys=["4111#"], hangup_at_prompt="enter-pin")))
    assert outcome.agistatus == "HANGUP" and outcome.hangup_cause == 16
    assert released == ["reservation for 4111"]
    assert outcome.variables == {"BILL_STATUS": "HANGUP"}
    # -1 to the prompt, the probe gets 511, the HANGUP line arrives before or after it, then SET VARIABLE works
    assert outcome.commands[2:] == ["GET DATA enter-pin 5000 4", "CHANNEL STATUS", "SET VARIABLE BILL_STATUS HANGUP"]


def test_hangup_while_idle_is_seen_by_the_next_media_command():
    seen = []

    async def app(channel: Channel, env: Env) -> None:
        await channel.answer()
        await channel.set_variable("STEP", "1")  # the caller hangs up here: HANGUP line, then 200
        await channel.hangup_event.wait()
        seen.append(channel.hung_up)
        with pytest.raises(DeadChannel):
            await channel.stream_file("beep")
        await channel.set_variable("BILL_STATUS", "HANGUP")

    [outcome] = run(session({"card": app}, Call(hangup_at_command=2)))
    assert seen == [True] and outcome.agistatus == "HANGUP"
    assert outcome.variables == {"STEP": "1", "BILL_STATUS": "HANGUP"}
    assert [str(line) for line in outcome.lines if line.direction == "<"][-5:-2] == [
        '< "HANGUP\\n"',
        '< "200 result=1\\n"',
        '< "511 Command Not Permitted on a dead channel or intercept routine\\n"',
    ]


def test_missing_prompt_is_told_from_a_hangup():
    async def app(channel: Channel, env: Env) -> None:
        await channel.answer()
        with pytest.raises(PromptMissing):
            await channel.stream_file("welcome")
        await channel.set_variable("DIGITS", (await channel.get_data("enter-card", 1000, 4)).digits)

    [outcome] = run(session({"card": app}, Call(keys=["7#"], missing_prompts={"welcome"})))
    assert outcome.commands == [
        "ANSWER",
        'STREAM FILE welcome ""',
        "CHANNEL STATUS",
        "GET DATA enter-card 1000 4",
        "SET VARIABLE DIGITS 7",
    ]
    assert outcome.agistatus == "FAILURE"  # as Asterisk reports any session that hit a missing file


def test_an_app_exception_is_logged_and_leaves_bill_status_error(caplog):
    released = Released()

    async def app(channel: Channel, env: Env) -> None:
        channel.on_abort(released.hook("reservation"))
        await channel.answer()
        raise RuntimeError("database is gone")

    caplog.set_level(logging.INFO, "asteriskbill.agi")
    [outcome] = run(session({"card": app}, Call()))
    assert outcome.variables == {"BILL_STATUS": "ERROR"} and released == ["reservation"]
    [record] = [r for r in caplog.records if r.exc_info]
    assert "failed" in record.getMessage() and "database is gone" in str(record.exc_info[1])


def test_unknown_script_gets_verbose_and_status(caplog):
    caplog.set_level(logging.WARNING, "asteriskbill.agi")
    [outcome] = run(session(card_app(Released()), Call(script="nope", query="a=1")))
    assert outcome.commands == [
        "VERBOSE \"asteriskbill: no FastAGI application 'nope'; have: card\" 1",
        "SET VARIABLE BILL_STATUS ERROR",
    ]
    assert "unknown application 'nope'" in caplog.text


def test_dispatch_by_script_path_with_query_and_arguments():
    got = []

    async def ext(channel: Channel, env: Env) -> None:
        got.append((env.script, env.query, env.args, env.callerid))

    run(session({"ext": ext}, Call(script="ext", query="src=x&b=2", args=("0044207", "201"))))
    assert got == [("ext", {"src": "x", "b": "2"}, ("0044207", "201"), "5551000")]


def test_connection_lost_mid_command_runs_the_abort_hooks():
    released, failures = Released(), []

    async def app(channel: Channel, env: Env) -> None:
        channel.on_abort(released.hook("reservation"))
        try:
            await channel.answer()
        except ConnectionClosed as exc:
            failures.append(exc)
            raise

    async def scenario():
        async with await start_server({"card": app}, port=0) as server:
            reader, writer = await asyncio.open_connection(*server.address)
            writer.write(ENV)
            assert await reader.readline() == b"ANSWER\n"
            writer.close()  # Asterisk goes away without a reply
            await until(lambda: released, "the abort hooks to run", seconds=10, interval=0.01)

    run(scenario())
    assert released == ["reservation"] and len(failures) == 1


@pytest.mark.parametrize("data", [b"GET / HTTP/1.1\r\nHost: x\r\n\r\n", b"agi_network: yes\n\x00\xff garbage\n"])
def test_garbage_is_closed_without_running_an_app(data, caplog):
    ran = []
    caplog.set_level(logging.WARNING, "asteriskbill.agi")

    async def scenario():
        async with await start_server({"card": lambda c, e: ran.append(e)}, port=0) as server:
            reader, writer = await asyncio.open_connection(*server.address)
            writer.write(data)
            assert await reader.read() == b""
            writer.close()

    run(scenario())
    assert ran == [] and "dropped" in caplog.text


def test_a_silent_or_slow_peer_is_closed_after_the_idle_timeout(caplog):
    caplog.set_level(logging.WARNING, "asteriskbill.agi")

    async def scenario():
        async with await start_server({}, port=0, idle_timeout=0.2) as server:
            silent = await asyncio.open_connection(*server.address)
            slow = await asyncio.open_connection(*server.address)
            slow[1].write(b"agi_network: yes\nagi_netw")
            assert await silent[0].read() == b"" and await slow[0].read() == b""
            assert not server.sessions  # nothing is held for them any more
            for _, writer in (silent, slow):
                writer.close()

    run(scenario())
    assert caplog.text.count("no complete environment within 0.2 s") == 2


def test_hosts_outside_the_allow_list_are_closed_at_once(caplog):
    caplog.set_level(logging.WARNING, "asteriskbill.agi")
    ran = []

    async def scenario():
        async with await start_server(
            {"card": lambda c, e: ran.append(e)}, port=0, allow=["10.1.2.3", "192.168.0.0/16"]
        ) as server:
            reader, writer = await asyncio.open_connection(*server.address)
            writer.write(ENV)
            with contextlib.suppress(ConnectionResetError):
                assert await reader.read() == b""
            writer.close()
            [outcome] = await asyncio.gather(call_fastagi(Call(), *server.address))
            return outcome

    outcome = run(scenario())
    assert ran == [] and outcome.commands == [] and "refused: not in fastagi_allow" in caplog.text


def test_loopback_peers_are_allowed_when_listed():
    [outcome] = run(session(card_app(Released()), Call(keys=["1#", "2#"]), allow=["127.0.0.1"]))
    assert outcome.variables["BILL_STATUS"] == "OK"


@pytest.mark.parametrize("host, allow", [("0.0.0.0", ()), ("192.0.2.10", ()), ("asterisk.example", ())])
def test_a_non_loopback_address_needs_an_allow_list(host, allow):
    with pytest.raises(UserError, match="fastagi_allow"):
        run(start_server({}, host, 0, allow=allow))


def test_a_bad_allow_entry_is_one_clear_error():
    with pytest.raises(UserError, match=r"'asterisk\.example' is not an IP address"):
        run(start_server({}, "127.0.0.1", 0, allow=["asterisk.example"]))


def test_closing_the_server_cancels_running_calls_and_releases():
    released = Released()

    async def scenario():
        waiting = asyncio.Event()

        async def app(channel: Channel, env: Env) -> None:
            channel.on_abort(released.hook("reservation"))
            await channel.answer()
            waiting.set()
            await asyncio.Event().wait()  # stuck (e.g. a slow database)

        server = await start_server({"card": app}, port=0)
        call = asyncio.ensure_future(call_fastagi(Call(), *server.address))
        await waiting.wait()
        await server.close()
        return await call

    outcome = run(scenario())
    assert released == ["reservation"] and outcome.commands == ["ANSWER"]


def test_200_concurrent_channels():
    async def app(channel: Channel, env: Env) -> None:
        await channel.answer()
        digits = await channel.get_data("enter-card", 5000, 8)
        key = await channel.stream_file("menu", "0123456789")
        await channel.set_variable("BILL_STATUS", "OK")
        await channel.set_variable("SEEN", f"{env.uniqueid}/{digits.digits}/{key}")

    calls = [Call(keys=[f"{n}#", str(n % 10)], uniqueid=f"1.{n}") for n in range(200)]
    outcomes = run(session({"card": app}, *calls))
    assert [o.variables.get("SEEN") for o in outcomes] == [f"1.{n}/{n}/{n % 10}" for n in range(200)]
    assert {o.agistatus for o in outcomes} == {"SUCCESS"}


def test_a_port_check_is_not_a_warning(caplog):
    """`asteriskbill status` connects and closes: logged at INFO, so serve's log shows real faults only."""
    caplog.set_level(logging.INFO, "asteriskbill.agi")

    async def scenario():
        async with await start_server({"card": lambda c, e: None}, port=0) as server:
            _, writer = await asyncio.open_connection(*server.address)
            writer.close()
            await writer.wait_closed()
            await until(lambda: "dropped" in caplog.text, "the server to log the dropped connection", 10, 0.01)

    run(scenario())
    [record] = [r for r in caplog.records if "dropped" in r.getMessage()]
    assert record.levelno == logging.INFO
