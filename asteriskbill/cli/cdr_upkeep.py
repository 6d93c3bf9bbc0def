"""`asteriskbill cdr backup|purge|reconcile`: the database's upkeep, for cron (see the README's crontab)."""

from __future__ import annotations

from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

import click

from asteriskbill.billing.periods import parse_age
from asteriskbill.cli.common import App, echo_json, json_option, pass_app, stamp
from asteriskbill.cli.lazy import LazyModule
from asteriskbill.errors import UserError

if TYPE_CHECKING:
    from asteriskbill.services import recovery, upkeep
else:
    recovery = LazyModule("asteriskbill.services.recovery")
    upkeep = LazyModule("asteriskbill.services.upkeep")


@click.command()
@click.argument("dest", type=click.Path())
@json_option
@pass_app
def backup(app: App, dest: str, as_json: bool) -> None:
    """Copy the SQLite database to DEST while the engine runs (a consistent snapshot, checked).

    DEST is a file, or a folder to write asteriskbill-<UTC time>.db in. On PostgreSQL use pg_dump.

    Example:

        asteriskbill cdr backup /var/backups/asteriskbill/
    """
    done = upkeep.backup(app.engine, dest)
    if as_json:
        echo_json({"path": str(done.path), "bytes": done.size, "cdrs": done.cdrs})
        return
    click.echo(f"backup written to {done.path}: {done.size:,} bytes, {done.cdrs} CDRs, integrity ok")


def _age(ctx, param, value: str | None):
    try:
        if value is None:
            return parse_age(ctx.find_object(App).settings.cdr_retention)
        return parse_age(value)
    except UserError as exc:
        raise click.BadParameter(str(exc) + ("" if value else " (the cdr_retention setting)")) from None


@click.command()
@click.option(
    "--older-than",
    metavar="AGE",
    callback=_age,
    help="6months, 180days, 2weeks, 1year ... [default: the cdr_retention setting].",
)
@click.option("--yes", is_flag=True, help="Delete them [default: only say how many would go].")
@json_option
@pass_app
def purge(app: App, older_than, yes: bool, as_json: bool) -> None:
    """Delete CDRs that started longer ago than AGE (and settled or released reservations closed
    by then). Without --yes it only counts. Reservations of calls still open are never deleted.

    Example:

        asteriskbill cdr purge --older-than 6months --yes
    """
    done = upkeep.purge(app.engine, app.operator, older_than, apply=yes)
    if as_json:
        echo_json(
            {
                "cutoff": stamp(done.cutoff),
                "cdrs": done.cdrs,
                "reservations": done.reservations,
                "deleted": done.deleted,
            }
        )
        return
    what = f"{done.cdrs} CDRs started before {stamp(done.cutoff)} and {done.reservations} closed reservations"
    click.echo(f"deleted {what}" if done.deleted else f"would delete {what}; run again with --yes to delete them")


@click.command()
@click.argument("master_csv", metavar="MASTER.CSV", type=click.Path(dir_okay=False))
@click.option(
    "--utc", is_flag=True, help="The file's times are UTC (usegmtime=yes in cdr.conf) [default: the timezone setting]."
)
@json_option
@pass_app
def reconcile(app: App, master_csv: str, utc: bool, as_json: bool) -> None:
    """Settle calls the listener missed from Asterisk's own CDR file, or flag them for you.

    Reservations older than their maximum duration (plus time to ring) are matched to the file by
    BILL_SESSION or the caller channel's uniqueid: found, they are billed from its billsec; not found,
    their credit is released and they are flagged (`calls flagged`). Nothing is ever charged twice.
    The file must be cdr_csv's Master.csv, with loguniqueid=yes (any of its other column options, with
    or without a header line): anything else is refused, naming the line, and nothing changes.

    Example:

        asteriskbill cdr reconcile /var/log/asterisk/cdr-csv/Master.csv
    """
    zone = ZoneInfo("UTC" if utc else app.settings.timezone)
    done = recovery.reconcile_file(app.engine, app.operator, master_csv, zone)
    if as_json:
        echo_json({"settled": done.settled, "flagged": done.flagged})
        return
    click.echo(f"settled {len(done.settled)}, flagged {len(done.flagged)}")
    for session in done.settled:
        click.echo(f"  settled  {session}")
    for session in done.flagged:
        click.echo(f"  flagged  {session} (no record in {master_csv}: check the call by hand)")


COMMANDS = [backup, purge, reconcile]
