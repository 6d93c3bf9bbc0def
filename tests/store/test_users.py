"""Console users (services/users.py) on every backend: passwords as argon2id hashes, the lock after consecutive
wrong passwords, one login-log row per attempt, sessions that end on disable, a new password or idleness."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy import insert, select, update

from asteriskbill.errors import UserError
from asteriskbill.services import audit, users
from asteriskbill.store.models import ConsoleSession, ConsoleUser, LoginAttempt
from asteriskbill.store.types import utcnow

PASSWORD = "correct horse 1"
NEW_PASSWORD = "battery staple 2"
AGENT = "Mozilla/5.0 (test)"


def login(engine, settings, name: str = "nina", password: str = PASSWORD, address: str = "10.0.0.7", now=None):
    return users.check_login(engine, settings, name, password, address, AGENT, now=now)


def sessions(engine) -> list:
    with engine.connect() as conn:
        return conn.execute(select(ConsoleSession.__table__)).all()


def last_seen(engine):
    with engine.connect() as conn:
        return conn.execute(select(ConsoleSession.last_seen_at)).scalar_one()


@pytest.fixture
def nina(engine):
    return users.add(engine, "adam", "nina", "operator", PASSWORD)


def test_add_keeps_an_argon2id_hash_and_lists_users_by_name(engine, nina):
    users.add(engine, "adam", "adam", "admin", NEW_PASSWORD)
    assert (nina.name, nina.role, nina.disabled, nina.last_login_at, nina.locked_until) == (
        "nina",
        "operator",
        False,
        None,
        None,
    )
    assert [(u.name, u.role) for u in users.list_users(engine)] == [("adam", "admin"), ("nina", "operator")]
    with engine.connect() as conn:
        stored = conn.execute(select(ConsoleUser.password_hash).where(ConsoleUser.name == "nina")).scalar_one()
    assert stored.startswith("$argon2id$") and PASSWORD not in stored


@pytest.mark.parametrize(
    ("name", "role", "password", "words"),
    [
        ("nina", "operator", PASSWORD, "a console user named 'nina' exists already"),
        ("omar", "root", PASSWORD, "role 'root': use operator or admin"),
        ("", "operator", PASSWORD, "user name ''"),
        ("omar sharif", "operator", PASSWORD, "user name 'omar sharif'"),
        ("o" * 65, "operator", PASSWORD, "1 to 64"),
        ("omar", "operator", "short", "at least 8 characters"),
    ],
)
def test_a_refused_user_is_one_clear_line_and_changes_nothing(engine, nina, snapshot, name, role, password, words):
    before = snapshot()
    with pytest.raises(UserError) as refused:
        users.add(engine, "adam", name, role, password)
    assert words in str(refused.value) and "\n" not in str(refused.value)
    assert snapshot() == before


def test_a_right_password_logs_in_and_the_attempt_is_logged(engine, settings, nina):
    result = login(engine, settings)
    assert (result.ok, result.reason, result.delay) == (True, "ok", 0)
    assert result.user is not None and result.user.name == "nina" and result.user.last_login_at is not None
    [attempt] = users.logins(engine)
    assert (attempt.user, attempt.address, attempt.user_agent, attempt.ok, attempt.reason) == (
        "nina",
        "10.0.0.7",
        AGENT,
        True,
        "ok",
    )


def test_five_wrong_passwords_lock_the_user_and_the_right_one_is_then_refused(engine, settings, nina):
    now = utcnow()
    reasons = [login(engine, settings, password="wrong password", now=now).reason for _ in range(5)]
    assert reasons == ["wrong password"] * 5
    locked = login(engine, settings, now=now + timedelta(minutes=1))
    assert (locked.ok, locked.reason) == (False, "locked")
    attempts = users.logins(engine, user="nina")
    assert [(a.ok, a.reason) for a in attempts] == [(False, "locked")] + [(False, "wrong password")] * 5
    [view] = users.list_users(engine)
    assert view.locked_until == now + timedelta(minutes=settings.web_login_lock_minutes)  # not extended
    assert view.locked(now) and not view.locked(view.locked_until)


def test_the_lock_ends_after_the_lock_time(engine, settings, nina):
    settings = settings.replace(web_login_max_failures=2)  # fewer hashes to wait for
    now = utcnow()
    for _ in range(2):
        login(engine, settings, password="wrong password", now=now)
    ends = now + timedelta(minutes=settings.web_login_lock_minutes)
    assert login(engine, settings, now=ends - timedelta(seconds=1)).reason == "locked"
    assert login(engine, settings, now=ends).ok
    assert login(engine, settings, password="wrong password", now=ends).reason == "wrong password"  # counts anew
    assert login(engine, settings, now=ends).ok


def test_a_success_between_failures_starts_the_count_again(engine, settings, nina):
    settings = settings.replace(web_login_max_failures=2)
    for _ in range(2):
        assert login(engine, settings, password="wrong password").reason == "wrong password"
        assert login(engine, settings).ok


def test_unknown_and_disabled_users_are_refused_and_logged(engine, settings, nina):
    assert login(engine, settings, name="nobody").reason == "unknown user"
    users.disable(engine, "adam", "nina")
    assert login(engine, settings).reason == "disabled"
    assert login(engine, settings, password="wrong password").reason == "wrong password"
    assert [(a.user, a.reason) for a in users.logins(engine)] == [
        ("nina", "wrong password"),
        ("nina", "disabled"),
        ("nobody", "unknown user"),
    ]


def test_what_is_typed_is_logged_cut_to_its_column(engine, settings):
    result = users.check_login(engine, settings, "x" * 100, "whatever1", "10.0.0.7", "A" * 500)
    assert result.reason == "unknown user" and result.user is None
    [attempt] = users.logins(engine)
    assert (attempt.user, attempt.user_agent) == ("x" * 64, "A" * 300)


def earlier_failures(engine, count: int, at, address: str = "10.0.0.7") -> None:
    """``count`` failed attempts from ``address`` in the log already, as calls would leave them (without the
    seconds their hashing takes)."""
    rows = [
        {"at": at, "user": f"guess{n}", "address": address, "user_agent": AGENT, "ok": False, "reason": "unknown user"}
        for n in range(count)
    ]
    with engine.begin() as conn:
        conn.execute(insert(LoginAttempt), rows)


def test_many_failures_from_one_address_slow_its_answers(engine, settings, nina):
    now = utcnow()
    earlier_failures(engine, 9, now)
    assert [login(engine, settings, name="guess", now=now).delay for _ in range(4)] == [0, 1, 2, 3]
    assert login(engine, settings, address="10.0.0.8", now=now).delay == 0  # another address
    assert login(engine, settings, now=now).delay == 3  # a success from it waits too: its answer tells nothing
    assert login(engine, settings, name="guess", now=now + timedelta(minutes=15, seconds=1)).delay == 0
    earlier_failures(engine, 20, now)
    assert login(engine, settings, name="guess", now=now).delay == 10  # at most


def test_a_right_password_hashed_with_old_parameters_is_hashed_again(engine, settings, nina):
    from argon2 import PasswordHasher

    old = PasswordHasher(time_cost=1, memory_cost=8192).hash(PASSWORD)
    with engine.begin() as conn:
        conn.execute(update(ConsoleUser).values(password_hash=old))
    assert login(engine, settings).ok
    with engine.connect() as conn:
        stored = conn.execute(select(ConsoleUser.password_hash)).scalar_one()
    assert stored != old and not PasswordHasher().check_needs_rehash(stored)
    assert login(engine, settings).ok


def test_a_session_knows_its_user_and_keeps_only_the_tokens_hash(engine, settings, nina):
    viewer = users.start_session(engine, "nina", "10.0.0.7", AGENT)
    assert (viewer.name, viewer.role) == ("nina", "operator") and len(viewer.csrf) >= 32
    assert users.session_viewer(engine, settings, viewer.token) == viewer
    assert viewer.token not in repr(viewer)
    with engine.connect() as conn:
        [row] = conn.execute(select(ConsoleSession.__table__)).all()
    assert viewer.token not in [str(v) for v in row] and len(row.token_hash) == 64
    assert (row.address, row.user_agent) == ("10.0.0.7", AGENT)


def test_unknown_and_ended_tokens_have_no_viewer(engine, settings, nina):
    assert users.session_viewer(engine, settings, "no such token") is None
    assert users.session_viewer(engine, settings, "") is None
    viewer = users.start_session(engine, "nina", "10.0.0.7", AGENT)
    other = users.start_session(engine, "nina", "10.0.0.8", AGENT)
    users.end_session(engine, viewer.token)
    assert users.session_viewer(engine, settings, viewer.token) is None
    assert users.session_viewer(engine, settings, other.token) == other  # only that one ended


def test_a_session_idle_past_the_timeout_ends_and_use_keeps_it_alive(engine, settings, nina):
    start = utcnow()
    almost = timedelta(minutes=settings.web_session_idle_minutes) - timedelta(seconds=1)
    viewer = users.start_session(engine, "nina", "10.0.0.7", AGENT, now=start)
    used = start + almost
    assert users.session_viewer(engine, settings, viewer.token, now=used) == viewer
    assert users.session_viewer(engine, settings, viewer.token, now=used + almost) == viewer  # idle since ``used``
    gone = used + almost + almost + timedelta(seconds=2)
    assert users.session_viewer(engine, settings, viewer.token, now=gone) is None
    assert sessions(engine) == []  # the row is deleted
    assert users.session_viewer(engine, settings, viewer.token, now=used) is None


def test_last_seen_is_written_at_most_once_a_minute(engine, settings, nina):
    start = utcnow()
    viewer = users.start_session(engine, "nina", "10.0.0.7", AGENT, now=start)
    for seconds in (1, 30, 59):
        users.session_viewer(engine, settings, viewer.token, now=start + timedelta(seconds=seconds))
    assert last_seen(engine) == start
    users.session_viewer(engine, settings, viewer.token, now=start + timedelta(seconds=61))
    assert last_seen(engine) == start + timedelta(seconds=61)


def test_disabling_ends_the_users_sessions_and_enabling_lets_them_log_in(engine, settings, nina):
    users.add(engine, "tester", "adam", "admin", PASSWORD)
    ninas = [users.start_session(engine, "nina", "10.0.0.7", AGENT) for _ in range(2)]
    adams = users.start_session(engine, "adam", "10.0.0.9", AGENT)
    users.disable(engine, "adam", "nina")
    assert [users.session_viewer(engine, settings, v.token) for v in ninas] == [None, None]
    assert users.session_viewer(engine, settings, adams.token) == adams
    assert len(sessions(engine)) == 1  # nina's rows are deleted, adam's kept
    assert [(u.name, u.disabled) for u in users.list_users(engine)] == [("adam", False), ("nina", True)]
    with pytest.raises(UserError, match="user 'nina' is disabled already"):
        users.disable(engine, "adam", "nina")
    with pytest.raises(UserError, match="user 'nina' is disabled"):
        users.start_session(engine, "nina", "10.0.0.7", AGENT)
    users.enable(engine, "adam", "nina")
    assert login(engine, settings).ok
    with pytest.raises(UserError, match="user 'nina' is not disabled"):
        users.enable(engine, "adam", "nina")


def test_a_new_password_ends_the_sessions_and_lifts_a_lock(engine, settings, nina):
    settings = settings.replace(web_login_max_failures=1)
    viewer = users.start_session(engine, "nina", "10.0.0.7", AGENT)
    assert login(engine, settings, password="wrong password").user.locked()
    users.set_password(engine, "adam", "nina", NEW_PASSWORD)
    assert sessions(engine) == [] and users.session_viewer(engine, settings, viewer.token) is None
    assert login(engine, settings, password=NEW_PASSWORD).ok
    assert login(engine, settings).reason == "wrong password"  # the old one
    with pytest.raises(UserError, match="at least 8 characters"):
        users.set_password(engine, "adam", "nina", "short")


def test_an_unknown_user_cannot_be_changed(engine):
    for change in (users.disable, users.enable):
        with pytest.raises(UserError, match="no console user named 'ghost'"):
            change(engine, "adam", "ghost")
    with pytest.raises(UserError, match="no console user named 'ghost'"):
        users.set_password(engine, "adam", "ghost", NEW_PASSWORD)


def test_changes_are_audited_without_the_password_or_its_hash(engine, settings, nina):
    users.set_password(engine, "adam", "nina", NEW_PASSWORD)
    users.disable(engine, "adam", "nina")
    users.enable(engine, "adam", "nina")
    found = [e for e in audit.entries(engine) if e.action.startswith("user.")]
    assert [(e.operator, e.action, e.subject) for e in found] == [
        ("adam", "user.add", "nina"),
        ("adam", "user.passwd", "nina"),
        ("adam", "user.disable", "nina"),
        ("adam", "user.enable", "nina"),
    ]
    assert found[0].detail == {"role": "operator"}
    with engine.connect() as conn:
        stored = conn.execute(select(ConsoleUser.password_hash)).scalar_one()
    logged = json.dumps([e.detail for e in found])
    assert all(secret not in logged for secret in (PASSWORD, NEW_PASSWORD, stored, "argon2"))


def test_logins_filter_by_user_and_moment_newest_first(engine, settings, nina):
    now = utcnow()
    login(engine, settings, name="nobody", now=now - timedelta(hours=2))
    login(engine, settings, password="wrong password", now=now - timedelta(hours=1))
    login(engine, settings, now=now)
    assert [a.reason for a in users.logins(engine)] == ["ok", "wrong password", "unknown user"]
    assert [a.reason for a in users.logins(engine, user="nina")] == ["ok", "wrong password"]
    assert [a.reason for a in users.logins(engine, since=now - timedelta(minutes=90))] == ["ok", "wrong password"]
    assert [a.reason for a in users.logins(engine, limit=1)] == ["ok"]
    assert [a.at for a in users.logins(engine, user="nobody")] == [now - timedelta(hours=2)]
