"""`asteriskbill status`: version, database, Asterisk servers and their AMI, FastAGI and open reservations at a
glance."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from asteriskbill.cli.common import App, echo_json, echo_table, json_option, money, pass_app, stamp
from asteriskbill.cli.lazy import LazyModule
from asteriskbill.money import format_amount

if TYPE_CHECKING:
    from asteriskbill.services import status as service
else:
    service = LazyModule("asteriskbill.services.status")


def _call(call: service.OpenCall) -> dict:
    return {
        "session": call.session,
        "account": call.account,
        "number": call.number,
        "uniqueid": call.uniqueid,
        "since": stamp(call.since),
        "held": format_amount(call.amount),
        "currency": call.currency,
    }


def status_dict(found: service.Status) -> dict:
    db, agi = found.database, found.fastagi
    return {
        "version": found.version,
        "database": {
            "kind": db.kind,
            "url": db.url,
            "size": db.size,
            "free": db.free,
            "revision": db.revision,
            "head": db.head,
            "current": db.current,
            "error": db.error or None,
        },
        "servers": [
            {
                "name": s.name,
                "ari_url": s.ari_url,
                "source": s.source,
                "state": s.state,
                "detail": s.detail,
                "version": s.version or None,
                "entity_id": s.entity_id or None,
                "active_calls": [_call(c) for c in s.calls],
                "ami_url": s.ami_url or None,
                "ami": s.ami,
                "ami_detail": s.ami_detail,
            }
            for s in found.servers
        ],
        "slice_seconds": found.slicing,
        "fastagi": {"host": agi.host, "port": agi.port, "answers": agi.answers, "detail": agi.detail},
        "reservations": None
        if found.open_calls is None
        else {
            "open": len(found.open_calls),
            "held": {c: format_amount(a) for c, a in sorted(found.held.items())},
            "on_no_server": [_call(c) for c in found.elsewhere],
        },
        "demoted_trunks": [{"trunk": trunk, "why": why} for trunk, why in found.demoted],
        "problems": found.problems,
    }


def _echo_text(found: service.Status) -> None:
    db, agi = found.database, found.fastagi
    size = "" if db.size is None else f", {db.size:,} bytes"
    size += "" if db.free is None else f", {db.free:,} bytes free on its disk"
    schema = db.error or f"revision {db.revision or '(none)'}" + (" (newest)" if db.current else f", newest {db.head}")
    click.echo(f"asteriskbill {found.version}")
    click.echo(f"database:      {db.kind} {db.url}{size}, {schema}")
    click.echo(f"FastAGI:       {agi.host}:{agi.port} {'answers' if agi.answers else 'DOES NOT ANSWER: ' + agi.detail}")
    click.echo(
        f"credit held:   in slices of {found.slicing} s"
        if found.slicing
        else "credit held:   the whole maximum of each call"
    )
    if found.open_calls is not None:
        held = ", ".join(money(amount, currency) for currency, amount in sorted(found.held.items())) or "nothing"
        click.echo(
            f"reservations:  {len(found.open_calls)} open, holding {held}; "
            f"{len(found.elsewhere)} up on no server that answered"
        )
    click.echo("servers:")
    echo_table(
        [
            {
                "name": s.name,
                "state": s.state.upper() if s.state != service.UP else s.state,
                "entity id": s.entity_id,
                "active calls": len(s.calls),
                "AMI": s.ami if s.ami in (service.UP, service.NO_AMI) else s.ami.upper(),
                "detail": s.detail,
            }
            for s in found.servers
        ],
        ["name", "state", "entity id", "active calls", "AMI", "detail"],
    )
    for problem in found.problems:
        click.echo(f"PROBLEM: {problem}")


@click.command()
@json_option
@click.option(
    "--timeout",
    type=click.FloatRange(min=0.1),
    help="Seconds to wait for each server and for FastAGI (default: 3).",
)
@pass_app
def status(app: App, as_json: bool, timeout: float | None) -> None:
    """Show the version, the database (kind, size, schema revision), each Asterisk server (up with
    its version and entity id, wrong credentials, or unreachable, and its active calls) and its AMI
    (logs in and may Setvar, refused, unreachable, or none), whether FastAGI answers on the
    fastagi_host/fastagi_port settings, whether calls hold their credit in slices, and the open
    reservations with the credit they hold. Exits 0 whatever it finds: each problem is a line
    starting "PROBLEM:".

    Example:

        asteriskbill status --json
    """
    from asteriskbill.store.engine import make_engine  # here: SQLAlchemy, which --help does not need

    # status reports a database not ready itself
    found = service.status(app.open(make_engine), app.settings, timeout or service.PROBE_TIMEOUT)
    if as_json:
        echo_json(status_dict(found))
    else:
        _echo_text(found)


COMMANDS = [status]
