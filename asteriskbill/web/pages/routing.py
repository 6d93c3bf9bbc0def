"""Least-cost routing: the vendors (a prepaid one recharged here), their trunks (turned off and on here), the
routing groups, and `routing explain` for an account and a number — as `asteriskbill vendors`, `trunks` and
`routing` show and do them. Vendors, trunks and groups are added and edited with those commands."""

from __future__ import annotations

from starlette.responses import Response
from starlette.routing import Route

from asteriskbill.errors import UserError
from asteriskbill.services import routing_groups, trunks, vendors
from asteriskbill.web import forms
from asteriskbill.web.auth import Ctx, page
from asteriskbill.web.render import money

EXPLAIN = ("account", "number", "at")  # the explain form's fields (a GET: nothing changes)
SWITCH = {"yes": True, "no": False}  # a trunk's enabled field: on or off


@page("admin")
async def routing_page(ctx: Ctx) -> Response:
    return await _page(ctx)


async def _page(ctx: Ctx, error: str | None = None) -> Response:
    """Vendors, trunks and groups; with ?account=...&number=..., how that call would be routed; after a refused
    form, its error."""
    query = ctx.request.query_params
    asked = {key: forms.text(query, key) for key in EXPLAIN}
    found = None
    if asked["account"] or asked["number"]:
        try:
            at = forms.moment(query, "at", "at")
            found = await ctx.run(
                routing_groups.explain, ctx.engine, ctx.settings, asked["account"], asked["number"], at
            )
        except UserError as exc:
            error = error or str(exc)
    return ctx.render(
        "routing/list.html",
        status=400 if error else 200,
        vendors=await ctx.run(vendors.list_vendors, ctx.engine),
        trunks=await ctx.run(trunks.list_trunks, ctx.engine),
        groups=await ctx.run(routing_groups.list_groups, ctx.engine),
        asked=asked,
        found=found,
        error=error,
    )


@page("admin")
async def trunk_switch(ctx: Ctx) -> Response:
    """Offer a trunk calls, or not (`trunks edit --enable/--disable`)."""
    assert ctx.form is not None
    name = ctx.request.path_params["name"]
    enabled = SWITCH.get(forms.text(ctx.form, "enabled"))
    try:
        if enabled is None:
            raise UserError(f"trunk {name}: choose enable or disable")
        trunk = await ctx.run(trunks.edit_trunk, ctx.engine, ctx.operator, name, trunks.TrunkChanges(enabled=enabled))
    except UserError as exc:
        return await _page(ctx, str(exc))
    state = "enabled: offered calls again" if trunk.enabled else "disabled: offered no calls"
    return ctx.redirect("/routing#trunks", flash=f"trunk {trunk.name} {state}")


@page("admin")
async def vendor_recharge(ctx: Ctx) -> Response:
    """Money paid in to a prepaid vendor (`vendors recharge NAME AMOUNT --reference ...`)."""
    assert ctx.form is not None
    name = ctx.request.path_params["name"]
    reference, note = forms.text(ctx.form, "reference") or None, forms.text(ctx.form, "note") or None
    try:
        amount = forms.amount(ctx.form, "amount", "amount")
        vendor = await ctx.run(
            vendors.post, ctx.engine, ctx.settings, ctx.operator, name, vendors.RECHARGE, amount, reference, note
        )
    except UserError as exc:
        return await _page(ctx, str(exc))
    said = f"recharged vendor {vendor.name} with {money(amount, vendor.currency)}"
    return ctx.redirect("/routing#vendors", flash=f"{said}: balance {money(vendor.balance, vendor.currency)}")


ROUTES = [
    Route("/routing", routing_page, methods=["GET"]),
    Route("/routing/trunks/{name}", trunk_switch, methods=["POST"]),
    Route("/routing/vendors/{name}/recharge", vendor_recharge, methods=["POST"]),
]
