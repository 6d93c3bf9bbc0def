"""The card and ext applications over real TCP (FastAGI) against a real database, driven like Asterisk."""

from __future__ import annotations

import asyncio
import json
import os
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select, update

from asteriskbill.agi.peer import Call, call_process
from asteriskbill.services import lifecycle
from asteriskbill.store.models import AuditEntry, Card, Reservation
from asteriskbill.store.types import utcnow
from tests.helpers.world import make_world, place

UK = "00442071234567"


def card_call(world, *keys, **kw) -> Call:
    return Call(script="card", keys=keys or (world.card + "#", world.pin + "#", UK + "#"), **kw)


def reservations(engine):
    with engine.begin() as conn:
        return conn.execute(
            select(
                Reservation.status, Reservation.amount, Reservation.max_seconds, Reservation.number, Reservation.session
            )
        ).all()


@pytest.fixture
def world(cli, tmp_path):
    return make_world(cli, tmp_path)


def test_card_call_is_authorized_with_its_limit(engine, world):
    [out] = place(engine, world.settings, card_call(world))
    # 1.00 at 0.60 for the first 60 s block then 0.06 per 6 s: 96 s cost 0.96
    assert out.variables == {
        "BILL_SESSION": out.variables["BILL_SESSION"],
        "BILL_MAX_MS": "96000",
        "BILL_DIAL": "PJSIP/442071234567@carrier",
        "BILL_NUMBER": "442071234567",
        "BILL_STATUS": "OK",
    }
    assert out.agistatus == "SUCCESS"
    assert reservations(engine) == [("open", 960_000, 96, "442071234567", out.variables["BILL_SESSION"])]
    prompts = [c for c in out.commands if c.startswith(("STREAM FILE", "SAY NUMBER", "GET DATA"))]
    assert prompts[:3] == ["GET DATA agent-user 6000 19", "GET DATA agent-pass 6000 12", 'STREAM FILE vm-youhave ""']
    assert 'SAY NUMBER 1 ""' in prompts and prompts[-2] == 'SAY NUMBER 1 ""'  # 96 s: one minute
    with engine.begin() as conn:
        assert conn.execute(select(Card.status)).scalar_one() == "active"


def test_destination_from_the_agi_argument(engine, world):
    [out] = place(engine, world.settings, card_call(world, world.card + "#", world.pin + "#", args=["0015551234"]))
    assert (out.variables["BILL_STATUS"], out.variables["BILL_NUMBER"]) == ("OK", "15551234")


@pytest.mark.parametrize(
    "keys, status",
    [
        (("4111111111111112#",) * 3, "UNKNOWN_CARD"),  # fails its check digit, three times
        (("4111111111111111#", "1234#") * 3, "UNKNOWN_CARD"),  # valid Luhn, no such card
    ],
)
def test_unknown_cards(engine, world, keys, status):
    [out] = place(engine, world.settings, Call(script="card", keys=keys))
    assert out.variables == {"BILL_STATUS": status}
    assert reservations(engine) == []


def test_three_wrong_pins_then_lock_across_calls(engine, world):
    wrong = (world.card + "#", "000000#") * 3
    [first] = place(engine, world.settings, Call(script="card", keys=wrong))
    assert first.variables == {"BILL_STATUS": "WRONG_PIN"}
    [second] = place(engine, world.settings, Call(script="card", keys=wrong))
    assert second.variables == {"BILL_STATUS": "LOCKED"}  # the 5th failure within the hour locks
    [third] = place(engine, world.settings, card_call(world))  # even the right PIN
    assert third.variables == {"BILL_STATUS": "LOCKED"}
    # the caller hears only "invalid", as for a wrong PIN
    assert 'STREAM FILE invalid ""' in third.commands
    with engine.begin() as conn:
        actions = [a for (a,) in conn.execute(select(AuditEntry.action).order_by(AuditEntry.id))]
    assert actions.count("card.pin-failure") == 5 and "card.pin-lock" in actions
    assert "card.pin-refused-locked" in actions
    assert reservations(engine) == []


