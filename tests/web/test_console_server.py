"""The console as users start it: inside `serve`, or alone with `asteriskbill web`, as real processes."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys

import httpx

from tests.helpers.serve import serving_console
from tests.helpers.waiting import wait_for

COMMAND = [sys.executable, "-m", "asteriskbill.cli"]


def test_serve_prints_the_console_address_and_serves_the_login_page(sqlite_url, tmp_path):
    log = tmp_path / "serve.log"
    with serving_console(sqlite_url, log) as (_fastagi, console):
        answer = httpx.get(f"{console}/login")
        assert answer.status_code == 200 and "<h1>Log in</h1>" in answer.text
        assert httpx.get(f"{console}/").headers["location"] == "/login?next=%2F"
    assert "first administrator: asteriskbill users add NAME --role admin" in log.read_text()


def test_web_alone_serves_the_console_until_sigterm(sqlite_url, tmp_path):
    log = tmp_path / "web.log"
    env = {k: v for k, v in os.environ.items() if not k.startswith("ASTERISKBILL_")}
    env["ASTERISKBILL_SECRET_FILE"] = str(tmp_path / "secret")
    with log.open("w") as stderr:
        process = subprocess.Popen([*COMMAND, "--db", sqlite_url, "web", "--port", "0"], env=env, stderr=stderr)
    try:
        listening = re.compile(r"console on (http://\S+?)/ ")
        wait_for(lambda: listening.search(log.read_text()), "the console to listen")
        found = listening.search(log.read_text())
        assert found is not None
        assert httpx.get(f"{found.group(1)}/login").status_code == 200
    finally:
        process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=30) == 0, log.read_text()


def test_a_web_port_in_use_is_one_line_naming_web_port(sqlite_url, tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("ASTERISKBILL_")}
    env["ASTERISKBILL_SECRET_FILE"] = str(tmp_path / "secret")
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        for args in (["serve", "--port", "0", "--web-port", str(port)], ["web", "--port", str(port)]):
            result = subprocess.run(
                [*COMMAND, "--db", sqlite_url, *args], env=env, capture_output=True, text=True, timeout=60
            )
            assert result.returncode == 1, result.stderr
            assert result.stderr.splitlines() == [
                f"Error: port 127.0.0.1:{port} is in use (another asteriskbill serve?) — set web_port or stop the "
                "other server"
            ]


def test_serve_without_the_console(sqlite_url, tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("ASTERISKBILL_")}
    env["ASTERISKBILL_SECRET_FILE"] = str(tmp_path / "secret")
    log = tmp_path / "serve.log"
    with log.open("w") as stderr:
        process = subprocess.Popen(
            [*COMMAND, "--db", sqlite_url, "serve", "--port", "0", "--no-web"], env=env, stderr=stderr
        )
    try:
        wait_for(lambda: "console   off (--no-web)" in log.read_text(), "serve to listen")
    finally:
        process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=30) == 0, log.read_text()
