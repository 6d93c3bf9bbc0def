"""`asteriskbill plans ...`: service plans, the fee their accounts pay each cycle, and its renewal."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from asteriskbill.billing.plans import BILLINGS, CYCLES, MONTHLY, ON_FAILURE, PREPAID, SUSPEND
from asteriskbill.cli.common import App, echo_fields, echo_json, echo_table, json_option, local_stamp, pass_app, stamp
from asteriskbill.cli.lazy import LazyModule
from asteriskbill.cli.options import AMOUNT
from asteriskbill.money import format_amount

if TYPE_CHECKING:
    from asteriskbill.services import plan_renewals
    from asteriskbill.services import plans as service
else:
    plan_renewals = LazyModule("asteriskbill.services.plan_renewals")
    service = LazyModule("asteriskbill.services.plans")


def _plan_dict(plan: service.PlanView) -> dict:
    return {
        "name": plan.name,
        "tariff": plan.tariff,
        "currency": plan.currency,
        "fee": format_amount(plan.fee),
        "cycle": plan.cycle,
        "billing": plan.billing,
        "on_failure": plan.on_failure,
        "accounts": plan.accounts,
        "bundles": plan.bundles,
        "created": stamp(plan.created_at),
    }


def _renewal_dict(renewal: service.RenewalView) -> dict:
    return {
        "account": renewal.account,
        "plan": renewal.plan,
        "cycle_start": renewal.cycle_start.isoformat(),
        "outcome": renewal.outcome,
        "fee": format_amount(renewal.fee),
        "at": stamp(renewal.updated_at or renewal.created_at),
    }


@click.group()
def plans() -> None:
    """Service plans: a fee each cycle (daily, weekly or monthly) and the tariff of the accounts on them."""


@plans.command()
@click.argument("name")
@click.option("--tariff", required=True, help="The tariff its accounts call on (unless they have their own).")
@click.option("--fee", type=AMOUNT, required=True, help="What an account pays each cycle, in the tariff's currency.")
@click.option("--cycle", type=click.Choice(CYCLES), default=MONTHLY, show_default=True)
@click.option(
    "--billing",
    type=click.Choice(BILLINGS),
    default=PREPAID,
    show_default=True,
    help="prepaid: each cycle's fee at its start; postpaid: once it has ended.",
)
@click.option(
    "--on-failure",
    type=click.Choice(ON_FAILURE),
    default=SUSPEND,
    show_default=True,
    help="When the balance does not cover the fee: freeze the account, or charge it into debt.",
)
@click.option(
    "--bundle",
    "bundles",
    default="",
    metavar="BUNDLES",
    help="Minutes included each cycle, used before money: '60min:44,49;100min:local' (prefixes or call classes; "
    "no ':' for every call). Fixed once the plan is made.",
)
@pass_app
def add(app: App, name: str, tariff: str, fee: int, cycle: str, billing: str, on_failure: str, bundles: str) -> None:
    """Add a plan; put accounts on it with `accounts create|edit --plan NAME`.

    Example:

    \b
        asteriskbill plans add basic --tariff retail --fee 10 \\
            --cycle monthly --billing prepaid --on-failure suspend
        asteriskbill plans add uk-60 --tariff retail --fee 5 --bundle '60min:44'
    """
    plan = service.add_plan(app.engine, app.operator, name, tariff, cycle, fee, billing, on_failure, bundles)
    click.echo(f"plan {plan.name} added: {plan.terms} (tariff {plan.tariff})")


@plans.command(name="list")
@json_option
@pass_app
def list_(app: App, as_json: bool) -> None:
    """List the plans with their fee and how many accounts are on each.

    Example:

        asteriskbill plans list --json
    """
    rows = [_plan_dict(plan) for plan in service.list_plans(app.engine)]
    if as_json:
        echo_json(rows)
        return
    shown = [{**row, "fee": f"{row['fee']} {row['currency']}", "accounts": len(row["accounts"])} for row in rows]
    echo_table(shown, ["name", "tariff", "fee", "cycle", "billing", "on_failure", "bundles", "accounts"])


@plans.command()
@click.argument("name")
@json_option
@pass_app
def show(app: App, name: str, as_json: bool) -> None:
    """Show a plan: its terms, its accounts and their latest renewals.

    Example:

        asteriskbill plans show basic
    """
    plan, renewals = service.show_plan(app.engine, name)
    data = _plan_dict(plan)
    if as_json:
        echo_json({**data, "renewals": [_renewal_dict(renewal) for renewal in renewals]})
        return
    text = {**data, "fee": f"{data['fee']} {plan.currency}", "accounts": ", ".join(plan.accounts) or "(none)"}
    echo_fields(text, ["name", "tariff", "fee", "cycle", "billing", "on_failure", "bundles", "accounts", "created"])
    if renewals:
        click.echo("renewals:")
        rows = [
            {**_renewal_dict(renewal), "at": local_stamp(renewal.updated_at or renewal.created_at, app.zone)}
            for renewal in renewals
        ]
        echo_table(rows, ["cycle_start", "account", "outcome", "fee", "at"])


@plans.command()
@click.argument("name")
@click.option("--tariff", help="Another tariff in the same currency.")
@click.option("--fee", type=AMOUNT, help="The fee of each cycle.")
@click.option("--cycle", type=click.Choice(CYCLES))
@click.option("--billing", type=click.Choice(BILLINGS))
@click.option("--on-failure", type=click.Choice(ON_FAILURE))
@pass_app
def edit(
    app: App,
    name: str,
    tariff: str | None,
    fee: int | None,
    cycle: str | None,
    billing: str | None,
    on_failure: str | None,
) -> None:
    """Change a plan's terms: they apply from its next renewal (a cycle charged already stays as it is).

    Example:

        asteriskbill plans edit basic --fee 12.50 --on-failure allow-debt
    """
    plan = service.edit_plan(
        app.engine, app.operator, name, tariff=tariff, cycle=cycle, fee=fee, billing=billing, on_failure=on_failure
    )
    click.echo(f"plan {plan.name} changed: {plan.terms} (tariff {plan.tariff})")


@plans.command()
@click.argument("account")
@json_option
@pass_app
def bundles(app: App, account: str, as_json: bool) -> None:
    """Show what ACCOUNT has left this cycle of each bundle of its plan (calls up now hold some of it): seconds of
    minutes, or money.

    Example:

        asteriskbill plans bundles acme-201
    """
    found = service.bundles_left(app.engine, account)
    rows = [
        {
            "bundle": left.bundle,
            "cycle_start": left.cycle_start.isoformat() if left.cycle_start else "",
            "unit": "money" if left.money else "seconds",
            "size": format_amount(left.size) if left.money else left.size,
            "left": format_amount(left.left) if left.money else left.left,
        }
        for left in found
    ]
    if as_json:
        echo_json(rows)
        return
    if not rows:
        click.echo(f"{account} has no bundles (its plan has none, or it is on no plan)")
        return
    shown = [
        {**row, "left": row["left"] if left.money else f"{left.left // 60}:{left.left % 60:02d} min"}
        for row, left in zip(rows, found, strict=True)
    ]
    echo_table(shown, ["bundle", "cycle_start", "left"])


@plans.command()
@json_option
@pass_app
def renew(app: App, as_json: bool) -> None:
    """Charge every account on a plan the fee of its cycle, once per cycle however often it runs.

    An account whose balance (and credit limit) does not cover the fee is frozen, or charged into debt, as its
    plan says; a frozen one is charged and unfrozen by the first renewal that finds the money. `serve` renews
    every minute; from cron, run this every few minutes.

    Example:

        asteriskbill plans renew
    """
    renewed = plan_renewals.renew(app.engine, app.zone, operator=app.operator)
    if as_json:
        echo_json([_renewed_dict(done) for done in renewed])
        return
    for done in renewed:
        click.echo(done.line)
    click.echo(_summary(renewed))


def _renewed_dict(done: plan_renewals.Renewed) -> dict:
    return {
        "account": done.account,
        "plan": done.plan,
        "cycle": done.cycle,
        "outcome": done.outcome,
        "fee": format_amount(done.fee),
        "currency": done.currency,
        "balance": format_amount(done.balance),
        "unfrozen": done.unfrozen,
    }


def _summary(renewed: list[plan_renewals.Renewed]) -> str:
    if not renewed:
        return "nothing to renew"
    counts: dict[str, int] = {}
    for done in renewed:
        counts[done.outcome] = counts.get(done.outcome, 0) + 1
    outcomes = ", ".join(f"{count} {outcome}" for outcome, count in counts.items())
    return f"renewed {len(renewed)} account{'' if len(renewed) == 1 else 's'}: {outcomes}"


COMMANDS = [plans]
