"""The administrator's pages for console users, the login log and the audit log, driven as a browser would."""

from __future__ import annotations

import html
import re

from asteriskbill.services import audit, users
from asteriskbill.web.pages import audit as audit_page
from tests.helpers.console import PASSWORD, add_user, admin, client, log_in, operator, post_form  # noqa: F401

NEW_PASSWORD = "battery staple 2"


def add(web, name: str, role: str = "operator", password: str = PASSWORD, again: str | None = None):
    data = {"name": name, "role": role, "password": password, "again": password if again is None else again}
    return post_form(web, "/users", data, from_page="/users")


def logged_in(engine, settings, name: str, password: str = PASSWORD):
    """A fresh client logged in as ``name``."""
    web = client(engine, settings)
    assert log_in(web, name, password).status_code == 303
    return web


def test_an_admin_adds_a_user_who_can_then_log_in(engine, settings, admin):  # noqa: F811
    answer = add(admin, "nina")
    assert answer.status_code == 303 and answer.headers["location"] == "/users"
    shown = admin.get("/users")
    assert "user nina added as operator" in shown.text
    assert "<td>nina</td>" not in shown.text and ">nina</a>" in shown.text
    assert [(u.name, u.role) for u in users.list_users(engine)] == [("adam", "admin"), ("nina", "operator")]
    nina = logged_in(engine, settings, "nina")
    assert nina.get("/").status_code == 200
    assert nina.get("/users").status_code == 403  # an operator


def test_a_refused_user_form_shows_one_error_and_adds_nobody(engine, admin):  # noqa: F811
    for answer, words in (
        (add(admin, "nina", again="something else"), "the two passwords differ"),
        (add(admin, "adam"), "adam"),  # the service's words for a name taken
        (add(admin, "nina", password="short", again="short"), "8"),
    ):
        assert answer.status_code == 400
        assert 'role="alert"' in answer.text and words in answer.text
        assert "something else" not in answer.text  # what was typed stays, never a password
    assert 'value="nina"' in add(admin, "nina", again="typo").text
    assert [u.name for u in users.list_users(engine)] == ["adam"]


def test_disabling_a_user_ends_their_session_and_enabling_lets_them_back(engine, settings, admin):  # noqa: F811
    add_user(engine, "nina", "operator")
    nina = logged_in(engine, settings, "nina")
    answer = post_form(admin, "/users/nina/disable", {}, from_page="/users")
    assert answer.status_code == 303
    assert "user nina disabled" in admin.get("/users").text
    assert nina.get("/").status_code == 303  # sent to the login page
    assert log_in(client(engine, settings), "nina").status_code == 401
    assert "disabled" in admin.get("/users").text
    assert post_form(admin, "/users/nina/enable", {}, from_page="/users").status_code == 303
    assert logged_in(engine, settings, "nina").get("/").status_code == 200


def test_a_new_password_replaces_the_old_one_and_logs_the_user_out(engine, settings, admin):  # noqa: F811
    add_user(engine, "nina", "operator")
    nina = logged_in(engine, settings, "nina")
    refused = post_form(admin, "/users/nina/password", {"password": NEW_PASSWORD, "again": "typo"}, from_page="/users")
    assert refused.status_code == 400 and "the two passwords differ" in refused.text
    assert nina.get("/").status_code == 200  # nothing changed
    data = {"password": NEW_PASSWORD, "again": NEW_PASSWORD}
    assert post_form(admin, "/users/nina/password", data, from_page="/users").status_code == 303
    assert nina.get("/").status_code == 303
    assert log_in(client(engine, settings), "nina").status_code == 401
    assert logged_in(engine, settings, "nina", NEW_PASSWORD).get("/").status_code == 200


def test_an_unknown_user_cannot_be_disabled(engine, admin):  # noqa: F811
    answer = post_form(admin, "/users/ghost/disable", {}, from_page="/users")
    assert answer.status_code == 400 and "ghost" in answer.text


def test_the_login_log_lists_attempts_newest_first_by_user_and_pages_older_ones(engine, settings, admin):  # noqa: F811
    add_user(engine, "nina", "operator")
    log_in(client(engine, settings), "nina", "wrong password")
    logged_in(engine, settings, "nina")
    page = admin.get("/users/logins").text
    assert page.index("logged in") < page.index("wrong password")  # nina's success came last
    assert "adam" in page and "testclient" in page
    only_nina = admin.get("/users/logins", params={"user": "nina"}).text
    assert "wrong password" in only_nina and "<td>adam</td>" not in only_nina
    first = admin.get("/users/logins", params={"user": "nina", "limit": "1"}).text
    assert "wrong password" not in first and "Older attempts" in first
    assert 'href="/users/logins?user=nina&amp;since=&amp;limit=101"' in first
    assert "Older attempts" not in admin.get("/users/logins", params={"user": "nina", "limit": "2"}).text
    assert "No login attempts" in admin.get("/users/logins", params={"since": "2999-01-01"}).text
    bad = admin.get("/users/logins", params={"since": "yesterday"})
    assert bad.status_code == 400 and "is not a date like" in bad.text


def test_the_audit_log_shows_a_console_change_under_the_console_users_name(engine, admin):  # noqa: F811
    add(admin, "nina")
    [entry] = [e for e in audit.entries(engine) if e.subject == "nina"]
    page = admin.get("/audit").text
    assert "<td>adam</td>" in page and f"<td>{entry.action}</td>" in page and "<td>nina</td>" in page
    assert "<td>adam</td>" in admin.get("/audit", params={"operator": "adam", "action": "user"}).text
    assert "No entries" in admin.get("/audit", params={"operator": "nobody"}).text
    assert "No entries" in admin.get("/audit", params={"since": "2999-01-01"}).text
    bad = admin.get("/audit", params={"since": "2026-12-02", "until": "2026-12-01"})
    assert bad.status_code == 400 and "the period is empty" in bad.text


def test_the_audit_log_pages_older_entries_by_entry(engine, admin, monkeypatch):  # noqa: F811
    for name in ("nina", "omar", "pia"):
        add(admin, name)
    monkeypatch.setattr(audit_page, "PAGE_SIZE", 2)
    first = admin.get("/audit", params={"action": "user.add"}).text
    assert first.index("<td>pia</td>") < first.index("<td>omar</td>") and "<td>nina</td>" not in first
    older = re.search(r'href="(/audit\?[^"]*before=\d+)"', first)
    assert older, "no link to older entries"
    rest = admin.get(html.unescape(older.group(1))).text
    assert "<td>nina</td>" in rest and "<td>pia</td>" not in rest and "Older entries" not in rest


def test_an_operator_is_refused_the_administrator_pages(operator):  # noqa: F811
    for path in ("/users", "/users/logins", "/audit", "/system", "/stats"):
        assert operator.get(path).status_code == 403, path
    assert post_form(operator, "/users", {"name": "x", "role": "admin", "password": PASSWORD}).status_code == 403
