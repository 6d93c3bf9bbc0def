"""`asteriskbill users ...`: who may log in to the web console, and the log of their logins.

A password is read from a hidden prompt (typed twice) or, for scripts, one line of stdin: never from an option,
which other users could read in the process list.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

import click

from asteriskbill.billing.periods import bound
from asteriskbill.cli.common import App, echo_json, echo_table, json_option, local_stamp, pass_app, stamp
from asteriskbill.cli.lazy import LazyModule
from asteriskbill.cli.options import MOMENT, Whole
from asteriskbill.roles import ROLES

if TYPE_CHECKING:
    from asteriskbill.services import users as service
else:
    service = LazyModule("asteriskbill.services.users")

LIST_LIMIT = 100

password_stdin = click.option(
    "--password-stdin", is_flag=True, help="Read the password from the first line of stdin, not a prompt."
)


def _password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    return click.prompt("Password", hide_input=True, confirmation_prompt=True)


@click.group()
def users() -> None:
    """Web console users (`asteriskbill web`, `serve`): operators, and admins who may also manage users,
    servers and the system."""


@users.command()
@click.argument("name")
@click.option("--role", type=click.Choice(ROLES), required=True, help="What the user may do.")
@password_stdin
@pass_app
def add(app: App, name: str, role: str, password_stdin: bool) -> None:
    """Add the console user NAME (1 to 64 letters, digits, '.', '_', '@' or '-'), with a password of at least
    8 characters.

    Example:

    \b
        asteriskbill users add alice --role admin
        printf '%s\\n' "$PASSWORD" | asteriskbill users add bob --role operator --password-stdin
    """
    user = service.add(app.engine, app.operator, name, role, _password(password_stdin))
    click.echo(f"user {user.name} added as {user.role}")


@users.command(name="list")
@json_option
@pass_app
def list_(app: App, as_json: bool) -> None:
    """List the console users: role, whether disabled or locked by wrong passwords, last login.

    Example:

        asteriskbill users list --json
    """
    found = service.list_users(app.engine)
    if as_json:
        echo_json(
            [
                {
                    "name": u.name,
                    "role": u.role,
                    "disabled": u.disabled,
                    "locked_until": stamp(u.locked_until) if u.locked() else None,
                    "created_at": stamp(u.created_at),
                    "last_login_at": stamp(u.last_login_at) or None,
                }
                for u in found
            ]
        )
        return
    rows = [
        {
            "name": u.name,
            "role": u.role,
            "state": _state(u, app),
            "created_at": local_stamp(u.created_at, app.zone),
            "last_login_at": local_stamp(u.last_login_at, app.zone),
        }
        for u in found
    ]
    echo_table(rows, ["name", "role", "state", "created_at", "last_login_at"])


def _state(user: service.ConsoleUserView, app: App) -> str:
    if user.disabled:
        return "disabled"
    return f"locked until {local_stamp(user.locked_until, app.zone)}" if user.locked() else "active"


@users.command()
@click.argument("name")
@pass_app
def disable(app: App, name: str) -> None:
    """Refuse NAME's logins, and log them out at once.

    Example:

        asteriskbill users disable bob
    """
    service.disable(app.engine, app.operator, name)
    click.echo(f"user {name} disabled and logged out")


@users.command()
@click.argument("name")
@pass_app
def enable(app: App, name: str) -> None:
    """Let the disabled user NAME log in again.

    Example:

        asteriskbill users enable bob
    """
    service.enable(app.engine, app.operator, name)
    click.echo(f"user {name} enabled")


@users.command()
@click.argument("name")
@password_stdin
@pass_app
def passwd(app: App, name: str, password_stdin: bool) -> None:
    """Give NAME a new password: they are logged out, and a lock from wrong passwords is lifted.

    Example:

        asteriskbill users passwd bob
    """
    service.set_password(app.engine, app.operator, name, _password(password_stdin))
    click.echo(f"user {name} has a new password and was logged out")


@users.command()
@click.option("--user", metavar="NAME", help="Only the attempts at this user name (as typed).")
@click.option("--since", type=MOMENT, help="From this day or moment on (ISO; no offset: the timezone setting).")
@click.option("--limit", type=Whole(min=0), default=LIST_LIMIT, show_default=True, help="At most this many (0: all).")
@json_option
@pass_app
def logins(app: App, user: str | None, since, limit: int, as_json: bool) -> None:
    """List the login attempts, newest first: who, from which address, and why one was refused.

    Example:

        asteriskbill users logins --user bob --since 2026-12-01 --json
    """
    moment = None if since is None else bound(since, app.zone)
    found = service.logins(app.engine, user, moment, limit or None)
    if as_json:
        echo_json([{"at": stamp(a.at), **_attempt(a), "ok": a.ok, "reason": a.reason} for a in found])
        return
    rows = [
        {"at": local_stamp(a.at, app.zone), **_attempt(a), "result": "logged in" if a.ok else a.reason} for a in found
    ]
    echo_table(rows, ["at", "user", "address", "result", "user_agent"])


def _attempt(a: service.LoginAttemptView) -> dict:
    return {"user": a.user, "address": a.address, "user_agent": a.user_agent}


COMMANDS = [users]
