"""Console users (add, disable, enable, a new password) and the login log."""

from __future__ import annotations

from starlette.responses import Response
from starlette.routing import Route

from asteriskbill.errors import UserError
from asteriskbill.services import users
from asteriskbill.store.types import utcnow
from asteriskbill.web.auth import Ctx, page

LOGINS_PAGE = 100


@page("admin")
async def users_list(ctx: Ctx) -> Response:
    return await _listing(ctx)


async def _listing(ctx: Ctx, error: str | None = None, typed: dict | None = None) -> Response:
    """The users and the form to add one; after a refused form, its error and what was typed (no password)."""
    found = await ctx.run(users.list_users, ctx.engine)
    return ctx.render(
        "users/list.html",
        status=400 if error else 200,
        found=found,
        roles=users.ROLES,
        typed=typed or {"name": "", "role": users.ROLES[0]},
        now=utcnow(),  # a lock that has run out is no lock
        error=error,
    )


def _password(ctx: Ctx) -> str:
    """The new password, typed twice alike."""
    assert ctx.form is not None
    password = str(ctx.form.get("password", ""))
    if password != str(ctx.form.get("again", "")):
        raise UserError("the two passwords differ: type the same password twice")
    return password


@page("admin")
async def user_add(ctx: Ctx) -> Response:
    assert ctx.form is not None
    typed = {"name": str(ctx.form.get("name", "")).strip(), "role": str(ctx.form.get("role", ""))}
    try:
        await ctx.run(users.add, ctx.engine, ctx.operator, typed["name"], typed["role"], _password(ctx))
    except UserError as exc:
        return await _listing(ctx, str(exc), typed)
    return ctx.redirect("/users", flash=f"user {typed['name']} added as {typed['role']}")


@page("admin")
async def user_disable(ctx: Ctx) -> Response:
    name = ctx.request.path_params["name"]
    await ctx.run(users.disable, ctx.engine, ctx.operator, name)
    return ctx.redirect("/users", flash=f"user {name} disabled and logged out")


@page("admin")
async def user_enable(ctx: Ctx) -> Response:
    name = ctx.request.path_params["name"]
    await ctx.run(users.enable, ctx.engine, ctx.operator, name)
    return ctx.redirect("/users", flash=f"user {name} enabled")


@page("admin")
async def user_password(ctx: Ctx) -> Response:
    name = ctx.request.path_params["name"]
    try:
        await ctx.run(users.set_password, ctx.engine, ctx.operator, name, _password(ctx))
    except UserError as exc:
        return await _listing(ctx, f"{name}: {exc}")
    return ctx.redirect("/users", flash=f"user {name} has a new password and was logged out")


@page("admin")
async def logins(ctx: Ctx) -> Response:
    query = ctx.request.query_params
    shown = {"user": query.get("user", "").strip(), "since": query.get("since", "").strip()}
    limit = int(query["limit"]) if query.get("limit", "").isdigit() else LOGINS_PAGE
    try:
        since = ctx.moment("since")
    except UserError as exc:
        return ctx.render("users/logins.html", status=400, shown=shown, found=[], more=None, error=str(exc))
    found = await ctx.run(users.logins, ctx.engine, shown["user"] or None, since, limit + 1)
    more = {**shown, "limit": limit + LOGINS_PAGE} if len(found) > limit else None
    return ctx.render("users/logins.html", shown=shown, found=found[:limit], more=more)


ROUTES = [
    Route("/users", users_list, methods=["GET"]),
    Route("/users", user_add, methods=["POST"]),
    Route("/users/logins", logins, methods=["GET"]),
    Route("/users/{name}/disable", user_disable, methods=["POST"]),
    Route("/users/{name}/enable", user_enable, methods=["POST"]),
    Route("/users/{name}/password", user_password, methods=["POST"]),
]
