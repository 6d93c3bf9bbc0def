"""Accounts for the administrator: companies, extensions and gateways listed a page at a time, created, edited,
frozen, unfrozen or closed, imported from a sheet (all or nothing) and exported. The operator's page of one
account (balance, recharge, history) is /account/{name}."""

from __future__ import annotations

from urllib.parse import quote

from starlette.responses import Response
from starlette.routing import Route

from asteriskbill.billing import accounts as rules
from asteriskbill.errors import UserError
from asteriskbill.money import format_amount
from asteriskbill.services import account_edits, account_sheets, accounts
from asteriskbill.services.accounts import NewAccount
from asteriskbill.web import downloads, forms, uploads
from asteriskbill.web.auth import Ctx, page

PAGE_SIZE = 100
FILTERS = ("kind", "status", "company", "search")
NEW = (
    "kind",
    "name",
    "company",
    "tariff",
    "currency",
    "credit_limit",
    "max_calls",
    "extension",
    "accountcode",
    "booth",
)
STATUS_ACTIONS = {"freeze": "frozen", "unfreeze": "active again", "close": "closed for good"}


@page("admin")
async def accounts_list(ctx: Ctx) -> Response:
    """The accounts page; with ?format=csv|xlsx, the accounts of the kind and company chosen, as
    `asteriskbill accounts export` writes them."""
    query = ctx.request.query_params
    fmt = query.get("format")
    if fmt:
        kind, company = forms.text(query, "kind") or None, forms.text(query, "company") or None
        return await ctx.run(
            downloads.written,
            "accounts",
            fmt,
            lambda path: account_sheets.export_accounts(ctx.engine, path, kind, company),
        )
    return await _listing(ctx, {})


async def _listing(ctx: Ctx, typed: dict[str, str], error: str | None = None) -> Response:
    """A page of the accounts the filters choose, and the forms; after a refused form, its error (the lines of a
    refused file listed under it) and what was typed."""
    query = ctx.request.query_params
    shown = {name: forms.text(query, name) for name in FILTERS}
    after = forms.text(query, "after") or None
    companies = await ctx.run(accounts.list_accounts, ctx.engine, rules.COMPANY)
    try:
        found = await ctx.run(
            accounts.list_accounts,
            ctx.engine,
            shown["kind"] or None,
            shown["company"] or None,
            shown["search"] or None,
            status=shown["status"] or None,
            after=after,
            limit=PAGE_SIZE + 1,
        )
    except UserError as exc:
        found, error = [], error or str(exc)
    lines = error.splitlines() if error else []
    return ctx.render(
        "accounts/list.html",
        status=400 if error else 200,
        shown=shown,
        found=found[:PAGE_SIZE],
        following=found[PAGE_SIZE - 1].name if len(found) > PAGE_SIZE else None,
        companies=companies,
        kinds=account_sheets.KINDS,
        statuses=rules.STATUSES,
        typed=dict.fromkeys(NEW, "") | {"kind": rules.EXTENSION} | typed,
        back=_here(ctx),
        error=lines[0] if lines else None,
        problems=[line.strip() for line in lines[1:]],
    )


@page("admin")
async def account_create(ctx: Ctx) -> Response:
    """A company, extension or gateway, as `asteriskbill accounts create` makes it."""
    assert ctx.form is not None
    typed = {name: forms.text(ctx.form, name) for name in NEW}
    try:
        new = NewAccount(
            kind=typed["kind"],
            name=typed["name"],
            parent=typed["company"] or None,
            tariff=typed["tariff"] or None,
            currency=typed["currency"] or None,
            credit_limit=forms.amount(ctx.form, "credit_limit", "credit limit") if typed["credit_limit"] else 0,
            max_calls=forms.whole(ctx.form, "max_calls", "max calls"),
            extension=typed["extension"] or None,
            accountcode=typed["accountcode"] or None,
            booth=typed["booth"] == "yes",
        )
        created = await ctx.run(accounts.create, ctx.engine, ctx.operator, new)
    except UserError as exc:
        return await _listing(ctx, typed, str(exc))
    what = "booth" if created.booth else created.kind
    owner = f" of company {created.parent}" if created.parent else ""
    return ctx.redirect(
        f"/accounts?search={quote(created.name)}", flash=f"{what} {created.name}{owner} created in {created.currency}"
    )


