"""The fake Asterisk's answers, without I/O: what a scripted caller does to each command."""

from __future__ import annotations

import pytest

from asteriskbill.agi.peer import DEAD, USAGE_END, USAGE_HEAD, Asterisk, Call


def answers(call: Call, *commands: str) -> list[list[str]]:
    fake = Asterisk(call)
    return [fake.handle(command)[1] for command in commands]


@pytest.mark.parametrize(
    "keys, reply",
    [
        ("1234#", "200 result=1234"),
        ("12", "200 result=12 (timeout)"),
        ("", "200 result= (timeout)"),
        (None, "200 result= (timeout)"),
        ("#", "200 result="),
        ("123456", "200 result=1234"),
    ],
)
def test_get_data_collects_until_hash_max_or_silence(keys, reply):
    assert answers(Call(keys=[keys]), "GET DATA enter 5000 4") == [[reply]]


def test_key_presses_are_consumed_one_entry_per_input_command():
    call = Call(keys=["1#", "9", "2", "7"])
    assert answers(
        call,
        "GET DATA a 1000 4",
        'STREAM FILE menu "12"',
        'STREAM FILE menu ""',
        'STREAM FILE menu "12"',
        "WAIT FOR DIGIT 1000",
        "WAIT FOR DIGIT 1000",
        'SAY DIGITS 42 ""',
    ) == [
        ["200 result=1"],
        ["200 result=0 endpos=8000"],
        ["200 result=0 endpos=8000"],
        ["200 result=50 endpos=4000"],
        ["200 result=55"],
        ["200 result=0"],
        ["200 result=0"],
    ]


def test_missing_prompts_and_failure_status():
    fake = Asterisk(Call(missing_prompts={"gone"}))
    assert fake.handle('STREAM FILE gone ""')[1] == ["200 result=-1 endpos=0"]
    assert fake.handle("GET DATA gone 1000 4")[1] == ["200 result=-1"]
    assert fake.handle("EXEC Playback gone")[1] == ["200 result=0"]
    assert fake.handle("GET VARIABLE PLAYBACKSTATUS")[1] == ["200 result=1 (FAILED)"]
    assert fake.agistatus() == "FAILURE" and fake.agistatus(0) == "FAILURE"


def test_hangup_at_a_prompt_then_dead_channel_rules():
    fake = Asterisk(Call(hangup_at_prompt="enter-pin"))
    assert fake.handle("ANSWER") == (False, ["200 result=0"], False)
    assert fake.handle("GET DATA enter-pin 1000 4") == (False, ["200 result=-1"], True)
    for command in ("CHANNEL STATUS", 'STREAM FILE beep ""', "GET DATA beep 1000 1", "ANSWER", "HANGUP"):
        assert fake.handle(command)[1] == [DEAD]
    assert fake.handle("GET VARIABLE HANGUPCAUSE")[1] == ["200 result=1 (16)"]
    assert fake.handle("SET VARIABLE BILL_STATUS HANGUP")[1] == ["200 result=1"]
    assert fake.handle("EXEC Playback beep")[1] == ["200 result=0"]
    assert fake.handle("NOOP")[1] == ["200 result=0"]
    assert fake.set_by_app == {"BILL_STATUS": "HANGUP"} and fake.agistatus() == "HANGUP"


def test_hangup_at_the_nth_command():
    fake = Asterisk(Call(hangup_at_command=2))
    fake.handle("ANSWER")
    assert fake.handle("SET VARIABLE A 1") == (True, ["200 result=1"], False)  # idle: HANGUP first
    fake = Asterisk(Call(hangup_at_command=2))
    fake.handle("ANSWER")
    assert fake.handle('STREAM FILE welcome ""') == (False, ["200 result=-1 endpos=4000"], True)


def test_our_own_hangup_command():
    fake = Asterisk(Call())
    assert fake.handle("HANGUP") == (False, ["200 result=1"], True)
    assert fake.handle("GET VARIABLE HANGUPCAUSE")[1] == ["200 result=1 (0)"]
    assert fake.agistatus() == "HANGUP"


def test_unknown_commands_and_wrong_usage():
    get_data, say_number = answers(Call(), "GET DATA", "SAY NUMBER")
    assert answers(Call(), "FOO BAR") == [["510 Invalid or unknown command"]]
    assert get_data[0] == USAGE_HEAD and get_data[-1] == USAGE_END and len(get_data) == 4
    assert len(say_number) == 3
    assert answers(Call(), 'SAY NUMBER many ""')[0][0] == USAGE_HEAD


def test_variables_expressions_exec_and_database():
    call = Call(variables={"PIN": "1234"}, callerid="5551000")
    assert answers(
        call,
        "ANSWER",
        "CHANNEL STATUS",
        "GET VARIABLE PIN",
        "GET VARIABLE NOPE",
        "GET VARIABLE CHANNEL(state)",
        "GET FULL VARIABLE ${LEN(${PIN})}-${CALLERID(num)}",
        "GET FULL VARIABLE ${NOPE}",
        'EXEC Set "BALANCE=42.50"',
        "GET VARIABLE BALANCE",
        "EXEC NoSuchApplication foo",
        "DATABASE PUT billing k 42.50",
        "DATABASE GET billing k",
        "DATABASE DEL billing k",
        "DATABASE DEL billing k",
        "DATABASE GET billing k",
    ) == [
        ["200 result=0"],
        ["200 result=6"],
        ["200 result=1 (1234)"],
        ["200 result=0"],
        ["200 result=1 (Up)"],
        ["200 result=1 (4-5551000)"],
        ["200 result=1 ()"],
        ["200 result=0"],
        ["200 result=1 (42.50)"],
        ["200 result=-2"],
        ["200 result=1"],
        ["200 result=1 (42.50)"],
        ["200 result=1"],
        ["200 result=1"],
        ["200 result=0"],
    ]


def test_environment_block_like_asterisk():
    fake = Asterisk(Call(script="card", args=("441234", "x y"), accountcode="acme", uniqueid="1.5"))
    env = fake.env("agi://127.0.0.1:4573/card?x=1", "card?x=1").decode()
    assert env.startswith("agi_network: yes\nagi_network_script: card?x=1\nagi_request: agi://127.0.0.1:4573/")
    assert "agi_accountcode: acme\n" in env and env.endswith("agi_arg_1: 441234\nagi_arg_2: x y\n\n")
    assert not Asterisk(Call()).env("/agi-bin/x").decode().startswith("agi_network")
    assert "agi_accountcode: \n" in Asterisk(Call()).env("/agi-bin/x").decode()
