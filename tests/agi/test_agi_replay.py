"""Byte-for-byte replay of the real Asterisk captures against our program on our Channel API:
agi-bin transcripts over real pipes (subprocess + stdio transport), FastAGI ones over real TCP (our server).
The peer sends exactly the recorded '<' bytes and requires exactly the recorded '>' bytes, then EOF."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from asteriskbill.agi.channel import Digits
from asteriskbill.agi.peer import read_transcript, replay_fastagi, replay_process
from asteriskbill.agi.protocol import (
    CallerHangup,
    DeadChannel,
    InvalidCommand,
    UnknownApplication,
    UsageError,
    decode_line,
)
from asteriskbill.agi.server import start_server
from tests.helpers import helper_command, python_env
from tests.helpers.agi_captures import AGI, CAPTURES
from tests.helpers.agi_replay_app import make_app

# The program side of these cannot be written on an API that waits for each reply, by design:
NOT_REPRODUCIBLE = {
    "stdio-pipeline.log": "writes a second command while STREAM FILE/GET DATA runs (the API never pipelines)",
    "fast-pipeline.log": "writes a second command while STREAM FILE/GET DATA runs (the API never pipelines)",
    "stdio-exit-after-send.log": "exits without reading the reply to its last command",
    "fast-close-after-send.log": "closes without reading the reply to its last command",
    "stdio-exit-immediately.log": "exits without reading the environment (our transports always read it)",
    "fast-close-immediately.log": "closes without reading the environment (our transports always read it)",
}
STDIO = sorted(p.name for p in AGI.glob("stdio-*.log") if p.name not in NOT_REPRODUCIBLE)
FAST = sorted(p.name for p in AGI.glob("fast-*.log") if p.name not in NOT_REPRODUCIBLE)


def test_the_captures_are_all_accounted_for():
    names = {p.name for p in AGI.glob("*-*.log")} - {"caller-simulator-actions.log"}
    assert len(STDIO) == 9 and len(FAST) == 9
    assert names == set(STDIO) | set(FAST) | set(NOT_REPRODUCIBLE)


def _sent_by_program(lines) -> list[bytes]:
    return [line.data for line in lines if line.direction == ">"]


@pytest.mark.parametrize("name", STDIO)
def test_stdio_replay(name):
    program = helper_command("agi_replay_program", str(AGI / name))
    lines, status = asyncio.run(replay_process(AGI / name, program, environ=python_env()))
    recorded = read_transcript(AGI / name)
    assert _sent_by_program(lines) == _sent_by_program(recorded)
    assert status == (3 if name == "stdio-exit-nonzero.log" else 0)


async def _replay_over_fastagi(path: Path, outcomes: list) -> list:
    env_script = next(
        decode_line(line.data).partition(": ")[2]
        for line in read_transcript(path)
        if line.direction == "<" and line.data.startswith(b"agi_network_script:")
    )
    server = await start_server({env_script.partition("?")[0]: make_app(path, outcomes)}, port=0)
    async with server:
        return await replay_fastagi(path, *server.address)


@pytest.mark.parametrize("name", FAST)
def test_fastagi_replay(name):
    outcomes: list = []
    lines = asyncio.run(_replay_over_fastagi(AGI / name, outcomes))
    assert _sent_by_program(lines) == _sent_by_program(read_transcript(AGI / name))
    assert len(outcomes) == len(_sent_by_program(lines))


def test_fastagi_replay_of_the_command_tour_gives_typed_results():
    outcomes: list = []
    asyncio.run(_replay_over_fastagi(AGI / "fast-commands.log", outcomes))
    got = dict(outcomes)
    assert got["CHANNEL STATUS"] == 6
    assert got['STREAM FILE vm-password ""'] is None
    assert got['STREAM FILE agent-pass "0123456789#*"'] == "5"
    assert got["GET DATA vm-password 5000 4"] == Digits("1234", False)
    assert got["GET DATA beep 3000 10"] == Digits("", False)  # the second one: '#' alone (dict keeps last)
    assert got["GET DATA beep 2000 10"] == Digits("", True)
    assert [v for c, v in outcomes if c == "GET DATA vm-password 5000 10"] == [
        Digits("5678", False),
        Digits("99", False),
    ]
    assert next(v for c, v in outcomes if c == "GET DATA beep 3000 10") == Digits("12", True)
    assert [v for c, v in outcomes if c.startswith("WAIT FOR DIGIT")] == ["7", None]
    assert got["GET VARIABLE GREETING"] == "hello world"
    assert got["GET VARIABLE NO_SUCH_VARIABLE"] is None
    assert got["GET FULL VARIABLE ${NO_SUCH_VARIABLE}"] == ""
    assert got["GET FULL VARIABLE ${CALLERID(num)}"] == "5551000"
    assert got["EXEC Playback no-such-prompt"] == 0
    assert isinstance(got["EXEC NoSuchApplication foo"], UnknownApplication)
    assert got["DATABASE GET billing 5551000"] == "42.50"
    assert got["DATABASE GET billing no-such-key"] is None
    assert isinstance(got["FOO BAR"], InvalidCommand)
    assert isinstance(got["GET DATA"], UsageError) and len(got["GET DATA"].usage) == 2
    assert isinstance(got["SAY NUMBER"], UsageError) and len(got["SAY NUMBER"].usage) == 1


def test_fastagi_replay_after_a_hangup_follows_the_dead_channel_rules():
    outcomes: list = []
    asyncio.run(_replay_over_fastagi(AGI / "fast-hangup-getdata.log", outcomes))
    got = dict(outcomes)
    assert isinstance(got["CHANNEL STATUS"], DeadChannel)
    assert isinstance(got['STREAM FILE beep ""'], DeadChannel)
    assert got["GET VARIABLE HANGUPCAUSE"] == "16"
    assert got["SET VARIABLE BILL_STATE hungup"] is None


def test_fastagi_replay_of_a_hangup_while_streaming_raises_caller_hangup():
    outcomes: list = []
    asyncio.run(_replay_over_fastagi(AGI / "fast-hangup-stream.log", outcomes))
    assert isinstance(dict(outcomes)['STREAM FILE agent-pass "#"'], CallerHangup)


def _prepaid_sessions(tmp_path: Path) -> list[Path]:
    text = (CAPTURES / "ari" / "prepaid-fastagi-sessions.log").read_text()
    parts = text.split("# ======== call ")[1:]
    paths = []
    for number, part in enumerate(parts):
        path = tmp_path / f"prepaid-{number}.log"
        path.write_text("#" + part)
        paths.append(path)
    return paths


def test_fastagi_replay_of_the_prepaid_sessions(tmp_path):
    paths = _prepaid_sessions(tmp_path)
    assert len(paths) == 8
    for path in paths:
        lines = asyncio.run(_replay_over_fastagi(path, []))
        sent = _sent_by_program(lines)
        assert sent == _sent_by_program(read_transcript(path))
        assert sent[0].startswith(b"SET VARIABLE BILL_SESSION ") and sent[1] == b"SET VARIABLE BILL_MAX_MS 5000\n"