@page("admin")
async def accounts_import(ctx: Ctx) -> Response:
    """A sheet of companies, extensions and gateways, all or nothing, as `asteriskbill accounts import`."""
    assert ctx.form is not None
    try:
        upload = uploads.chosen(ctx.form, "file")
        result = await ctx.run(
            uploads.using, upload, lambda path: account_sheets.import_accounts(ctx.engine, ctx.operator, path)
        )
    except UserError as exc:
        return await _listing(ctx, {}, str(exc))
    kinds = ", ".join(f"{kind}: {count}" for kind, count in result.counts.items() if count)
    ignored = "; the balance column was ignored, every account starts at 0.00" if result.balance_ignored else ""
    return ctx.redirect(
        "/accounts", flash=f"imported {result.total} accounts from {upload.filename} ({kinds}){ignored}"
    )


@page("admin")
async def account_status(ctx: Ctx) -> Response:
    """Freeze, unfreeze or close an account; back to the list as it was shown."""
    assert ctx.form is not None
    name, action = ctx.request.path_params["name"], forms.text(ctx.form, "action")
    if action not in STATUS_ACTIONS:
        raise UserError(f"unknown action {action!r}: freeze, unfreeze or close")
    account = await ctx.run(accounts.change_status, ctx.engine, ctx.operator, name, action)
    back = forms.text(ctx.form, "back")
    return ctx.redirect(
        back if back.startswith("/accounts") else "/accounts",
        flash=f"{account.kind} {account.name} is {STATUS_ACTIONS[action]}",
    )


@page("admin")
async def account_edit_form(ctx: Ctx) -> Response:
    account = await ctx.run(accounts.show, ctx.engine, ctx.request.path_params["name"])
    return _edit_page(ctx, account)


def _edit_page(ctx: Ctx, account: accounts.AccountView, error: str | None = None) -> Response:
    """The account's settings in the form: as they are, or as typed in a refused form."""
    values = {
        "tariff": account.tariff or "",
        "credit_limit": format_amount(account.credit_limit),
        "max_calls": account.max_calls or "",
        "extension": account.extension or "",
        "accountcode": account.accountcode or "",
        "booth": account.booth,
    }
    if error and ctx.form is not None:
        values |= {field: forms.text(ctx.form, field) for field in values if field in ctx.form}
        values["booth"] = "yes" in ctx.form.getlist("booth")
    status = 400 if error else 200
    return ctx.render("accounts/edit.html", status=status, account=account, values=values, error=error)


@page("admin")
async def account_edit(ctx: Ctx) -> Response:
    """The fields the form has (a form shows those the account's kind has), as the service checks them."""
    assert ctx.form is not None
    name = ctx.request.path_params["name"]
    try:
        changes = _changes(ctx)
        account = await ctx.run(account_edits.edit, ctx.engine, ctx.operator, name, changes)
    except UserError as exc:
        account = await ctx.run(accounts.show, ctx.engine, name)
        return _edit_page(ctx, account, str(exc))
    return ctx.redirect(_url(account.name), flash=f"{account.kind} {account.name} saved")


def _changes(ctx: Ctx) -> dict[str, object]:
    assert ctx.form is not None
    form = ctx.form
    changes: dict[str, object] = {
        field: forms.text(form, field) for field in ("tariff", "extension", "accountcode") if field in form
    }
    if "credit_limit" in form:
        changes["credit_limit"] = forms.amount(form, "credit_limit", "credit limit")
    if "max_calls" in form:
        changes["max_calls"] = forms.whole(form, "max_calls", "max calls")
    if "booth" in form:  # a hidden "no" before the checkbox: unticked is a change too
        changes["booth"] = "yes" in form.getlist("booth")
    return changes


def _url(name: str) -> str:
    return f"/accounts/{quote(name, safe='')}/edit"


def _here(ctx: Ctx) -> str:
    """This list as it is shown (its filters and page), for the forms that come back to it."""
    query = ctx.request.url.query
    return "/accounts" + (f"?{query}" if query else "")


ROUTES = [
    Route("/accounts", accounts_list, methods=["GET"]),
    Route("/accounts", account_create, methods=["POST"]),
    Route("/accounts/import", accounts_import, methods=["POST"]),
    Route("/accounts/{name}/status", account_status, methods=["POST"]),
    Route("/accounts/{name}/edit", account_edit_form, methods=["GET"]),
    Route("/accounts/{name}/edit", account_edit, methods=["POST"]),
]
