"""Passwords are never printed, and the files that hold billing data are readable by their owner only
(issue 10, item 10): real `asteriskbill` processes, their output and logs read, file modes from os.stat."""

from __future__ import annotations

import asyncio
import json
import os
import sqlite3
import stat
import subprocess
import sys
from contextlib import closing
from pathlib import Path

from sqlalchemy import insert

from asteriskbill.store.models import Server
from tests.helpers.fake_ari import FakeAri
from tests.helpers.serve import free_port, start_serve
from tests.helpers.waiting import until

PASSWORD = "Pa55-in-url"
PRIVATE = 0o600


def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """The real command under the usual umask (022), so that only the code can make a file private."""
    return subprocess.run(
        [sys.executable, "-m", "asteriskbill.cli", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, **(env or {})},
        preexec_fn=lambda: os.umask(0o022),
    )


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_servers_add_refuses_credentials_in_the_url(cli, snapshot):
    before = snapshot()
    url = f"http://admin:{PASSWORD}@10.0.0.5:8088"
    done = run("--db", cli.db, "servers", "add", "pbx2", "--ari-url", url, "--ari-user", "u", "--ari-password", "p")
    assert done.returncode == 1 and PASSWORD not in done.stdout + done.stderr
    assert done.stderr.splitlines() == [
        "Error: ari_url 'http://admin:***@10.0.0.5:8088' holds credentials: give the URL without them, "
        "and them as --ari-user and --ari-password"
    ]
    assert snapshot() == before


def test_the_ari_url_setting_refuses_credentials_without_showing_them(cli):
    done = run("--db", cli.db, "servers", "list", env={"ASTERISKBILL_ARI_URL": f"http://admin:{PASSWORD}@pbx:8088"})
    assert done.returncode == 1 and PASSWORD not in done.stdout + done.stderr
    assert "ari_url" in done.stderr and "ari_user" in done.stderr and len(done.stderr.splitlines()) == 1


def test_a_password_in_an_old_servers_url_is_never_shown(db_url, engine, tmp_path):
    """A row recorded before the refusal: list, status, serve's banner and its ARI log lines mask it."""
    closed = free_port()
    with engine.begin() as conn:
        conn.execute(
            insert(Server).values(
                name="old", ari_url=f"http://admin:{PASSWORD}@127.0.0.1:{closed}", ari_user="u", ari_password="x"
            )
        )
    outputs = [run("--db", db_url, *args) for args in (("servers", "list"), ("servers", "list", "--json"))]
    outputs += [run("--db", db_url, "status", *args) for args in ((), ("--json",))]
    assert all(PASSWORD not in done.stdout + done.stderr for done in outputs)
    listed = json.loads(outputs[1].stdout)
    assert listed[0]["ari_url"] == f"http://admin:***@127.0.0.1:{closed}"
    assert "127.0.0.1" in outputs[2].stdout and "unreachable" in outputs[2].stdout

    log = tmp_path / "serve.log"

    async def main() -> str:
        async with FakeAri() as ari:  # the "default" server, 401 for "old"'s credentials once it answers
            process, _ = await start_serve(db_url, ari, log)
            try:
                await until(lambda: log.read_text().count("cannot reach ARI") >= 2, "serve to retry the old server")
            finally:
                process.terminate()
                await process.wait()
        return log.read_text()

    text = asyncio.run(asyncio.wait_for(main(), 90))
    assert f"old (http://admin:***@127.0.0.1:{closed})" in text  # the banner
    assert PASSWORD not in text


def test_a_401_is_logged_without_the_password(db_url, engine, tmp_path):
    log = tmp_path / "serve.log"

    async def main() -> str:
        async with FakeAri() as ari:
            host_port = ari.url.split("://", 1)[1]
            with engine.begin() as conn:
                conn.execute(
                    insert(Server).values(
                        name="old", ari_url=f"http://admin:{PASSWORD}@{host_port}", ari_user="u", ari_password=PASSWORD
                    )
                )
            process, _ = await start_serve(db_url, ari, log)
            try:
                await until(lambda: "401 Unauthorized" in log.read_text(), "serve to be refused")
            finally:
                process.terminate()
                await process.wait()
        return log.read_text()

    text = asyncio.run(asyncio.wait_for(main(), 90))
    assert "answered 401 Unauthorized" in text and PASSWORD not in text


def test_a_database_password_is_masked_by_status(tmp_path):
    url = f"postgresql+psycopg://billing:{PASSWORD}@127.0.0.1:{free_port()}/billing"
    for args in (("status",), ("status", "--json"), ("servers", "list")):
        done = run("--db", url, *args)
        assert PASSWORD not in done.stdout + done.stderr, done
    assert "billing:***@127.0.0.1" in run("--db", url, "status", "--json").stdout


def test_init_backup_and_exports_are_private(tmp_path):
    db = tmp_path / "data" / "billing.db"
    url = f"sqlite:///{db}"
    assert run("--db", url, "init").returncode == 0
    assert run("--db", url, "tariff", "create", "retail", "--currency", "USD").returncode == 0
    assert mode(db) == PRIVATE
    previous = os.umask(0o022)
    try:  # SQLite makes the -wal and -shm files of a connection that writes with the database's mode
        with closing(sqlite3.connect(db)) as conn:
            conn.execute("UPDATE tariffs SET name = name")
            conn.commit()
            assert [mode(db.with_name(db.name + end)) for end in ("-wal", "-shm")] == [PRIVATE, PRIVATE]
    finally:
        os.umask(previous)
    assert run("--db", url, "cdr", "backup", str(tmp_path / "copy.db")).returncode == 0
    assert mode(tmp_path / "copy.db") == PRIVATE
    for name in ("rates.csv", "rates.xlsx"):
        assert run("--db", url, "rates", "export", "retail", "-o", str(tmp_path / name)).returncode == 0
        assert mode(tmp_path / name) == PRIVATE
    (tmp_path / "old.csv").write_text("x\n")
    os.chmod(tmp_path / "old.csv", 0o644)
    assert run("--db", url, "accounts", "export", "-o", str(tmp_path / "old.csv")).returncode == 0
    assert mode(tmp_path / "old.csv") == PRIVATE  # replaced by a private file
