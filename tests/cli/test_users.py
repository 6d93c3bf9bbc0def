"""`asteriskbill users ...`: console users made and changed from the shell, the login log read; a password is
taken from a hidden prompt or stdin and never shown, not in any output nor in the audit log."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import timedelta

from asteriskbill.services import users
from asteriskbill.settings import Settings
from asteriskbill.store.engine import make_engine
from asteriskbill.store.types import utcnow

PASSWORD = "correct horse 1"
NEW_PASSWORD = "battery staple 2"


def test_add_prompts_twice_without_echo_then_lists_users(cli):
    added = cli("users", "add", "nina", "--role", "operator", input=f"{PASSWORD}\n{PASSWORD}\n")
    assert "user nina added as operator" in added.output and PASSWORD not in added.output
    cli("users", "add", "adam", "--role", "admin", "--password-stdin", input=f"{NEW_PASSWORD}\n")
    listed = json.loads(cli("users", "list", "--json").stdout)
    assert [(u["name"], u["role"], u["disabled"], u["last_login_at"]) for u in listed] == [
        ("adam", "admin", False, None),
        ("nina", "operator", False, None),
    ]
    text = cli("users", "list").stdout.splitlines()
    assert text[0].split() == ["name", "role", "state", "created_at", "last_login_at"]
    assert text[2].split()[:3] == ["nina", "operator", "active"]


def test_prompted_passwords_that_differ_are_asked_again(cli):
    asked = cli("users", "add", "nina", "--role", "operator", input=f"{PASSWORD}\ntypo\n{PASSWORD}\n{PASSWORD}\n")
    assert "do not match" in asked.output and PASSWORD not in asked.output
    assert [u["name"] for u in json.loads(cli("users", "list", "--json").stdout)] == ["nina"]


def test_refusals_are_one_line_and_add_nobody(cli):
    cli("users", "add", "nina", "--role", "operator", "--password-stdin", input=f"{PASSWORD}\n")
    for name, password, words in (
        ("nina", PASSWORD, "a console user named 'nina' exists already"),
        ("omar", "short", "at least 8 characters"),
        ("omar sharif", PASSWORD, "user name 'omar sharif'"),
    ):
        refused = cli("users", "add", name, "--role", "admin", "--password-stdin", input=f"{password}\n", ok=False)
        assert refused.exit_code == 1 and words in refused.output, refused.output
        assert len(refused.output.strip().splitlines()) == 1
    bad_role = cli("users", "add", "omar", "--role", "root", "--password-stdin", input=f"{PASSWORD}\n", ok=False)
    assert bad_role.exit_code == 2 and "'root' is not one of 'operator', 'admin'" in bad_role.output
    assert [u["name"] for u in json.loads(cli("users", "list", "--json").stdout)] == ["nina"]


def test_disable_enable_and_passwd_are_audited_and_never_show_a_password(cli, engine, settings):
    cli("users", "add", "nina", "--role", "operator", "--password-stdin", input=f"{PASSWORD}\n")
    viewer = users.start_session(engine, "nina", "10.0.0.7", "test")
    assert "user nina disabled and logged out" in cli("users", "disable", "nina").output
    assert users.session_viewer(engine, settings, viewer.token) is None
    assert "disabled" in cli("users", "list").stdout.splitlines()[1]
    assert "user nina enabled" in cli("users", "enable", "nina").output
    viewer = users.start_session(engine, "nina", "10.0.0.7", "test")
    changed = cli("users", "passwd", "nina", "--password-stdin", input=f"{NEW_PASSWORD}\n")
    assert "user nina has a new password and was logged out" in changed.output
    assert users.session_viewer(engine, settings, viewer.token) is None
    assert users.check_login(engine, settings, "nina", NEW_PASSWORD, "10.0.0.7", "test").ok
    prompted = cli("users", "passwd", "nina", input=f"{PASSWORD}\n{PASSWORD}\n")
    assert cli("users", "disable", "ghost", ok=False).output.strip() == (
        "Error: no console user named 'ghost' (see `asteriskbill users list`)"
    )
    audit = cli("audit", "list", "--json").stdout
    assert [(e["operator"], e["action"], e["subject"]) for e in json.loads(audit)] == [
        ("tester", "user.add", "nina"),
        ("tester", "user.disable", "nina"),
        ("tester", "user.enable", "nina"),
        ("tester", "user.passwd", "nina"),
        ("tester", "user.passwd", "nina"),
    ]
    shown = audit + changed.output + prompted.output + cli("users", "list", "--json").stdout
    assert PASSWORD not in shown and NEW_PASSWORD not in shown and "argon2" not in shown


def test_logins_lists_attempts_newest_first(cli, engine, settings):
    cli("users", "add", "nina", "--role", "operator", "--password-stdin", input=f"{PASSWORD}\n")
    now = utcnow()
    for name, password, moment in (
        ("nobody", "whatever1", now - timedelta(days=2)),
        ("nina", "wrong password", now - timedelta(hours=1)),
        ("nina", PASSWORD, now),
    ):
        users.check_login(engine, settings, name, password, "10.0.0.7", "Mozilla/5.0", now=moment)
    found = json.loads(cli("users", "logins", "--json").stdout)
    assert [(a["user"], a["ok"], a["reason"], a["address"]) for a in found] == [
        ("nina", True, "ok", "10.0.0.7"),
        ("nina", False, "wrong password", "10.0.0.7"),
        ("nobody", False, "unknown user", "10.0.0.7"),
    ]
    assert found[0]["at"] == now.isoformat(timespec="seconds") and found[0]["user_agent"] == "Mozilla/5.0"
    only = json.loads(cli("users", "logins", "--user", "nina", "--limit", "1", "--json").stdout)
    assert [a["reason"] for a in only] == ["ok"]
    since = (now - timedelta(days=1)).date().isoformat()
    recent = json.loads(cli("users", "logins", "--since", since, "--json").stdout)
    assert "nobody" not in [a["user"] for a in recent] and len(recent) == 2
    text = cli("users", "logins").stdout.splitlines()
    assert text[0].split() == ["at", "user", "address", "result", "user_agent"]
    assert "logged in" in text[1] and "wrong password" in text[2]
    refused = cli("users", "logins", "--since", "yesterday", ok=False)
    assert "'yesterday' is not a date like 2026-12-25" in refused.output


def test_password_stdin_from_a_real_pipe(sqlite_url):
    """The line read from a pipe, its line end (even a CRLF) left out, is the password."""
    run = [sys.executable, "-m", "asteriskbill.cli", "--db", sqlite_url, "users"]
    done = subprocess.run(
        [*run, "add", "nina", "--role", "admin", "--password-stdin"],
        input=f"{PASSWORD}\r\n",
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert PASSWORD not in done.stdout + done.stderr
    settings = Settings(db=sqlite_url)
    engine = make_engine(settings)
    try:
        assert users.check_login(engine, settings, "nina", PASSWORD, "10.0.0.7", "test").ok
    finally:
        engine.dispose()
