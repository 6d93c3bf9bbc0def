"""`asteriskbill accounts ...`: extensions, companies and gateways, their balance and credit history."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import click

from asteriskbill.billing.accounts import COMPANY_POOL, FROZEN, KINDS, OWN, POOLS
from asteriskbill.billing.plans import DEBT, SUSPENDED
from asteriskbill.billing.plans import label as cycle_label
from asteriskbill.cli import account_money, account_sheets
from asteriskbill.cli.common import (
    App,
    echo_fields,
    echo_json,
    echo_table,
    json_option,
    money,
    pass_app,
    stamp,
)
from asteriskbill.cli.lazy import LazyModule
from asteriskbill.cli.options import AMOUNT, CLEAR, Clearable, Whole
from asteriskbill.money import format_amount

if TYPE_CHECKING:
    from asteriskbill.services import account_edits, plans
    from asteriskbill.services import accounts as service
else:
    account_edits = LazyModule("asteriskbill.services.account_edits")
    plans = LazyModule("asteriskbill.services.plans")
    service = LazyModule("asteriskbill.services.accounts")

INCOMING_HELP = (
    "What calls TO it cost it, by the caller's number (extensions; `asteriskbill dids` gives them more numbers) "
    "[default: none, not billed]."
)


def account_dict(account: service.AccountView) -> dict:
    return {
        "name": account.name,
        "kind": account.kind,
        "parent": account.parent,
        "tariff": account.tariff,
        "effective_tariff": account.effective_tariff,
        "currency": account.currency,
        "balance": format_amount(account.balance),
        "credit_limit": format_amount(account.credit_limit),
        "status": account.status,
        "effective_status": account.effective_status,
        "reason": account.reason,
        "max_calls": account.max_calls,
        "extension": account.extension,
        "accountcode": account.accountcode,
        "booth": account.booth,
        "pool": account.pool,
        "daily_limit": None if account.daily_limit is None else format_amount(account.daily_limit),
        "monthly_limit": None if account.monthly_limit is None else format_amount(account.monthly_limit),
        "routing_group": account.routing_group,
        "plan": account.plan,
        "incoming_tariff": account.incoming_tariff,
        "created_at": stamp(account.created_at),
    }


def pool_options(command: Callable) -> Callable:
    """--pool, --daily-limit, --monthly-limit: whose balance the account's calls spend (create and edit)."""
    for option in reversed(
        (
            click.option(
                "--pool",
                type=click.Choice(POOLS),
                help="Whose balance its calls spend: its own, or its company's (extensions and gateways).",
            ),
            click.option("--daily-limit", type=AMOUNT, help="With --pool company: the most it may spend a day."),
            click.option("--monthly-limit", type=AMOUNT, help="With --pool company: the most it may spend a month."),
        )
    ):
        command = option(command)
    return command


def _status_text(account: service.AccountView) -> str:
    if account.effective_status == account.status:
        return account.status
    return f"{account.status}, {account.effective_status} by its company"


@click.group()
def accounts() -> None:
    """Accounts: extensions, companies and gateways (cards: see `cards`), each with a balance and ledger."""


@accounts.command()
@click.argument("kind", type=click.Choice(KINDS))
@click.argument("name")
@click.option("--parent", metavar="COMPANY", help="The company this extension or gateway belongs to.")
@click.option("--tariff", help="Its tariff [default: its company's].")
@click.option("--currency", help="Three letters [default: the tariff's, else the company's].")
@click.option(
    "--credit-limit",
    type=AMOUNT,
    default="0",
    show_default=True,
    help="How far below zero the balance may go (0: prepaid).",
)
@click.option("--max-calls", type=Whole(min=1), help="Simultaneous calls allowed [default: no limit].")
@click.option("--extension", metavar="EXT", help="The extension number (extension accounts).")
@click.option("--accountcode", metavar="CODE", help="The Asterisk CDR(accountcode) that identifies it.")
@click.option(
    "--booth",
    is_flag=True,
    help="A callshop booth (extension accounts): it calls only between `callshop start` and `stop`.",
)
@click.option("--plan", help="Its service plan (`asteriskbill plans`): a fee each cycle, its tariff if it has none.")
@click.option("--incoming-tariff", metavar="TARIFF", help=INCOMING_HELP)
@pool_options
@pass_app
def create(
    app: App,
    kind: str,
    name: str,
    parent: str | None,
    tariff: str | None,
    currency: str | None,
    credit_limit: int,
    max_calls: int | None,
    extension: str | None,
    accountcode: str | None,
    booth: bool,
    plan: str | None,
    incoming_tariff: str | None,
    pool: str | None,
    daily_limit: int | None,
    monthly_limit: int | None,
) -> None:
    """Create an account of KIND (extension, company or gateway) named NAME.

    Example:

    \b
        asteriskbill accounts create company acme --tariff retail
        asteriskbill accounts create extension acme-0001 --parent acme \\
            --extension 0001 --max-calls 2
        asteriskbill accounts create extension booth-301 --tariff retail \\
            --extension 301 --booth
        asteriskbill accounts create gateway acme-gw --parent acme \\
            --pool company --daily-limit 20
        asteriskbill accounts create extension acme-0002 --parent acme \\
            --extension 0002 --incoming-tariff tollfree
    """
    account = service.create(
        app.engine,
        app.operator,
        service.NewAccount(
            kind=kind,
            name=name,
            parent=parent,
            tariff=tariff,
            currency=currency,
            credit_limit=credit_limit,
            max_calls=max_calls,
            extension=extension,
            accountcode=accountcode,
            booth=booth,
            plan=plan,
            incoming_tariff=incoming_tariff,
            pool=pool or OWN,
            daily_limit=daily_limit,
            monthly_limit=monthly_limit,
        ),
    )
    owner = f" of company {account.parent}" if account.parent else ""
    click.echo(
        f"{'booth' if account.booth else account.kind} {account.name}{owner} created in {account.currency}, "
        f"tariff {account.effective_tariff or '(none yet)'}" + (f", plan {account.plan}" if account.plan else "")
    )


