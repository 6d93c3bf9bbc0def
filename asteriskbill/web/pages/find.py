"""Find an account or a card (by name, number, extension or caller ID), and the operator's page of each: balance,
credit history, recent calls, a recharge with its order number, and blocking or unblocking it. Closing an account
or deleting a card is for administrators (the Accounts and Cards pages)."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote

from starlette.responses import Response
from starlette.routing import Route

from asteriskbill.billing.accounts import CARD
from asteriskbill.billing.ledger import RECHARGE
from asteriskbill.errors import UserError
from asteriskbill.services import accounts, cards, cdrs, ledger, search
from asteriskbill.web import forms
from asteriskbill.web.auth import Ctx, page

FIND_LIMIT = 20
HISTORY_PAGE = 50
RECENT_CALLS = 20
ACCOUNT_ACTIONS = {"freeze": "frozen", "unfreeze": "active again"}  # what an operator may do; closing is not
CARD_ACTIONS = {"disable": (cards.disable, "disabled"), "enable": (cards.enable, "enabled again")}
BLANK = {"amount": "", "order": "", "note": "", "allow_duplicate_order": False}


@page("operator")
async def find(ctx: Ctx) -> Response:
    """What matches ?q=; a single match opens its page at once."""
    q = forms.text(ctx.request.query_params, "q")
    found = await ctx.run(search.find, ctx.engine, q, FIND_LIMIT) if q else []
    if len(found) == 1:
        return ctx.redirect(f"/{found[0].kind}/{quote(found[0].key, safe='')}")
    return ctx.render("find/results.html", q=q, found=found, more=len(found) == FIND_LIMIT)


# --- an account -----------------------------------------------------------------------------------------------


@page("operator")
async def account_page(ctx: Ctx) -> Response:
    return await _account(ctx, ctx.request.path_params["name"])


async def _account(ctx: Ctx, name: str, error: str | None = None) -> Response:
    """The account, a page of its credit history (?after=: older entries) and its recent calls; after a refused
    form, its error and what was typed."""
    after = forms.whole(ctx.request.query_params, "after", "after")
    account, entries = await ctx.run(accounts.history, ctx.engine, name, HISTORY_PAGE + 1, after)
    if account.kind == CARD:
        return ctx.redirect(_card_url(account.name))
    calls = await ctx.run(cdrs.list_cdrs, ctx.engine, cdrs.Filters(account=account.name, limit=RECENT_CALLS))
    return ctx.render(
        "account.html",
        status=400 if error else 200,
        account=account,
        entries=entries[:HISTORY_PAGE],
        following=entries[HISTORY_PAGE - 1].id if len(entries) > HISTORY_PAGE else None,
        calls=calls,
        typed=_typed(ctx) if error else BLANK,
        error=error,
    )


@page("operator")
async def account_recharge(ctx: Ctx) -> Response:
    """A payment in, as `asteriskbill accounts recharge` takes it."""
    name = ctx.request.path_params["name"]
    try:
        typed = _recharge(ctx)
        account, entry = await ctx.run(
            accounts.post,
            ctx.engine,
            ctx.operator,
            name,
            RECHARGE,
            typed.amount,
            typed.order,
            typed.note,
            limits=ledger.limits(ctx.settings),
            allow_duplicate_order=typed.again,
        )
    except UserError as exc:
        return await _account(ctx, name, str(exc))
    flash = ledger.recharged(account.name, typed.amount, account.currency, typed.order, entry.balance_after)
    return ctx.redirect(_account_url(account.name), flash=flash)


@page("operator")
async def account_status(ctx: Ctx) -> Response:
    """Freeze or unfreeze the account (its extensions follow a frozen company)."""
    assert ctx.form is not None
    name, action = ctx.request.path_params["name"], forms.text(ctx.form, "action")
    if action not in ACCOUNT_ACTIONS:
        raise UserError(f"unknown action {action!r}: freeze or unfreeze (closing is on the Accounts page)")
    try:
        account = await ctx.run(accounts.change_status, ctx.engine, ctx.operator, name, action)
    except UserError as exc:
        return await _account(ctx, name, str(exc))
    flash = f"{account.kind} {account.name} is {ACCOUNT_ACTIONS[action]}"
    return ctx.redirect(_account_url(account.name), flash=flash)


def _account_url(name: str) -> str:
    return f"/account/{quote(name, safe='')}"


# --- a card ---------------------------------------------------------------------------------------------------


@page("operator")
async def card_page(ctx: Ctx) -> Response:
    return await _card(ctx, ctx.request.path_params["number"])


async def _card(ctx: Ctx, number: str, error: str | None = None) -> Response:
    """The card, its latest ledger entries, caller IDs and recent calls; after a refused form, its error."""
    card, entries = await ctx.run(cards.show, ctx.engine, number)
    callerids = await ctx.run(cards.callerids, ctx.engine, card.number)
    calls = await ctx.run(cdrs.list_cdrs, ctx.engine, cdrs.Filters(card=card.number, limit=RECENT_CALLS))
    return ctx.render(
        "card.html",
        status=400 if error else 200,
        card=card,
        entries=entries,
        callerids=[callerid for _number, callerid in callerids],
        calls=calls,
        typed=_typed(ctx) if error else BLANK,
        error=error,
    )


@page("operator")
async def card_recharge(ctx: Ctx) -> Response:
    """A payment in, as `asteriskbill cards recharge` takes it."""
    number = ctx.request.path_params["number"]
    try:
        typed = _recharge(ctx)
        card, entry = await ctx.run(
            cards.recharge,
            ctx.engine,
            ctx.operator,
            number,
            typed.amount,
            typed.order,
            typed.note,
            limits=ledger.limits(ctx.settings),
            allow_duplicate_order=typed.again,
        )
    except UserError as exc:
        return await _card(ctx, number, str(exc))
    flash = ledger.recharged(f"card {card.number}", typed.amount, card.currency, typed.order, entry.balance_after)
    return ctx.redirect(_card_url(card.number), flash=flash)


@page("operator")
async def card_status(ctx: Ctx) -> Response:
    assert ctx.form is not None
    number, action = ctx.request.path_params["number"], forms.text(ctx.form, "action")
    if action not in CARD_ACTIONS:
        raise UserError(f"unknown action {action!r}: disable or enable (deleting is on the Cards page)")
    change, done = CARD_ACTIONS[action]
    try:
        [card] = await ctx.run(change, ctx.engine, ctx.operator, [number])
    except UserError as exc:
        return await _card(ctx, number, str(exc))
    return ctx.redirect(_card_url(card.number), flash=f"card {card.number} is {done}")


def _card_url(number: str) -> str:
    return f"/card/{quote(number, safe='')}"


# --- the recharge form ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Recharge:
    amount: int
    order: str | None
    note: str | None
    again: bool  # recharge even if the order number recharged it already


def _recharge(ctx: Ctx) -> Recharge:
    assert ctx.form is not None
    return Recharge(
        amount=forms.amount(ctx.form, "amount", "amount"),
        order=forms.text(ctx.form, "order") or None,
        note=forms.text(ctx.form, "note") or None,
        again=forms.text(ctx.form, "allow_duplicate_order") == "yes",
    )


def _typed(ctx: Ctx) -> dict[str, object]:
    """The recharge form as it was posted (shown again under its error)."""
    form: forms.Fields = ctx.form or {}
    return {field: forms.text(form, field) for field in ("amount", "order", "note")} | {
        "allow_duplicate_order": forms.text(form, "allow_duplicate_order") == "yes"
    }


ROUTES = [
    Route("/find", find, methods=["GET"]),
    Route("/account/{name}", account_page, methods=["GET"]),
    Route("/account/{name}/recharge", account_recharge, methods=["POST"]),
    Route("/account/{name}/status", account_status, methods=["POST"]),
    Route("/card/{number}", card_page, methods=["GET"]),
    Route("/card/{number}/recharge", card_recharge, methods=["POST"]),
    Route("/card/{number}/status", card_status, methods=["POST"]),
]