def test_lock_ends(engine, world):
    with engine.begin() as conn:
        conn.execute(update(Card).values(pin_locked_until=utcnow() - timedelta(seconds=1)))
    [out] = place(engine, world.settings, card_call(world))
    assert out.variables["BILL_STATUS"] == "OK"


@pytest.mark.parametrize("prompt", ["agent-user", "agent-pass", "vm-youhave", "vm-enter-num-to-call"])
def test_hangup_before_the_reservation_leaves_nothing(engine, world, prompt):
    [out] = place(engine, world.settings, card_call(world, hangup_at_prompt=prompt))
    assert out.agistatus == "HANGUP" and "BILL_SESSION" not in out.variables
    assert reservations(engine) == []


def test_hangup_after_the_reservation_releases_it(engine, world):
    [out] = place(engine, world.settings, card_call(world, hangup_at_prompt="minutes"))
    assert out.agistatus == "HANGUP"
    assert [r.status for r in reservations(engine)] == ["released"]


def test_callerid_skips_number_and_pin(cli, engine, world):
    cli("cards", "callerid", "add", world.card, "5551000")
    [out] = place(engine, world.settings, Call(script="card", callerid="5551000", keys=[UK + "#"]))
    assert out.variables["BILL_STATUS"] == "OK"


@pytest.mark.parametrize(
    "change, dialled, status",
    [
        ("disable", UK, "DISABLED"),
        ("no rate", "0033123456789", "NO_RATE"),
        ("none", "1", "INVALID_NUMBER"),
        ("no route", UK, "NO_ROUTE"),
        ("empty", UK, "NO_CREDIT"),
        ("expired", UK, "EXPIRED"),
    ],
)
def test_refusals(cli, engine, world, change, dialled, status):
    if change == "disable":
        cli("cards", "disable", world.card)
    elif change == "no route":
        cli("routes", "remove", "")
    elif change == "empty":
        cli("accounts", "adjust", world.card, "-0.50", "--note", "spent elsewhere")
    elif change == "expired":
        with engine.begin() as conn:
            conn.execute(update(Card).values(expires_at=utcnow() - timedelta(days=1)))
    [out] = place(engine, world.settings, card_call(world, world.card + "#", world.pin + "#", dialled + "#"))
    assert out.variables["BILL_STATUS"] == status
    assert reservations(engine) == []


def test_manual_card_is_not_active(cli, engine, tmp_path):
    world = make_world(cli, tmp_path, card_args=("--activation", "manual"))
    [out] = place(engine, world.settings, card_call(world))
    assert out.variables == {"BILL_STATUS": "NOT_ACTIVE"}


def test_simultaneous_call_limit(engine, world):
    first, second = place(engine, world.settings, card_call(world), card_call(world))
    statuses = sorted([first.variables["BILL_STATUS"], second.variables["BILL_STATUS"]])
    # max-calls 2, but the first reservation holds 0.96 of 1.00: the second has no credit left
    assert statuses == ["NO_CREDIT", "OK"]


def test_extension_by_callerid_and_by_accountcode(engine, world):
    [by_callerid] = place(engine, world.settings, Call(script="ext", args=[UK], callerid="201"))
    assert by_callerid.variables["BILL_STATUS"] == "OK"
    assert by_callerid.commands[0].startswith("SET VARIABLE BILL_SESSION")  # no prompts for extensions
    # 10.00 at 0.60/min lasts 16 minutes, under the 3 h cap: that call holds the whole balance
    [held] = place(engine, world.settings, Call(script="ext", args=[UK], callerid="201"))
    assert held.variables["BILL_STATUS"] == "NO_CREDIT"
    assert lifecycle.release(engine, by_callerid.variables["BILL_SESSION"], "test")
    [by_code] = place(engine, world.settings, Call(script="ext", args=[UK], callerid="999", accountcode="acme-201"))
    assert by_code.variables["BILL_STATUS"] == "OK"


