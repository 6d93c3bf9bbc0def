"""Issue 10 item 7: a caller ID, accountcode or other AGI value that is not UTF-8 is an unknown value (the answer an
unknown caller gets), with one line in the log and no traceback."""

from __future__ import annotations

import asyncio
import logging

import pytest
from sqlalchemy import select

from asteriskbill.agi.apps import BillingApps
from asteriskbill.agi.peer import Call
from asteriskbill.agi.server import start_server
from asteriskbill.store.models import Reservation
from tests.helpers.agi_peers import connect
from tests.helpers.calls import USA
from tests.helpers.world import make_world


@pytest.fixture
def world(cli, tmp_path):
    world = make_world(cli, tmp_path)
    cli("cards", "callerid", "add", world.card, "5551000")  # this caller skips number and PIN
    return world


def place_raw(engine, settings, *calls: tuple[Call, dict[str, bytes]]) -> list[tuple[dict[str, str], list[str]]]:
    """Each call's (variables set, commands received) from the billing apps over TCP, its environment carrying the
    raw bytes given."""

    async def one(port: int, call: Call, raw: dict[str, bytes]):
        peer = await connect(port, call, raw)
        commands: list[str] = []
        await peer.answer_until(lambda command: commands.append(command))  # answers everything to the end
        await peer.close()
        return peer.fake.set_by_app, commands

    async def main():
        async with await start_server(BillingApps(engine, settings).apps, port=0) as server:
            return await asyncio.gather(*(one(server.address[1], call, raw) for call, raw in calls))

    return asyncio.run(asyncio.wait_for(main(), 60))


def test_non_utf8_callerid_is_an_unknown_caller(engine, world, caplog):
    caplog.set_level(logging.INFO, "asteriskbill")
    (raw, raw_commands), (unknown, unknown_commands) = place_raw(
        engine,
        world.settings,
        (Call(script="card", keys=[None] * 3, uniqueid="1.1"), {"callerid": b"\xff\xfe5551000"}),
        (Call(script="card", keys=[None] * 3, uniqueid="1.2", callerid="5559999"), {}),
    )
    assert raw == unknown == {"BILL_STATUS": "UNKNOWN_CARD"}  # asked for card and PIN like anyone unknown
    assert raw_commands == unknown_commands
    [warning] = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert "callerid" in warning.getMessage() and "UTF-8" in warning.getMessage()
    assert warning.exc_info is None and "Traceback" not in caplog.text


def test_non_utf8_accountcode_is_an_unknown_account(engine, world, caplog):
    caplog.set_level(logging.INFO, "asteriskbill")
    (raw, _), (unknown, _) = place_raw(
        engine,
        world.settings,
        (Call(script="ext", args=[USA], callerid="unknown", uniqueid="1.1"), {"accountcode": b"acme-201\xc3"}),
        (Call(script="ext", args=[USA], callerid="unknown", uniqueid="1.2", accountcode="nobody"), {}),
    )
    assert raw == unknown == {"BILL_STATUS": "UNKNOWN_ACCOUNT"}
    [warning] = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert "accountcode" in warning.getMessage() and warning.exc_info is None


def test_other_values_still_identify_the_caller(engine, world, caplog):
    """The accountcode names the account even when the caller ID and the channel name carry stray bytes."""
    caplog.set_level(logging.INFO, "asteriskbill")
    [(variables, _)] = place_raw(
        engine,
        world.settings,
        (
            Call(script="ext", args=[USA], accountcode="acme-201", uniqueid="1.1"),
            {"callerid": b"\x80201", "channel": b"Local/\xe9@x-00000001;2"},
        ),
    )
    assert variables["BILL_STATUS"] == "OK"
    with engine.begin() as conn:
        assert conn.execute(select(Reservation.callerid, Reservation.channel)).one() == ("", "")
    [warning] = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert "callerid" in warning.getMessage() and "channel" in warning.getMessage()
