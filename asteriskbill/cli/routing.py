"""`asteriskbill routing ...`: routing groups (which trunks calls are offered to, by which policy), their binding
to accounts and tariffs, and `routing explain`, the order a call would be tried in and why."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

import click

from asteriskbill.cli.common import App, echo_json, echo_table, json_option, pass_app
from asteriskbill.cli.lazy import LazyModule
from asteriskbill.cli.options import DATETIME, Whole
from asteriskbill.money import format_amount

if TYPE_CHECKING:
    from asteriskbill.services import routing_groups as service
else:
    service = LazyModule("asteriskbill.services.routing_groups")

POLICY_HELP = "lcr (cheapest to buy first), priority (lowest priority number first) or weighted (drawn by weight)"


def _group_dict(group: service.GroupView) -> dict:
    return {
        "name": group.name,
        "policy": group.policy,
        "allow_loss": group.allow_loss,
        "entries": [
            {"trunk": e.trunk, "vendor": e.vendor, "prefix": e.prefix, "priority": e.priority, "weight": e.weight}
            for e in group.entries
        ],
        "accounts": group.accounts,
        "tariffs": group.tariffs,
    }


def _summary(group: service.GroupView) -> str:
    loss = ", may sell at a loss" if group.allow_loss else ""
    count = len(group.entries)
    return f"routing group {group.name} ({group.policy}{loss}, {count} trunk{'' if count == 1 else 's'})"


def target_options(command):
    """--account NAME | --tariff NAME: what a group is bound to or unbound from."""
    command = click.option("--tariff", help="The tariff whose accounts (without a group of their own) it routes.")(
        command
    )
    return click.option("--account", help="The account (or company, for its accounts) it routes.")(command)


@click.group()
def routing() -> None:
    """Routing groups: the trunks an account's calls are offered to, in the order of a policy, with failover.

    An account's calls go through its own group, else its company's, else its tariff's; with none, through
    the routes table (`routes`).
    """


@routing.command()
@click.argument("name")
@click.option("--policy", required=True, metavar="lcr|priority|weighted", help=POLICY_HELP + ".")
@click.option("--allow-loss", is_flag=True, help="Offer calls to trunks that buy dearer than the call sells.")
@pass_app
def add(app: App, name: str, policy: str, allow_loss: bool) -> None:
    """Add a routing group.

    Example:

        asteriskbill routing add cheapest --policy lcr
    """
    click.echo(f"{_summary(service.add_group(app.engine, app.operator, name, policy, allow_loss))} added")


@routing.command(name="list")
@json_option
@pass_app
def list_(app: App, as_json: bool) -> None:
    """List the routing groups.

    Example:

        asteriskbill routing list --json
    """
    rows = [_group_dict(group) for group in service.list_groups(app.engine)]
    if as_json:
        echo_json(rows)
        return
    shown = [
        {**row, "allow_loss": "yes" if row["allow_loss"] else "no", "trunks": len(row["entries"])}
        | {key: ", ".join(row[key]) for key in ("accounts", "tariffs")}
        for row in rows
    ]
    echo_table(shown, ["name", "policy", "allow_loss", "trunks", "accounts", "tariffs"])


@routing.command()
@click.argument("name")
@json_option
@pass_app
def show(app: App, name: str, as_json: bool) -> None:
    """Show a routing group: its trunks (with their vendor, prefix, priority and weight) and what it is bound to.

    Example:

        asteriskbill routing show cheapest
    """
    data = _group_dict(service.show_group(app.engine, name))
    if as_json:
        echo_json(data)
        return
    click.echo(
        f"routing group {data['name']}: policy {data['policy']}, allow loss {'yes' if data['allow_loss'] else 'no'}"
    )
    entries = [{**e, "prefix": e["prefix"] or "(every number)"} for e in data["entries"]]
    echo_table(entries, ["trunk", "vendor", "prefix", "priority", "weight"])
    for key in ("accounts", "tariffs"):
        if data[key]:
            click.echo(f"bound to {key}: {', '.join(data[key])}")


@routing.command()
@click.argument("name")
@click.option("--policy", metavar="lcr|priority|weighted", help=POLICY_HELP + ".")
@click.option("--allow-loss/--no-allow-loss", default=None, help="Offer calls to trunks dearer than the sell price.")
@pass_app
def edit(app: App, name: str, policy: str | None, allow_loss: bool | None) -> None:
    """Change a routing group's policy, or whether it may sell at a loss.

    Example:

        asteriskbill routing edit cheapest --policy priority --no-allow-loss
    """
    group = service.edit_group(app.engine, app.operator, name, policy=policy, allow_loss=allow_loss)
    click.echo(f"{_summary(group)} now")


@routing.command(name="add-trunk")
@click.argument("group")
@click.argument("trunk")
@click.option("--prefix", default="", help="Only for numbers starting with these digits [default: every number].")
@click.option("--priority", type=Whole(min=0), default=1, show_default=True, help="Lower is tried first (priority).")
@click.option("--weight", type=Whole(min=0), default=1, show_default=True, help="Share of first tries (weighted).")
@pass_app
def add_trunk(app: App, group: str, trunk: str, prefix: str, priority: int, weight: int) -> None:
    """Offer GROUP's calls to TRUNK; with --prefix, its entries for that prefix override the others for the
    numbers it begins (the longest prefix wins).

    Example:

        asteriskbill routing add-trunk cheapest c1-sofia --priority 2
    """
    found = service.add_trunk(app.engine, app.operator, group, trunk, prefix, priority, weight)
    click.echo(f"trunk {trunk} added to {_summary(found)}")


@routing.command(name="remove-trunk")
@click.argument("group")
@click.argument("trunk")
@click.option("--prefix", default="", help="The entry of this prefix [default: the one for every number].")
@pass_app
def remove_trunk(app: App, group: str, trunk: str, prefix: str) -> None:
    """Take TRUNK out of GROUP.

    Example:

        asteriskbill routing remove-trunk cheapest c1-sofia
    """
    found = service.remove_trunk(app.engine, app.operator, group, trunk, prefix)
    click.echo(f"trunk {trunk} removed from {_summary(found)}")


@routing.command()
@click.argument("group")
@target_options
@pass_app
def bind(app: App, group: str, account: str | None, tariff: str | None) -> None:
    """Route an account's calls (a company's: its accounts'), or a tariff's accounts' calls, through GROUP.

    Example:

        asteriskbill routing bind cheapest --account acme
    """
    service.bind(app.engine, app.operator, group, account=account, tariff=tariff)
    click.echo(f"{'account ' + account if account else f'tariff {tariff}'} now routed by routing group {group}")


@routing.command()
@target_options
@pass_app
def unbind(app: App, account: str | None, tariff: str | None) -> None:
    """Take an account's or a tariff's own routing group off.

    Example:

        asteriskbill routing unbind --account acme
    """
    was = service.unbind(app.engine, app.operator, account=account, tariff=tariff)
    click.echo(f"{'account ' + account if account else f'tariff {tariff}'} no longer routed by routing group {was}")


@routing.command()
@click.argument("account")
@click.argument("number")
@click.option(
    "--at",
    type=DATETIME,
    help="The call's start: 'YYYY-MM-DD HH:MM' on the tariff's clock, or ISO with an offset [default: now].",
)
@json_option
@pass_app
def explain(app: App, account: str, number: str, at: datetime | None, as_json: bool) -> None:
    """Show the trunks a call of ACCOUNT to NUMBER would be offered, in the order tried, and why the others not.

    Lists the account's routing group and policy, the number as normalised, what the first minute sells at,
    then each candidate trunk: its position (- when skipped), vendor, what the first minute buys at (in the
    account's currency) and why. Nothing is reserved.

    Example:

        asteriskbill routing explain acme-0001 00442071234567 --at '2026-12-01 08:59'
    """
    found = service.explain(app.engine, app.settings, account, number, at)
    data = explanation_dict(found)
    if as_json:
        echo_json(data)
    else:
        echo_explanation(data)


def explanation_dict(found: service.Explanation) -> dict:
    quote, rate = found.quote, found.quote.pricing.rate
    route = found.route
    return {
        "account": found.account,
        "dialled": quote.number.dialled,
        "number": quote.number.number,
        "call_class": quote.number.call_class,
        "at": quote.pricing.start.isoformat(),
        "tariff": quote.pricing.tariff.name,
        "prefix": rate.prefix,
        "destination": rate.destination,
        "currency": quote.pricing.tariff.currency,
        "sell": format_amount(found.sell),
        "group": found.group,
        "bound_by": found.bound_by or None,
        "policy": found.policy,
        "allow_loss": found.allow_loss,
        "candidates": [
            {
                "position": v.position or None,
                "trunk": v.candidate.trunk,
                "vendor": v.candidate.vendor,
                "buy": None if v.candidate.buy is None else format_amount(v.candidate.buy),
                "dial": v.candidate.dial_string(quote.number.number) if v.position else None,
                "why": v.why,
            }
            for v in found.verdicts
        ],
        "route": None if route is None else {"prefix": route.prefix, "dial": route.dial, "name": route.name},
    }


def echo_explanation(data: dict) -> None:
    click.echo(
        f"{data['dialled']} -> {data['number']} ({data['call_class']}) -> prefix {data['prefix']} "
        f"{data['destination']} at {data['at']}"
    )
    click.echo(f"the first minute sells at {data['sell']} {data['currency']} (tariff {data['tariff']})")
    if data["group"] is None:
        click.echo(
            f"account {data['account']} has no routing group (nor has its company or its tariff): "
            "the routes table routes it"
        )
        route = data["route"]
        if route is None:
            click.echo(f"no route for {data['number']} (see `asteriskbill routes list`): the call would be refused")
        else:
            click.echo(f"route {route['prefix'] or '(default)'} -> {route['dial']}")
        return
    loss = ", may sell at a loss" if data["allow_loss"] else ""
    click.echo(f"routing group {data['group']} (policy {data['policy']}{loss}; bound to {data['bound_by']})")
    if data["policy"] == "weighted":
        click.echo("the order is drawn by weight anew for each call")
    rows = [
        {**c, "position": c["position"] or "-", "buy": c["buy"] or "", "dial": c["dial"] or ""}
        for c in data["candidates"]
    ]
    echo_table(rows, ["position", "trunk", "vendor", "buy", "dial", "why"])


COMMANDS = [routing]
