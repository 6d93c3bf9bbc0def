"""The pure codec, checked against every line Asterisk sent in the captures."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from asteriskbill.agi.peer import read_transcript
from asteriskbill.agi.protocol import (
    DeadChannel,
    Decoder,
    Env,
    Hangup,
    InvalidCommand,
    ProtocolError,
    Reply,
    Text,
    UsageError,
    check,
    decode_line,
    format_command,
    parse_command,
    parse_reply,
)
from tests.helpers.agi_captures import AGI, CAPTURES

TRANSCRIPTS = [*sorted(AGI.glob("*-*.log")), CAPTURES / "ari" / "prepaid-fastagi-sessions.log"]
TRANSCRIPTS = [p for p in TRANSCRIPTS if p.name not in ("caller-simulator-actions.log",)]


def _from_asterisk(path: Path) -> bytes:
    return b"".join(line.data for line in read_transcript(path) if line.direction == "<")


def _decode_sessions(data: bytes, chunk: int) -> list:
    """Decode each session's bytes (the prepaid file holds 8) with a fresh decoder, ``chunk`` bytes a read."""
    events = []
    for session in data.split(b"agi_network: yes\n"):
        if not session:
            continue
        session = b"agi_network: yes\n" + session if data.startswith(b"agi_network") else session
        decoder = Decoder()
        for start in range(0, len(session), chunk):
            events += decoder.feed(session[start : start + chunk])
        assert not decoder.pending
    return events


@pytest.mark.parametrize("path", [p for p in TRANSCRIPTS if _from_asterisk(p)], ids=lambda p: p.name)
def test_every_line_asterisk_sent_decodes_in_any_chunking(path):
    data = _from_asterisk(path)
    whole = _decode_sessions(data, len(data))
    lines = [decode_line(line.data) for line in read_transcript(path) if line.direction == "<"]
    finals = [line for line in lines if line[:4] in ("200 ", "510 ", "511 ", "520 ")]
    assert sum(isinstance(e, Env) for e in whole) == lines.count("")
    assert sum(isinstance(e, Reply) for e in whole) == len(finals)
    assert sum(isinstance(e, Hangup) for e in whole) == lines.count("HANGUP")
    assert _decode_sessions(data, 1) == _decode_sessions(data, 7) == whole


@pytest.mark.parametrize(
    "line, reply",
    [
        ("200 result=0", Reply(200, "0")),
        ("200 result=6", Reply(200, "6")),
        ("200 result=-1", Reply(200, "-1")),
        ("200 result=-2", Reply(200, "-2")),
        ("200 result=0 endpos=8800", Reply(200, "0", endpos=8800)),
        ("200 result=-1 endpos=0", Reply(200, "-1", endpos=0)),
        ("200 result=53 endpos=9760", Reply(200, "53", endpos=9760)),
        ("200 result=1234", Reply(200, "1234")),
        ("200 result=12 (timeout)", Reply(200, "12", "timeout")),
        ("200 result= (timeout)", Reply(200, "", "timeout")),
        ("200 result=", Reply(200, "")),
        ("200 result=1 (hello world)", Reply(200, "1", "hello world")),
        ("200 result=1 ()", Reply(200, "1", "")),
        ("200 result=1 (4-agicap-1795467763-1-2)", Reply(200, "1", "4-agicap-1795467763-1-2")),
        ("200 result=1 (a (nested) value)", Reply(200, "1", "a (nested) value")),
        ("200 result=0 (timeout) endpos=80000", Reply(200, "0", "timeout", 80000)),
        ("510 Invalid or unknown command", Reply(510, message="Invalid or unknown command")),
        (
            "511 Command Not Permitted on a dead channel or intercept routine",
            Reply(511, message="Command Not Permitted on a dead channel or intercept routine"),
        ),
        (
            "520 Invalid command syntax.  Proper usage not available.",
            Reply(520, message="Invalid command syntax.  Proper usage not available."),
        ),
    ],
)
def test_reply_forms(line, reply):
    assert parse_reply(line) == reply


def test_multiline_usage_reply_keeps_the_raw_lines():
    decoder = Decoder(env_done=True)
    events = decoder.feed(
        b"520-Invalid command syntax.  Proper usage follows:\n"
        b"Stream the given <replaceable>file</replaceable>, and receive DTMF data.\n"
    )
    assert events == [] and decoder.pending
    events = decoder.feed(
        b"Returns the digits received from the channel at the other end.\n520 End of proper usage.\nHANGUP\n"
    )
    assert events == [
        Reply(
            520,
            message="End of proper usage.",
            usage=(
                "Stream the given <replaceable>file</replaceable>, and receive DTMF data.",
                "Returns the digits received from the channel at the other end.",
            ),
        ),
        Hangup(),
    ]
    with pytest.raises(UsageError) as caught:
        check(events[0])
    assert len(caught.value.usage) == 2


@pytest.mark.parametrize(
    "reply, error", [(Reply(510), InvalidCommand), (Reply(511), DeadChannel), (Reply(520), UsageError)]
)
def test_check_raises_the_typed_error(reply, error):
    with pytest.raises(error):
        check(reply)


def _env(path: str) -> Env:
    events = Decoder().feed(_from_asterisk(AGI / path))
    assert isinstance(events[0], Env)
    return events[0]


