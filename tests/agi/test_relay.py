"""agi-bin as a relay to the running FastAGI server (agi/relay.py), started as Asterisk starts it (real pipes,
SIGHUP) and talking to a real server over real TCP: the same answers as the call run in-process, Asterisk's
SIGHUP as FastAGI's HANGUP line, the in-process fallback when no server answers, the standard library only."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

import pytest
from sqlalchemy import select

from asteriskbill.agi import relay
from asteriskbill.agi.channel import Channel
from asteriskbill.agi.peer import Call, Outcome, call_process
from asteriskbill.agi.protocol import Env, format_command
from asteriskbill.agi.server import start_server
from asteriskbill.dialplan import STATUS
from asteriskbill.services import lifecycle
from asteriskbill.store.models import Reservation
from tests.helpers import ROOT
from tests.helpers.serve import free_port, serving
from tests.helpers.waiting import wait_for
from tests.helpers.world import make_world

UK = "00442071234567"
SCRIPT = [sys.executable, "-m", "asteriskbill.agi.script"]  # the call in this process, never relayed


@pytest.fixture
def world(cli, tmp_path):
    return make_world(cli, tmp_path)


def environ(tmp_path: Path, port: int, db: str = "", **more: str) -> dict[str, str]:
    """This environment (the test's secret) with database ``db``, pointing the relay at ``port``, no config file."""
    return {
        **os.environ,
        "XDG_CONFIG_HOME": str(tmp_path / "no-config"),
        **({"ASTERISKBILL_DB": db} if db else {}),
        "ASTERISKBILL_FASTAGI_HOST": "127.0.0.1",
        "ASTERISKBILL_FASTAGI_PORT": str(port),
        **more,
    }


def agi_bin(app: str, call: Call, env: dict[str, str]) -> Outcome:
    return run(call, [str(ROOT / "agi-bin" / f"asteriskbill-{app}")], env)


def run(call: Call, argv: list[str], env: dict[str, str]) -> Outcome:
    return asyncio.run(asyncio.wait_for(call_process(call, argv, environ=env), 60))


def ext_call(**kw) -> Call:
    return Call(script="ext", args=[UK], callerid="201", **kw)


def card_call(world, **kw) -> Call:
    return Call(script="card", keys=(world.card + "#", world.pin + "#", UK + "#"), **kw)


def statuses(engine) -> list[str]:
    with engine.begin() as conn:
        return list(conn.execute(select(Reservation.status).order_by(Reservation.id)).scalars())


def answers(outcome: Outcome) -> tuple:
    """What Asterisk saw of a call, but its session id (a new one each call)."""
    session = outcome.variables.get("BILL_SESSION", "-")
    commands = [command.replace(session, "<session>") for command in outcome.commands]
    variables = {name: value for name, value in outcome.variables.items() if name != "BILL_SESSION"}
    return outcome.agistatus, outcome.exit_status, variables, commands


@pytest.mark.parametrize("app", ["ext", "card"])
def test_relayed_through_serve_the_call_gets_the_in_process_answers(cli, engine, world, tmp_path, app):
    call = (lambda: ext_call()) if app == "ext" else (lambda: card_call(world))
    alone = run(call(), [*SCRIPT, app], environ(tmp_path, free_port(), cli.db))
    assert alone.variables["BILL_STATUS"] == "OK", alone.transcript()
    lifecycle.release(engine, alone.variables["BILL_SESSION"], "compared")  # the same credit for the next one
    with serving(cli.db, tmp_path / "serve.log") as port:
        relayed = agi_bin(app, call(), environ(tmp_path, port, cli.db))
    assert relayed.stderr == b""  # no fallback: serve answered
    assert answers(relayed) == answers(alone)
    assert statuses(engine) == ["released", "open"]


def test_sighup_after_the_reservation_is_released_by_serve(cli, engine, world, tmp_path):
    with serving(cli.db, tmp_path / "serve.log") as port:
        out = agi_bin("card", card_call(world, hangup_at_prompt="minutes"), environ(tmp_path, port, cli.db))
        assert "SIGHUP sent" in [line.data for line in out.lines]
        assert (out.agistatus, out.exit_status, out.stderr) == ("HANGUP", 0, b"")
        wait_for(lambda: statuses(engine) == ["released"], "serve's abort hook to release the hold")


async def idle(channel: Channel, env: Env) -> None:
    """Learns of the hang-up only from the HANGUP line: SET VARIABLE works on a dead channel."""
    await channel.set_variable("STEP", "1")  # the caller hangs up here: SIGHUP, then the reply
    await asyncio.wait_for(channel.hangup_event.wait(), 30)
    await channel.set_variable("SEEN", f"{env.script} {env.network} {'|'.join(env.args)} {env.callerid}")


async def crash(channel: Channel, env: Env) -> None:
    raise RuntimeError("the database is gone")


def through_server(apps: dict, call: Call, tmp_path: Path, db: str = "", allow: tuple[str, ...] = ()) -> Outcome:
    """``call`` to agi-bin/asteriskbill-<call.script> relaying to a FastAGI server in this process running ``apps``."""

    async def main() -> Outcome:
        async with await start_server(apps, port=0, allow=allow) as fastagi:
            argv = [str(ROOT / "agi-bin" / f"asteriskbill-{call.script}")]
            return await call_process(call, argv, environ=environ(tmp_path, fastagi.address[1], db))

    return asyncio.run(asyncio.wait_for(main(), 60))


def test_sighup_becomes_the_fastagi_hangup_line(tmp_path):
    out = through_server({"card": idle}, Call(script="card", args=["x y"], hangup_at_command=1), tmp_path)
    assert "SIGHUP sent" in [line.data for line in out.lines]
    assert out.variables == {"STEP": "1", "SEEN": "card True x y 5551000"}
    assert (out.agistatus, out.exit_status, out.stderr) == ("HANGUP", 0, b"")


def test_a_failed_app_exits_non_zero_as_in_process(tmp_path):
    out = through_server({"card": crash}, Call(), tmp_path)
    assert out.variables == {"BILL_STATUS": "ERROR"}
    assert (out.agistatus, out.exit_status, out.stderr) == ("FAILURE", 1, b"")
    assert format_command(("SET", "VARIABLE", STATUS, "ERROR")) == relay.FAILED + b"\n"


def test_no_server_the_call_runs_in_process_after_one_line(cli, engine, world, tmp_path):
    out = agi_bin("ext", ext_call(), environ(tmp_path, free_port(), cli.db))
    assert (out.agistatus, out.exit_status, out.variables["BILL_STATUS"]) == ("SUCCESS", 0, "OK")
    [line] = out.stderr.decode().splitlines()
    assert line.startswith("asteriskbill-ext: the FastAGI server at 127.0.0.1:") and "did not answer" in line
    assert statuses(engine) == ["open"]


def test_a_server_that_drops_the_call_unanswered_leaves_it_to_this_process(cli, engine, world, tmp_path):
    # serve refuses connections from outside fastagi_allow at once: the relay has read the environment by then
    out = through_server({}, ext_call(), tmp_path, cli.db, allow=("192.0.2.1",))
    assert (out.agistatus, out.exit_status, out.variables["BILL_STATUS"]) == ("SUCCESS", 0, "OK")
    [line] = out.stderr.decode().splitlines()
    assert "closed the connection before its first command" in line
    assert statuses(engine) == ["open"]


def test_settings_it_cannot_use_leave_the_call_to_this_process(tmp_path):
    out = agi_bin("ext", ext_call(), environ(tmp_path, 0, ASTERISKBILL_FASTAGI_PORT="port"))  # no database needed
    assert out.exit_status == 1  # the in-process script names the bad setting, as before
    assert out.stderr.decode().splitlines() == [
        "asteriskbill-ext: error: setting fastagi_port='port' (from ASTERISKBILL_FASTAGI_PORT): not a whole number"
    ]


def test_the_relay_imports_the_standard_library_only(cli, world, tmp_path):
    record, script = tmp_path / "modules", tmp_path / "asteriskbill-ext"
    script.write_text(
        "import atexit, sys\n"
        f"atexit.register(lambda: open({str(record)!r}, 'w').write('\\n'.join(sorted(sys.modules))))\n"
        "from asteriskbill.agi.script import ext\n"  # what the console script asteriskbill-ext runs
        "sys.exit(ext())\n"
    )
    with serving(cli.db, tmp_path / "serve.log") as port:
        out = run(ext_call(), [sys.executable, str(script)], environ(tmp_path, port, cli.db))
    assert (out.variables["BILL_STATUS"], out.stderr) == ("OK", b"")  # relayed
    loaded = set(record.read_text().split())
    ours = {name for name in loaded if name.partition(".")[0] == "asteriskbill"}
    assert ours == {"asteriskbill", "asteriskbill.agi", "asteriskbill.agi.script", "asteriskbill.agi.relay"} | {
        "asteriskbill.setting_sources"
    }
    others = {name.partition(".")[0] for name in loaded - ours}
    startup = {"__main__", "_distutils_hack", "sitecustomize", "usercustomize"}  # the script, this virtualenv's site
    foreign = others - set(sys.stdlib_module_names) - set(sys.builtin_module_names) - startup
    assert {name for name in foreign if not name.startswith("__editable__")} == set()
