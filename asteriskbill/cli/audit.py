"""`asteriskbill audit ...`: who did what, and when."""

from __future__ import annotations

import json
from zoneinfo import ZoneInfo

import click

from asteriskbill.cli.common import App, echo_json, echo_table, json_option, pass_app, stamp
from asteriskbill.cli.options import DATETIME
from asteriskbill.services import audit as service


@click.group()
def audit() -> None:
    """The audit log: every operator action (create, recharge, freeze, delete, ...) with who did it."""


@audit.command(name="list")
@click.option("--since", type=DATETIME, help="From this moment on (ISO; no offset = the timezone setting).")
@json_option
@pass_app
def list_(app: App, since, as_json: bool) -> None:
    """List the audit log, oldest first.

    Example:

        asteriskbill audit list --since 2026-12-01 --json
    """
    if since is not None and since.tzinfo is None:
        since = since.replace(tzinfo=ZoneInfo(app.settings.timezone))
    rows = [
        {"at": stamp(e.at), "operator": e.operator, "action": e.action, "subject": e.subject, "detail": e.detail}
        for e in service.entries(app.engine, since)
    ]
    if as_json:
        echo_json(rows)
        return
    echo_table(
        [{**row, "detail": "" if row["detail"] is None else json.dumps(row["detail"], sort_keys=True)} for row in rows],
        ["at", "operator", "action", "subject", "detail"],
    )


COMMANDS = [audit]
