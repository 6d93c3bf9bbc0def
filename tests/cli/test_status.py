"""`asteriskbill status`: each server up / wrong credentials / unreachable, its AMI, its active calls, FastAGI,
the database, whether calls hold their credit in slices."""

from __future__ import annotations

import asyncio
import json
import socket

import pytest

from asteriskbill.agi.apps import BillingApps
from asteriskbill.agi.peer import Call
from asteriskbill.agi.server import start_server
from asteriskbill.store import migrate
from tests.helpers.cli import Cli
from tests.helpers.fake_ami import READONLY, READONLY_SECRET, SECRET, USER, FakeAmi
from tests.helpers.fake_ari import ENTITY_ID, VERSION, FakeAri
from tests.helpers.world import make_world, place

UP_CHANNEL, GONE_CHANNEL = "1795467901.289", "1795467999.999"  # the caller leg of capture 2001; a call gone


@pytest.fixture
def closed_port():
    """A port that refuses connections for the whole test: bound, never listening."""
    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))
        yield held.getsockname()[1]


def open_calls(engine, world) -> list[str]:
    outcomes = place(
        engine,
        world.settings,
        *(
            Call(script="card", keys=(world.card + "#", world.pin + "#", "0015551234#"), uniqueid=uniqueid)
            for uniqueid in (UP_CHANNEL, GONE_CHANNEL)
        ),
    )
    return [out.variables["BILL_SESSION"] for out in outcomes]


def test_status_reports_servers_calls_fastagi_and_reservations(cli, engine, tmp_path, monkeypatch, closed_port):
    world = make_world(cli, tmp_path, card_value="100")
    up_call, gone_call = open_calls(engine, world)

    async def main():
        async with FakeAri() as up, FakeAri(password="other") as refusing, FakeAmi() as ami:
            up.channels[UP_CHANNEL] = {"id": UP_CHANNEL, "name": "Local/2001@prepaid-00000048;2", "state": "Up"}
            monkeypatch.setenv("ASTERISKBILL_ARI_URL", up.url)
            monkeypatch.setenv("ASTERISKBILL_ARI_USER", "tester")
            monkeypatch.setenv("ASTERISKBILL_ARI_PASSWORD", "tester")
            monkeypatch.setenv("ASTERISKBILL_AMI_URL", ami.url)
            monkeypatch.setenv("ASTERISKBILL_AMI_USER", USER)
            monkeypatch.setenv("ASTERISKBILL_AMI_SECRET", SECRET)
            cli(
                "servers",
                "add",
                "pbx-2",
                "--ari-url",
                refusing.url,
                "--ari-user",
                "tester",
                "--ari-password",
                "x",
                "--ami-url",
                ami.url,
                "--ami-user",
                READONLY,  # logs in, may not Setvar
                "--ami-secret",
                READONLY_SECRET,
            )
            cli(
                "servers",
                "add",
                "pbx-3",
                "--ari-url",
                f"http://127.0.0.1:{closed_port}",
                "--ari-user",
                "tester",
                "--ari-password",
                "tester",
            )
            async with await start_server(BillingApps(engine, world.settings).apps, port=0) as fastagi:
                monkeypatch.setenv("ASTERISKBILL_FASTAGI_PORT", str(fastagi.address[1]))
                found = await asyncio.to_thread(cli, "status", "--json")
                text = await asyncio.to_thread(cli, "status")
                cli("servers", "remove", "pbx-3")
                sliced = await asyncio.to_thread(cli, "status")
            return json.loads(found.stdout), text.stdout, sliced.stdout

    found, text, sliced = asyncio.run(asyncio.wait_for(main(), 60))

    assert found["version"] and found["fastagi"]["answers"] is True
    db = found["database"]
    assert (db["kind"], db["revision"], db["current"], db["error"]) == (
        engine.dialect.name,
        migrate.head_revision(),
        True,
        None,
    )
    assert db["size"] > 0
    servers = {s["name"]: s for s in found["servers"]}
    assert [(name, s["state"], s["source"]) for name, s in servers.items()] == [
        ("default", "up", "settings"),
        ("pbx-2", "unauthorized", "servers table"),
        ("pbx-3", "unreachable", "servers table"),
    ]
    assert (servers["default"]["version"], servers["default"]["entity_id"]) == (VERSION, ENTITY_ID)
    assert [c["session"] for c in servers["default"]["active_calls"]] == [up_call]
    assert "401" in servers["pbx-2"]["detail"] and servers["pbx-2"]["active_calls"] == []
    reservations = found["reservations"]
    assert (reservations["open"], reservations["held"]) == (2, {"USD": "36.00"})  # 3 h at 0.10/min, twice
    assert [c["session"] for c in reservations["on_no_server"]] == [gone_call]
    assert [(s["ami"], s["ami_url"]) for s in servers.values()] == [
        ("up", servers["default"]["ami_url"]),
        ("unauthorized", servers["default"]["ami_url"]),
        ("none", None),
    ]
    assert servers["default"]["ami_detail"] == "Asterisk Call Manager/13.0.0, user 'billing' may Setvar"
    assert "ami_user 'readonly' may not run Setvar (manager.conf: write = call)" in servers["pbx-2"]["ami_detail"]
    assert found["slice_seconds"] == 0  # pbx-3 has no AMI
    assert [p.split(":")[0] for p in found["problems"]] == [
        "server pbx-2 is unauthorized",
        "server pbx-3 is unreachable",
        "server pbx-2's AMI is unauthorized",
        "calls hold their whole maximum",
    ]
    assert found["problems"][-1].startswith("calls hold their whole maximum: no AMI for server pbx-3 (")
    assert "PROBLEM: server pbx-3 is unreachable" in text and "UNAUTHORIZED" in text
    assert "credit held:   the whole maximum of each call" in text
    assert "credit held:   in slices of 300 s" in sliced and "no AMI for server" not in sliced
    assert SECRET not in text + sliced + json.dumps(found) and READONLY_SECRET not in text
    assert "2 open, holding 36.00 USD; 1 up on no server that answered" in text


def test_status_says_plainly_what_is_down_and_exits_0(cli, monkeypatch, closed_port):
    monkeypatch.setenv("ASTERISKBILL_FASTAGI_PORT", str(closed_port))
    found = json.loads(cli("status", "--json").stdout)
    assert found["fastagi"]["answers"] is False and found["servers"] == []
    assert found["problems"] == [
        "no Asterisk server is configured: calls are not settled (`asteriskbill servers add`)",
        f"FastAGI does not answer on 127.0.0.1:{closed_port}: {found['fastagi']['detail']}",
    ]


def test_status_without_a_database_file_creates_none(tmp_path, monkeypatch, closed_port):
    monkeypatch.setenv("ASTERISKBILL_FASTAGI_PORT", str(closed_port))
    path = tmp_path / "missing.db"
    found = json.loads(Cli(f"sqlite:///{path}")("status", "--json").stdout)
    assert found["database"]["error"] == f"no file {path}: run `asteriskbill init`"
    assert found["reservations"] is None and not path.exists()


def test_status_help_has_an_example(cli):
    assert "Example:" in cli("status", "--help").stdout
