"""The console in tests: the real application in-process (Starlette's TestClient, real database), logged in."""

from __future__ import annotations

import re

import pytest
from starlette.testclient import TestClient

from asteriskbill.services import users
from asteriskbill.web.app import create_app

PASSWORD = "correct horse 1"
CSRF = re.compile(r'name="csrf" value="([^"]*)"')


def add_user(engine, name: str, role: str) -> None:
    users.add(engine, "tester", name, role, PASSWORD)


def client(engine, settings) -> TestClient:
    """A browser-like client of the console (cookies kept, redirects not followed)."""
    return TestClient(create_app(engine, settings), base_url="http://127.0.0.1", follow_redirects=False)


def csrf_of(page_text: str) -> str:
    found = CSRF.search(page_text)
    assert found, "no CSRF field on the page"
    return found.group(1)


def log_in(web: TestClient, name: str, password: str = PASSWORD):
    """Post the login form as a browser would (its CSRF cookie and field first)."""
    form = web.get("/login")
    return web.post("/login", data={"csrf": csrf_of(form.text), "name": name, "password": password})


def post_form(web: TestClient, path: str, data: dict, *, from_page: str | None = None, files=None):
    """Post ``data`` to ``path`` with the CSRF token a page of the session carries (``from_page``, else /)."""
    token = csrf_of(web.get(from_page or "/").text)
    return web.post(path, data={"csrf": token, **data}, files=files)


@pytest.fixture
def operator(engine, settings) -> TestClient:
    """A client logged in as operator "olga"."""
    add_user(engine, "olga", "operator")
    web = client(engine, settings)
    assert log_in(web, "olga").status_code == 303
    return web


@pytest.fixture
def admin(engine, settings) -> TestClient:
    """A client logged in as administrator "adam"."""
    add_user(engine, "adam", "admin")
    web = client(engine, settings)
    assert log_in(web, "adam").status_code == 303
    return web
