"""agi-bin scripts on real pipes, driven by the fake Asterisk: SIGHUP, exit status, AGISTATUS."""

from __future__ import annotations

import asyncio

from asteriskbill.agi.peer import Call, call_process
from tests.helpers import helper_command, python_env


def place(name: str, call: Call):
    return asyncio.run(call_process(call, helper_command("agi_stdio_apps", name), environ=python_env()))


def test_a_whole_call():
    outcome = place("card", Call(keys=["4111#"]))
    assert outcome.agistatus == "SUCCESS" and outcome.exit_status == 0
    assert outcome.variables == {"BILL_NUMBER": "4111", "BILL_STATUS": "OK"}
    assert b"released" not in outcome.stderr


def test_sighup_at_a_prompt_does_not_kill_the_script():
    outcome = place("card", Call(keys=["4111#"], hangup_at_prompt="you-have"))
    assert "SIGHUP sent" in [line.data for line in outcome.lines]
    assert outcome.exit_status == 0 and outcome.agistatus == "HANGUP"
    assert outcome.variables == {"BILL_NUMBER": "4111", "BILL_STATUS": "HANGUP"}
    assert b"released" in outcome.stderr


def test_sighup_while_idle_marks_the_channel_hung_up():
    outcome = place("idle", Call(hangup_at_command=2))
    assert outcome.exit_status == 0 and outcome.agistatus == "HANGUP"
    assert outcome.variables == {"STEP": "1", "BILL_STATUS": "HANGUP"}
    assert outcome.commands[-2:] == ['STREAM FILE beep ""', "SET VARIABLE BILL_STATUS HANGUP"]


def test_an_app_exception_exits_non_zero_with_bill_status_error():
    outcome = place("crash", Call())
    assert outcome.exit_status == 1 and outcome.agistatus == "FAILURE"
    assert outcome.variables == {"BILL_STATUS": "ERROR"}
    assert b"RuntimeError: database is gone" in outcome.stderr


def test_arguments_arrive_in_the_environment_and_argv():
    outcome = place("echo", Call(args=("0044207", "x y")))
    assert outcome.variables == {"ARGS": "0044207|x y|0044207|x y"}
    assert outcome.agistatus == "SUCCESS"


def test_a_missing_script_is_notfound():
    outcome = asyncio.run(call_process(Call(), ["/nonexistent/agi-bin/asteriskbill-card"]))
    assert outcome.agistatus == "NOTFOUND"