def test_extension_refusals(cli, engine, world):
    cli("accounts", "freeze", "acme")  # freezing the company stops its extensions
    unknown, frozen, nothing = place(
        engine,
        world.settings,
        Call(script="ext", args=[UK], callerid="999"),
        Call(script="ext", args=[UK], callerid="201"),
        Call(script="ext", callerid="201"),
    )
    assert unknown.variables["BILL_STATUS"] == "UNKNOWN_ACCOUNT"
    assert frozen.variables["BILL_STATUS"] == "FROZEN"
    assert nothing.variables["BILL_STATUS"] == "INVALID_NUMBER"


def test_callerid_commands(cli, world):
    cli("cards", "callerid", "add", world.card, "5551000")
    assert "registered to card" in cli("cards", "callerid", "add", world.card, "5551000", ok=False).output
    assert "must be digits" in cli("cards", "callerid", "add", world.card, "55x", ok=False).output
    assert "fails its check digit" in cli("cards", "callerid", "add", "4111111111111112", "1", ok=False).output
    assert json.loads(cli("cards", "callerid", "list", "--json").stdout) == [
        {"card": world.card, "callerid": "5551000"}
    ]
    cli("cards", "callerid", "remove", "5551000")
    assert "not registered" in cli("cards", "callerid", "remove", "5551000", ok=False).output


def test_too_many_simultaneous_calls(cli, engine, tmp_path):
    world = make_world(cli, tmp_path, card_value="100", card_args=("--max-calls", "1"))
    first, second = place(engine, world.settings, card_call(world), card_call(world))
    assert sorted([first.variables["BILL_STATUS"], second.variables["BILL_STATUS"]]) == ["OK", "TOO_MANY_CALLS"]
    assert [r.status for r in reservations(engine)] == ["open"]


def test_caller_who_types_nothing_is_refused_after_three_tries(engine, world):
    [out] = place(engine, world.settings, Call(script="card", keys=[None, None, None]))
    assert out.variables == {"BILL_STATUS": "UNKNOWN_CARD"}
    assert [c for c in out.commands if c.startswith("GET DATA")] == ["GET DATA agent-user 6000 19"] * 3
    assert reservations(engine) == []


def test_agi_bin_script_as_asterisk_runs_it(cli, engine, world):
    """agi-bin/asteriskbill-ext over real pipes, started as Asterisk starts it (settings from the environment)."""
    script = Path(__file__).resolve().parents[2] / "agi-bin" / "asteriskbill-ext"
    environ = {**os.environ, "ASTERISKBILL_DB": cli.db}
    out = asyncio.run(
        asyncio.wait_for(
            call_process(Call(script="ext", args=[UK], callerid="201"), [str(script)], environ=environ), 60
        )
    )
    assert (out.agistatus, out.exit_status) == ("SUCCESS", 0), out.stderr
    assert out.variables["BILL_STATUS"] == "OK" and out.variables["BILL_DIAL"] == "PJSIP/442071234567@carrier"
    assert [r.status for r in reservations(engine)] == ["open"]


def test_a_call_in_slices_holds_its_first_slice_and_gets_its_hard_limit(engine, world):
    # AMI for the one server followed: slices are on, so the call holds 30 s of its 96 s and Asterisk hangs it up
    # there unless serve extends it. 30 s of UK (60/6 at 0.60) cost the first block: 0.60.
    sliced = world.settings.replace(
        slice_seconds=30,
        ari_url="http://127.0.0.1:8088",
        ari_user="asteriskbill",
        ari_password="secret",
        ami_url="tcp://127.0.0.1:5038",
        ami_user="asteriskbill",
        ami_secret="secret",
    )
    [out] = place(engine, sliced, card_call(world))
    assert (out.variables["BILL_MAX_MS"], out.variables["TIMEOUT(absolute)"]) == ("96000", "30")
    with engine.begin() as conn:
        assert conn.execute(select(Reservation.amount, Reservation.held_seconds)).one() == (600_000, 30)
    lifecycle.release(engine, out.variables["BILL_SESSION"], "test over")
    without_ami = sliced.replace(ami_url="", ami_user="", ami_secret="")  # nobody could extend: the whole maximum
    [out] = place(engine, without_ami, card_call(world))
    assert "TIMEOUT(absolute)" not in out.variables and out.variables["BILL_MAX_MS"] == "96000"