@accounts.command(name="list")
@click.option("--kind", type=click.Choice(KINDS), help="Only this kind (cards are listed only with --kind card).")
@click.option("--parent", metavar="COMPANY", help="Only the accounts of this company.")
@click.option("--search", metavar="TEXT", help="Only names, extensions or accountcodes containing TEXT.")
@json_option
@pass_app
def list_(app: App, kind: str | None, parent: str | None, search: str | None, as_json: bool) -> None:
    """List accounts with their balance and status.

    Example:

        asteriskbill accounts list --parent acme --json
    """
    found = service.list_accounts(app.engine, kind=kind, parent=parent, search=search)
    if as_json:
        echo_json([account_dict(a) for a in found])
        return
    columns = ["name", "kind", "parent", "extension", "tariff", "balance", "status"]
    echo_table(
        [
            {
                "name": a.name,
                "kind": a.kind,
                "parent": a.parent or "",
                "extension": a.extension or "",
                "tariff": a.effective_tariff or "",
                "balance": money(a.balance, a.currency),
                "status": _status_text(a),
                "booth": "booth" if a.booth else "",
            }
            for a in found
        ],
        [*columns, "booth"] if any(a.booth for a in found) else columns,
    )  # no column when no callshop


@accounts.command()
@click.argument("name")
@json_option
@pass_app
def show(app: App, name: str, as_json: bool) -> None:
    """Show one account: balance, credit limit, tariff, status (its company's included).

    Example:

        asteriskbill accounts show acme-0001
    """
    account = service.show(app.engine, name)
    plan, renewal = plans.account_plan(app.engine, account.id, account.plan) if account.plan else (None, None)
    if as_json:
        echo_json(account_dict(account) | {"last_renewal": _renewal(plan, renewal)})
        return
    data = account_dict(account)
    data.update(
        tariff=account.tariff or _inherited(account),
        plan=plan and f"{plan.name} ({plan.terms})",
        last_renewal=_renewal(plan, renewal),
    )
    if account.status == FROZEN and renewal is not None and renewal.outcome == SUSPENDED:
        data["reason"] += f", its plan's fee not paid (`accounts recharge {account.name}`: the next renewal takes it)"
    data.update(
        balance=money(account.balance, account.currency),
        credit_limit=money(account.credit_limit, account.currency),
        status=_status_text(account),
        booth="yes (see `asteriskbill callshop status`)" if account.booth else "",
        pool=f"its company's ({account.parent})" if account.pool == COMPANY_POOL else "its own balance",
        daily_limit=_limit(account.daily_limit, account.currency),
        monthly_limit=_limit(account.monthly_limit, account.currency),
    )
    echo_fields(
        data,
        (
            "name",
            "kind",
            "parent",
            "tariff",
            "balance",
            "credit_limit",
            "status",
            "reason",
            "max_calls",
            "extension",
            "accountcode",
            "booth",
            "pool",
            "daily_limit",
            "monthly_limit",
            "routing_group",
            "plan",
            "last_renewal",
            "incoming_tariff",
            "created_at",
        ),
    )


def _limit(amount: int | None, currency: str) -> str:
    return "" if amount is None else money(amount, currency)


def _inherited(account: service.AccountView) -> str | None:
    """The tariff it calls on without one of its own, and whose: its plan's, else its company's."""
    if account.effective_tariff is None:
        return None
    return f"{account.effective_tariff} (its {'plan' if account.plan else 'company'}'s)"


