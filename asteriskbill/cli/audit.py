"""`asteriskbill audit ...`: who did what, and when."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import click

from asteriskbill.cli.common import App, echo_json, echo_table, json_option, local_stamp, pass_app, stamp
from asteriskbill.cli.lazy import LazyModule
from asteriskbill.cli.options import DATETIME

if TYPE_CHECKING:
    from asteriskbill.services import audit as service
else:
    service = LazyModule("asteriskbill.services.audit")


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
        since = since.replace(tzinfo=app.zone)
    found = service.entries(app.engine, since)
    if as_json:
        echo_json([{"at": stamp(e.at), **_who_what(e), "detail": e.detail} for e in found])
        return
    echo_table(
        [
            {
                "at": local_stamp(e.at, app.zone),  # people read the time zone they set; --json keeps UTC
                **_who_what(e),
                "detail": "" if e.detail is None else json.dumps(e.detail, sort_keys=True),
            }
            for e in found
        ],
        ["at", "operator", "action", "subject", "detail"],
    )


def _who_what(e: service.Audit) -> dict:
    return {"operator": e.operator, "action": e.action, "subject": e.subject}


COMMANDS = [audit]
