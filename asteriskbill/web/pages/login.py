"""Log in and out. A wrong password and an unknown user get the same words; every attempt is in the login log."""

from __future__ import annotations

import asyncio
import secrets

from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from asteriskbill.services import users
from asteriskbill.web.auth import LOGIN_CSRF_COOKIE, SESSION_COOKIE, Ctx, page

REFUSED = {
    "locked": "too many wrong passwords: this user is locked for a while, ask an administrator",
    "disabled": "this user is disabled, ask an administrator",
}


def _next(ctx: Ctx) -> str:
    """Where to go once logged in: a path of this console only (never another site)."""
    wanted = str((ctx.form or ctx.request.query_params).get("next", "/"))
    return wanted if wanted.startswith("/") and not wanted.startswith(("//", "/\\")) else "/"


@page("public")
async def login_form(ctx: Ctx) -> Response:
    if ctx.viewer is not None:
        return RedirectResponse(_next(ctx), status_code=303)
    return _form(ctx)


def _form(ctx: Ctx, error: str | None = None, name: str = "", status: int = 200) -> Response:
    token = ctx.request.cookies.get(LOGIN_CSRF_COOKIE) or secrets.token_urlsafe(24)
    response = ctx.render("login.html", status=status, login_csrf=token, next=_next(ctx), name=name, error=error)
    response.set_cookie(LOGIN_CSRF_COOKIE, token, path="/login", httponly=True, samesite="strict")
    return response


@page("public")
async def login(ctx: Ctx) -> Response:
    assert ctx.form is not None
    name = str(ctx.form.get("name", "")).strip()
    client = ctx.request.client
    address = client.host if client else ""
    agent = ctx.request.headers.get("user-agent", "")
    result = await ctx.run(
        users.check_login, ctx.engine, ctx.settings, name, str(ctx.form.get("password", "")), address, agent
    )
    if result.delay:
        await asyncio.sleep(result.delay)  # many failures from this address: each answer comes slower
    if not result.ok:
        error = REFUSED.get(result.reason, "wrong user name or password")
        return _form(ctx, error, name, status=401)
    viewer = await ctx.run(users.start_session, ctx.engine, name, address, agent)
    response = RedirectResponse(_next(ctx), status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        viewer.token,
        path="/",
        httponly=True,
        samesite="strict",
        secure=ctx.settings.web_secure_cookies,
    )
    response.delete_cookie(LOGIN_CSRF_COOKIE, path="/login")
    return response


@page("operator")
async def logout(ctx: Ctx) -> Response:
    assert ctx.viewer is not None
    await ctx.run(users.end_session, ctx.engine, ctx.viewer.token)
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


ROUTES = [
    Route("/login", login_form, methods=["GET"]),
    Route("/login", login, methods=["POST"]),
    Route("/logout", logout, methods=["POST"]),
]
