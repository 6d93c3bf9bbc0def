"""Who may use the console: every route checks its role on the server, every POST its CSRF token; sessions,
login throttling and the security headers."""

from __future__ import annotations

import re

import pytest
from starlette.routing import Mount, Route

from asteriskbill.services import users
from asteriskbill.web.app import create_app
from asteriskbill.web.auth import RANK, SESSION_COOKIE
from tests.helpers.console import PASSWORD, add_user, admin, client, log_in, operator, post_form  # noqa: F401


def _routes(engine, settings) -> list[tuple[str, str, str]]:
    """(method, path with sample parameters, role) of every route of the application."""
    found = []
    for route in create_app(engine, settings).routes:
        if isinstance(route, Mount):
            continue
        assert isinstance(route, Route), route
        role = getattr(route.endpoint, "role", None)
        assert role in RANK, f"{route.path} declares no role: wrap its handler in @page(...)"
        path = re.sub(r"\{[^}]+\}", "sample", route.path)
        found += [(method, path, role) for method in sorted(route.methods or ()) if method != "HEAD"]
    return found


def test_every_route_declares_a_role_and_the_console_has_both_kinds(engine, settings):
    roles = {role for _method, _path, role in _routes(engine, settings)}
    assert {"public", "operator"} <= roles


def test_an_anonymous_visitor_is_sent_to_the_login_page_from_every_route(engine, settings):
    web = client(engine, settings)
    for method, path, role in _routes(engine, settings):
        if role == "public":
            continue
        answer = web.request(method, path)
        assert answer.status_code == 303, (method, path, answer.status_code)
        assert answer.headers["location"].startswith("/login?next="), (method, path)


def test_an_operator_is_refused_every_administrator_route(engine, settings, operator):  # noqa: F811
    admin_routes = [(m, p) for m, p, role in _routes(engine, settings) if role == "admin"]
    for method, path in admin_routes:
        answer = operator.request(method, path, data={"csrf": "x"} if method == "POST" else None)
        assert answer.status_code == 403, (method, path, answer.status_code)


def test_login_sets_a_strict_http_only_session_cookie_and_logout_ends_the_session(engine, settings):
    add_user(engine, "olga", "operator")
    web = client(engine, settings)
    answer = log_in(web, "olga")
    assert answer.status_code == 303 and answer.headers["location"] == "/"
    cookie = answer.headers["set-cookie"]
    assert cookie.startswith(f"{SESSION_COOKIE}=") and "HttpOnly" in cookie and "SameSite=strict" in cookie
    assert "Secure" not in cookie
    token = web.cookies[SESSION_COOKIE]
    assert users.session_viewer(engine, settings, token) is not None
    assert web.get("/").status_code == 200
    assert post_form(web, "/logout", {}).status_code == 303
    assert users.session_viewer(engine, settings, token) is None
    web.cookies.set(SESSION_COOKIE, token)  # the old cookie, replayed
    assert web.get("/").status_code == 303


def test_secure_cookies_when_the_setting_is_on(engine, settings):
    add_user(engine, "olga", "operator")
    web = client(engine, settings.replace(web_secure_cookies=True))
    assert "Secure" in log_in(web, "olga").headers["set-cookie"]


def test_a_post_without_its_csrf_token_changes_nothing(engine, settings, operator):  # noqa: F811
    token = operator.cookies[SESSION_COOKIE]
    for data in ({}, {"csrf": "forged"}):
        answer = operator.post("/logout", data=data)
        assert answer.status_code == 403
        assert "expired" in answer.text
        assert users.session_viewer(engine, settings, token) is not None  # still logged in


def test_the_login_form_needs_its_own_csrf_token(engine, settings):
    add_user(engine, "olga", "operator")
    web = client(engine, settings)
    answer = web.post("/login", data={"name": "olga", "password": PASSWORD})
    assert answer.status_code == 403
    assert users.logins(engine) == []  # refused before any attempt was made


def test_the_sixth_wrong_password_is_refused_even_with_the_right_one_and_all_six_are_logged(engine, settings):
    add_user(engine, "olga", "operator")
    web = client(engine, settings)
    for _ in range(5):
        answer = log_in(web, "olga", "wrong password")
        assert answer.status_code == 401 and "wrong user name or password" in answer.text
    answer = log_in(web, "olga")
    assert answer.status_code == 401 and "locked" in answer.text
    assert SESSION_COOKIE not in web.cookies
    attempts = users.logins(engine, user="olga")
    assert [a.ok for a in attempts] == [False] * 6
    assert attempts[0].reason == "locked" and {a.reason for a in attempts[1:]} == {"wrong password"}
    assert {a.address for a in attempts} == {"testclient"}


def test_an_unknown_user_gets_the_same_words_as_a_wrong_password(engine, settings):
    web = client(engine, settings)
    answer = log_in(web, "nobody", "whatever1")
    assert answer.status_code == 401 and "wrong user name or password" in answer.text


@pytest.mark.parametrize("wanted", ["//evil.example/x", "https://evil.example/", "/\\evil.example"])
def test_login_never_sends_the_user_to_another_site(engine, settings, wanted):
    add_user(engine, "olga", "operator")
    web = client(engine, settings)
    form = web.get("/login", params={"next": wanted})
    token = re.search(r'name="csrf" value="([^"]*)"', form.text)
    assert token
    answer = web.post("/login", data={"csrf": token.group(1), "name": "olga", "password": PASSWORD, "next": wanted})
    assert answer.headers["location"] == "/"


def test_login_returns_to_the_page_asked_for(engine, settings):
    add_user(engine, "olga", "operator")
    web = client(engine, settings)
    sent = web.get("/calls", params={"since": "2026-11-01"})
    assert sent.headers["location"] == "/login?next=%2Fcalls%3Fsince%3D2026-11-01"
    form = web.get(sent.headers["location"])
    token = re.search(r'name="csrf" value="([^"]*)"', form.text)
    assert token
    answer = web.post(
        "/login", data={"csrf": token.group(1), "name": "olga", "password": PASSWORD, "next": "/calls?since=2026-11-01"}
    )
    assert answer.headers["location"] == "/calls?since=2026-11-01"


def test_every_answer_carries_the_security_headers(engine, settings, operator):  # noqa: F811
    for path in ("/login", "/", "/static/app.css"):
        headers = operator.get(path).headers
        csp = headers["content-security-policy"]
        assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp and "unsafe-inline" not in csp
        assert headers["x-frame-options"] == "DENY" and headers["x-content-type-options"] == "nosniff"
    assert operator.get("/").headers["cache-control"] == "no-store"


def test_a_disabled_user_is_logged_out_at_once(engine, settings, operator):  # noqa: F811
    assert operator.get("/").status_code == 200
    users.disable(engine, "tester", "olga")
    assert operator.get("/").status_code == 303
