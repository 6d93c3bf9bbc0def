"""The card IVR says the balance in units and cents with the currency's words, over real FastAGI TCP."""

from __future__ import annotations

import pytest

from asteriskbill.agi.peer import Call
from tests.helpers.world import make_world, place

UK = "00442071234567"
SPOKEN = ("STREAM FILE", "SAY NUMBER", "SAY DIGITS")


def balance_said(commands: list[str]) -> list[str]:
    """What the caller hears between "you have" and the question for the destination."""
    spoken = [c for c in commands if c.startswith((*SPOKEN, "GET DATA"))]
    start = spoken.index('STREAM FILE vm-youhave ""') + 1
    return spoken[start : next(i for i, c in enumerate(spoken) if i >= start and c.startswith("GET DATA"))]


@pytest.fixture
def world(cli, tmp_path):
    return make_world(cli, tmp_path, card_value="1.84")


def card_call(world, **kw) -> Call:
    return Call(script="card", keys=(world.card + "#", world.pin + "#", UK + "#"), **kw)


def test_a_balance_of_1_84_dollars_is_said_as_dollars_and_cents(engine, world):
    [out] = place(engine, world.settings, card_call(world))
    assert out.variables["BILL_STATUS"] == "OK"
    assert balance_said(out.commands) == [
        'SAY NUMBER 1 ""',
        'STREAM FILE letters/dollar ""',
        'STREAM FILE and ""',
        'SAY NUMBER 84 ""',
        'STREAM FILE cents ""',
    ]


def test_the_words_of_another_currency_come_from_the_setting(engine, world):
    settings = world.settings.replace(currency_words={"USD": "dollar,dollars,cent,cents"}, prompts={"and": "und"})
    [out] = place(engine, settings, card_call(world))
    assert balance_said(out.commands) == [
        'SAY NUMBER 1 ""',
        'STREAM FILE dollar ""',
        'STREAM FILE und ""',
        'SAY NUMBER 84 ""',
        'STREAM FILE cents ""',
    ]


def test_a_missing_currency_prompt_is_skipped_and_the_call_goes_on(engine, world, caplog):
    [out] = place(engine, world.settings, card_call(world, missing_prompts={"cents"}))
    assert out.variables["BILL_STATUS"] == "OK"
    assert "prompt 'cents' is missing" in caplog.text and "currency_words" in caplog.text