def test_fastagi_environment():
    env = _env("fast-commands.log")
    assert env.network and env.script == "commands" and env.query == {"src": "capture"}
    assert env.args == ("arg one", "arg two")
    assert env.get("request") == "agi://127.0.0.1:4573/commands?src=capture"
    assert env.accountcode == "" and env.callerid == "5551000" and env.calleridname == "Alice"
    assert env.channel == "Local/fast-commands@agi-cap-0000002f;2" and env.uniqueid == "agicap-1795467763-1-2"
    assert env.context == "agi-cap" and env.extension == "fast-commands" and env.dnid == "unknown"
    assert len(env.values) == 24


def test_process_environment():
    env = _env("stdio-commands.log")
    assert not env.network and env.script == "agi_stdio.py" and env.query == {}
    assert env.args == ("commands", "arg two") and env.accountcode == ""


def test_environment_values_keep_their_spaces_and_args_their_order():
    data = b"".join(b"agi_arg_%d: a%d\n" % (n, n) for n in range(12, 0, -1))
    env = Decoder().feed(b"agi_calleridname: Alice  \nagi_accountcode: \nagi_accountcode2:\n" + data + b"\n")[0]
    assert env.calleridname == "Alice  " and env.accountcode == "" and env.get("accountcode2") == ""
    assert env.args == tuple(f"a{n}" for n in range(1, 13))


def test_an_argument_numbered_in_other_digits_is_no_argument():
    """`agi_arg_²` passes str.isdigit() but not int(): it is a plain environment value, not a crash."""
    env = Decoder().feed("agi_arg_1: a\nagi_arg_²: b\nagi_arg_٢: c\n\n".encode())[0]
    assert env.args == ("a",) and env.get("arg_²") == "b"


@pytest.mark.parametrize(
    "data",
    [
        b"GET / HTTP/1.1\r\n",
        b"\n",
        b"agi_x: 1\ngarbage\n",
        b"agi_x: 1\n\n200 result=x y\n",
        b"agi_x: 1\n\n300 ok\n",
        b"x" * 20000,
    ],
)
def test_garbage_is_a_protocol_error(data):
    with pytest.raises(ProtocolError):
        Decoder().feed(data)


def test_an_environment_without_end_is_bounded():
    with pytest.raises(ProtocolError):
        Decoder().feed(b"".join(b"agi_k%d: v\n" % n for n in range(300)))


@pytest.mark.parametrize(
    "words, line",
    [
        (("ANSWER",), b"ANSWER\n"),
        (("STREAM", "FILE", "vm-password", Text("")), b'STREAM FILE vm-password ""\n'),
        (("STREAM", "FILE", "agent-pass", Text("0123456789#*")), b'STREAM FILE agent-pass "0123456789#*"\n'),
        (("VERBOSE", Text("pipelined"), 1), b'VERBOSE "pipelined" 1\n'),
        (("SET", "VARIABLE", "GREETING", "hello world"), b'SET VARIABLE GREETING "hello world"\n'),
        (("EXEC", "Set", "BALANCE=42.50"), b'EXEC Set "BALANCE=42.50"\n'),
        (("EXEC", "Dial", "PJSIP/${NUMBER}@carrier1,30,L(5000)"), b"EXEC Dial PJSIP/${NUMBER}@carrier1,30,L(5000)\n"),
        (
            ("GET", "FULL", "VARIABLE", "${LEN(${PIN})}-${CHANNEL(uniqueid)}"),
            b"GET FULL VARIABLE ${LEN(${PIN})}-${CHANNEL(uniqueid)}\n",
        ),
        (("SET", "VARIABLE", "X", 'say "hi" \\o/'), b'SET VARIABLE X "say \\"hi\\" \\\\o/"\n'),
        (("SET", "VARIABLE", "X", ""), b'SET VARIABLE X ""\n'),
    ],
)
def test_format_command_quotes_like_the_captured_program(words, line):
    assert format_command(words) == line


def test_a_line_break_cannot_be_sent():
    with pytest.raises(ValueError):
        format_command(("VERBOSE", "two\nlines"))


def test_parse_command_splits_every_captured_command_like_asterisk():
    commands = {
        decode_line(line.data) for path in TRANSCRIPTS for line in read_transcript(path) if line.direction == ">"
    }
    for command in commands:
        words = parse_command(command)
        quoted_message = [words[0], Text(words[1]), *words[2:]] if words[0] == "VERBOSE" else words
        assert command.encode() + b"\n" in (format_command(words), format_command(quoted_message))
    assert parse_command('VERBOSE "prepaid IVR started for 5551000" 1') == [
        "VERBOSE",
        "prepaid IVR started for 5551000",
        "1",
    ]
    assert parse_command('STREAM FILE vm-password ""') == ["STREAM", "FILE", "vm-password", ""]
    assert parse_command('SET VARIABLE X "say \\"hi\\" \\\\o/"') == ["SET", "VARIABLE", "X", 'say "hi" \\o/']


@given(
    st.lists(
        st.text(alphabet=st.characters(blacklist_characters="\r\n\0", blacklist_categories=("Cs",))),
        min_size=1,
        max_size=6,
    )
)
def test_quoting_round_trips_through_asterisks_parser(words):
    assert parse_command(decode_line(format_command(words))) == words
