"""`calls simulate` against a real `asteriskbill serve` process, as an operator would try a tariff."""

import json
import os
import socket
import subprocess
import sys

import pytest

from tests.helpers.serve import free_port
from tests.helpers.waiting import wait_for
from tests.helpers.world import make_world


@pytest.fixture
def served(cli, tmp_path):
    world = make_world(cli, tmp_path)
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "asteriskbill.cli", "--db", cli.db, "serve", "--port", str(port), "--web-port", "0"],
        env=os.environ.copy(),
        stderr=subprocess.PIPE,
        text=True,
    )

    def listening() -> bool:
        assert server.poll() is None, f"serve exited: {server.communicate()[1]}"
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
        except OSError:
            return False
        return True

    try:
        wait_for(listening, f"serve to listen on port {port}", interval=0.1)
        yield world, str(port)
    finally:
        server.terminate()
    assert server.wait(timeout=30) == 0, server.stderr.read()


def test_card_call_settled_as_answered(cli, served):
    world, port = served
    out = cli(
        "calls",
        "simulate",
        "--card",
        world.card,
        "--pin",
        world.pin,
        "--dial",
        "00442071234567",
        "--talk",
        "95",
        "--port",
        port,
    ).stdout
    assert '> "GET DATA agent-user 6000 19\\n"' in out
    assert "BILL_STATUS=OK" in out and "BILL_MAX_MS=96000" in out
    assert "settled as answered: 95 s billed, cost 0.96" in out
    shown = json.loads(cli("cards", "show", world.card, "--json").stdout)
    assert shown["balance"] == "0.04"
    cli("check")


def test_extension_call_json_and_refusal(cli, served):
    world, port = served
    data = json.loads(
        cli("calls", "simulate", "--extension", "201", "--dial", "0015551234", "--port", port, "--json").stdout
    )
    assert data["agistatus"] == "SUCCESS" and data["variables"]["BILL_STATUS"] == "OK" and data["settled"] is None
    active = json.loads(cli("calls", "active", "--json").stdout)
    assert [c["account"] for c in active] == ["acme-201"]
    refused = json.loads(
        cli(
            "calls", "simulate", "--card", world.card, "--pin", "000000", "--dial", "0044", "--port", port, "--json"
        ).stdout
    )
    # one wrong PIN, then the caller types no card number on the two tries left
    assert refused["variables"] == {"BILL_STATUS": "UNKNOWN_CARD"}
    assert refused["transcript"].count("STREAM FILE invalid") == 3


def test_no_server(cli, tmp_path):
    make_world(cli, tmp_path)
    result = cli(
        "calls", "simulate", "--extension", "201", "--dial", "0015551234", "--port", str(free_port()), ok=False
    )
    assert "start it with `asteriskbill serve`" in result.output
    assert "together" in cli("calls", "simulate", "--card", "1", "--dial", "1", ok=False).output