def _renewal(plan: plans.PlanView | None, renewal: plans.RenewalView | None) -> str | None:
    """An account's latest renewal: "2026-12: charged 10.00 USD", "2026-12: suspended, fee not paid"."""
    if plan is None or renewal is None:
        return None
    cycle = cycle_label(plan.cycle, renewal.cycle_start)
    if renewal.outcome == SUSPENDED:
        return f"{cycle}: suspended, fee {money(plan.fee, plan.currency)} not paid"
    debt = " into debt" if renewal.outcome == DEBT else ""
    return f"{cycle}: charged {money(renewal.fee, plan.currency)}{debt}"


# accounts edit's options, each named after the field of services/account_edits.py it changes; '' clears one
EDIT_OPTIONS = (
    click.option("--tariff", help="Its own tariff; '' for none (its plan's, else its company's)."),
    click.option("--credit-limit", type=AMOUNT, help="How far below zero the balance may go (0: prepaid)."),
    click.option("--max-calls", type=Clearable(Whole(min=1)), help="Simultaneous calls; '' for no limit."),
    click.option("--extension", metavar="EXT", help="Its extension number; '' for none."),
    click.option("--accountcode", metavar="CODE", help="Its Asterisk CDR(accountcode); '' for none."),
    click.option("--booth/--no-booth", default=None, help="Make it a callshop booth, or an extension again."),
    click.option("--routing-group", metavar="GROUP", help="Its routing group; '' for its company's or tariff's."),
    click.option("--plan", help="Its service plan (`asteriskbill plans`); '' for none."),
    click.option(
        "--incoming-tariff", metavar="TARIFF", help="What calls TO it cost it, by the caller's number; '' for none."
    ),
    click.option("--pool", type=click.Choice(POOLS), help="Whose balance its calls spend: its own, or its company's."),
    click.option("--daily-limit", type=Clearable(AMOUNT), help="With --pool company: most it may spend a day; ''."),
    click.option("--monthly-limit", type=Clearable(AMOUNT), help="With --pool company: the same a month; ''."),
)


def edit_options(command: Callable) -> Callable:
    for option in reversed(EDIT_OPTIONS):
        command = option(command)
    return command


@accounts.command()
@click.argument("account")
@edit_options
@json_option
@pass_app
def edit(app: App, /, account: str, as_json: bool, **given: object) -> None:
    """Change ACCOUNT's settings: only the options given; '' clears a setting.

    Every change is audited old → new, never touches the balance, and applies from the account's next call (a
    call up now keeps the prices and routes it was authorized with). Cards are changed with `cards`.

    Example:

    \b
        asteriskbill accounts edit acme-0001 --tariff wholesale --max-calls 4
        asteriskbill accounts edit acme-0002 --plan basic --tariff ''
        asteriskbill accounts edit acme-gw --pool company --daily-limit 20
    """
    changes = {field: None if value == CLEAR else value for field, value in given.items() if value is not None}
    if not changes:
        raise click.UsageError("nothing to change: give the settings to change (`asteriskbill accounts edit --help`)")
    before = service.show(app.engine, account)
    after = account_edits.edit(app.engine, app.operator, account, changes)
    if as_json:
        echo_json(account_dict(after))
        return
    changed = account_edits.differences(before, after)
    what = f"{'booth' if after.booth else after.kind} {after.name}"
    if not changed:
        click.echo(f"{what}: nothing changed, it has those settings already")
        return
    click.echo(f"{what} changed: " + ", ".join(f"{field.replace('_', ' ')} {diff}" for field, diff in changed.items()))


def _status_command(action: str, done: str, doc: str) -> click.Command:
    @click.argument("name")
    @pass_app
    def command(app: App, name: str) -> None:
        account = service.change_status(app.engine, app.operator, name, action)
        click.echo(f"{account.kind} {account.name} {done}")

    command.__doc__ = doc
    return accounts.command(name=action)(command)


_status_command(
    "freeze",
    "frozen: no new calls (nor from its accounts, for a company)",
    """Freeze an account: it
    (and, for a company, every account of the company) can make no call until unfrozen.

    Example:

        asteriskbill accounts freeze acme
    """,
)
_status_command(
    "unfreeze",
    "is active again",
    """Unfreeze a frozen account.

    Example:

        asteriskbill accounts unfreeze acme
    """,
)
_status_command(
    "close",
    "closed for good",
    """Close an account for good: no calls, no recharges.

    A company is closed only after all its accounts are.

    Example:

        asteriskbill accounts close acme-0001
    """,
)


for _command in (*account_money.COMMANDS, *account_sheets.COMMANDS):  # the balance; sheets of accounts
    accounts.add_command(_command)

COMMANDS = [accounts]
