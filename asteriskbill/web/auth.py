"""Who is asking, and may they: every console route is a handler wrapped by ``page(role)``.

The wrapper finds the server-side session from its cookie (services/users.py), sends a visitor without one to the
login page, refuses a role too low with 403, checks the CSRF token of every POST, and turns a UserError into the
page's one error line (status 400; services are transactional, so nothing changed). Roles are enforced here, on the
server, for every route — hiding a link is only a courtesy.
"""

from __future__ import annotations

import functools
import hmac
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import quote, unquote
from zoneinfo import ZoneInfo

from markupsafe import Markup
from sqlalchemy import Engine
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.templating import Jinja2Templates

from asteriskbill.billing.periods import bound, parse_moment
from asteriskbill.errors import UserError
from asteriskbill.services import users
from asteriskbill.settings import Settings

SESSION_COOKIE = "asteriskbill_session"
FLASH_COOKIE = "asteriskbill_flash"
RANK = {"public": 0, "operator": 1, "admin": 2}
MAX_UPLOAD = 64 << 20  # a rates file of a few million lines


@dataclass(frozen=True)
class Web:
    """What every handler shares, kept on ``app.state.web``."""

    engine: Engine
    settings: Settings
    templates: Jinja2Templates


class Ctx:
    """One request to a handler: who asks, the checked form of a POST, and the helpers a page needs."""

    def __init__(self, request: Request, viewer: users.Viewer | None, form: FormData | None):
        self.request = request
        self.viewer = viewer
        self.form = form
        self.web: Web = request.app.state.web
        flash = request.cookies.get(FLASH_COOKIE) if request.method == "GET" else None
        self.flash = unquote(flash) if flash else None

    @property
    def engine(self) -> Engine:
        return self.web.engine

    @property
    def settings(self) -> Settings:
        return self.web.settings

    @property
    def zone(self) -> ZoneInfo:
        """The timezone setting: what a day or a time typed in a form means."""
        return ZoneInfo(self.settings.timezone)

    def moment(self, name: str, end: bool = False) -> datetime | None:
        """Query parameter ``name``, a day or a time in the timezone setting, as a period's UTC bound (``end``: a
        day alone is included whole); None when it is empty."""
        text = self.request.query_params.get(name, "").strip()
        return bound(parse_moment(text), self.zone, end) if text else None

    @property
    def operator(self) -> str:
        """The name the audit log records for a change made here: the console user's."""
        assert self.viewer is not None
        return self.viewer.name

    async def run(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """A service call, in a worker thread (they use the database synchronously)."""
        return await run_in_threadpool(fn, *args, **kwargs)

    def render(self, template: str, status: int = 200, **context: Any) -> Response:
        context = {"viewer": self.viewer, "flash": self.flash, "error": None, "csrf_field": self.csrf_field, **context}
        response = self.web.templates.TemplateResponse(self.request, template, context, status_code=status)
        if self.flash:
            response.delete_cookie(FLASH_COOKIE, path="/")
        return response

    def csrf_field(self) -> Markup:
        """The hidden input every POST form carries (its value is the session's token)."""
        token = self.viewer.csrf if self.viewer else ""
        return Markup('<input type="hidden" name="csrf" value="{}">').format(token)

    def redirect(self, url: str, flash: str | None = None) -> Response:
        """See Other to ``url`` (after a POST), with one message for the next page."""
        response = RedirectResponse(url, status_code=303)
        if flash:
            response.set_cookie(FLASH_COOKIE, quote(flash), path="/", httponly=True, samesite="strict")
        return response


Handler = Callable[[Ctx], Awaitable[Response]]


def page(role: str) -> Callable[[Handler], Callable[[Request], Awaitable[Response]]]:
    """The endpoint for a handler that ``role`` (or higher) may use; ``endpoint.role`` says which."""
    needed = RANK[role]

    def decorate(handler: Handler) -> Callable[[Request], Awaitable[Response]]:
        @functools.wraps(handler)
        async def endpoint(request: Request) -> Response:
            web: Web = request.app.state.web
            viewer = await viewer_of(request, web)
            if viewer is None:
                if needed:
                    return login_redirect(request)
            elif RANK[viewer.role] < needed:
                return refused(request, web, viewer, "this page is for administrators", 403)
            form = None
            if request.method == "POST":
                form = await request.form(max_part_size=MAX_UPLOAD)
                expected = viewer.csrf if viewer else request.cookies.get(LOGIN_CSRF_COOKIE, "")
                if not expected or not hmac.compare_digest(str(form.get("csrf", "")), expected):
                    return refused(request, web, viewer, "this form has expired: reload the page and try again", 403)
            ctx = Ctx(request, viewer, form)
            try:
                return await handler(ctx)
            except UserError as exc:
                return ctx.render("error.html", status=400, error=str(exc))

        endpoint.role = role  # type: ignore[attr-defined]  # read by the route test and the navigation
        return endpoint

    return decorate


LOGIN_CSRF_COOKIE = "asteriskbill_login"


async def viewer_of(request: Request, web: Web) -> users.Viewer | None:
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        return None
    return await run_in_threadpool(users.session_viewer, web.engine, web.settings, token)


def login_redirect(request: Request) -> Response:
    wanted = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return RedirectResponse(f"/login?next={quote(wanted, safe='')}", status_code=303)


def refused(request: Request, web: Web, viewer: users.Viewer | None, why: str, status: int) -> Response:
    csrf_field = Ctx(request, viewer, None).csrf_field  # base.html's log-out form, for a viewer refused a page
    context = {"viewer": viewer, "flash": None, "error": why, "csrf_field": csrf_field}
    return web.templates.TemplateResponse(request, "error.html", context, status_code=status)
