"""The Asterisk servers `serve` follows, each probed as the page is asked for (ARI and AMI, the calls up on it),
added and removed as `asteriskbill servers` does. A password or AMI secret is typed here, never shown."""

from __future__ import annotations

from starlette.responses import Response
from starlette.routing import Route

from asteriskbill.errors import UserError
from asteriskbill.services import servers, status
from asteriskbill.web import forms
from asteriskbill.web.auth import Ctx, page

NEW_SERVER = ("name", "ari_url", "ari_user", "ami_url", "ami_user")  # shown again after a refusal; no secrets


@page("admin")
async def servers_page(ctx: Ctx) -> Response:
    return await _page(ctx, dict.fromkeys(NEW_SERVER, ""))


async def _page(ctx: Ctx, typed: dict[str, str], error: str | None = None) -> Response:
    followed = await ctx.run(servers.servers, ctx.engine, ctx.settings)
    found = await ctx.run(status.status, ctx.engine, ctx.settings)  # probes each server, with a timeout
    return ctx.render(
        "servers/list.html",
        status=400 if error else 200,
        states={state.name: state for state in found.servers},
        followed=followed,
        table=servers.FROM_TABLE,
        up=status.UP,
        no_ami=status.NO_AMI,
        typed=typed,
        error=error,
    )


@page("admin")
async def server_add(ctx: Ctx) -> Response:
    assert ctx.form is not None
    typed = {name: forms.text(ctx.form, name) for name in NEW_SERVER}
    try:
        server = await ctx.run(
            servers.add,
            ctx.engine,
            ctx.operator,
            typed["name"],
            typed["ari_url"],
            typed["ari_user"],
            _secret(ctx, "ari_password"),
            ami_url=typed["ami_url"],
            ami_user=typed["ami_user"],
            ami_secret=_secret(ctx, "ami_secret"),
        )
    except UserError as exc:
        return await _page(ctx, typed, str(exc))
    return ctx.redirect("/servers", flash=f"server {server.name} added: a running serve connects to it within 30 s")


def _secret(ctx: Ctx, name: str) -> str:
    """A password as typed: spaces may be part of it."""
    assert ctx.form is not None
    value = ctx.form.get(name, "")
    return value if isinstance(value, str) else ""


@page("admin")
async def server_remove(ctx: Ctx) -> Response:
    name = ctx.request.path_params["name"]
    await ctx.run(servers.remove, ctx.engine, ctx.operator, name)
    return ctx.redirect("/servers", flash=f"server {name} removed: a running serve disconnects from it within 30 s")


ROUTES = [
    Route("/servers", servers_page, methods=["GET"]),
    Route("/servers", server_add, methods=["POST"]),
    Route("/servers/{name}/remove", server_remove, methods=["POST"]),
]
