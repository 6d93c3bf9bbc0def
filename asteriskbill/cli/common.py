"""What every command group shares: the application context, shared options and output helpers."""

from __future__ import annotations

import functools
import getpass
import json
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

import click

from asteriskbill.money import format_amount

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from asteriskbill.settings import Settings


@dataclass
class App:
    """Settings, the operator's name for the audit log, and the engine, opened on first use."""

    settings: Settings
    operator: str = field(default_factory=getpass.getuser)
    _engine: Engine | None = None

    @property
    def engine(self) -> Engine:
        """The database, refused unless `asteriskbill init` made it at this code's schema (store/ready.py)."""
        from asteriskbill.store import ready  # here: the store is SQLAlchemy and its models, which --help does not need

        return self.open(ready.connect)

    @property
    def zone(self) -> ZoneInfo:
        """The timezone setting: what times without an offset mean, and how listings show times."""
        return ZoneInfo(self.settings.timezone)

    def open(self, opener: Callable[[Settings], Engine]) -> Engine:
        """The engine ``opener`` gives: ready.create for `init`, make_engine for `status`, which reports."""
        if self._engine is None:
            self._engine = opener(self.settings)
        return self._engine


pass_app = click.make_pass_decorator(App)


def json_option(command: Callable) -> Callable:
    """``--json``: print one JSON document for scripts instead of the text for people."""
    return click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")(command)


def output_option(*suffixes: str) -> Callable:
    """``-o FILE``: write to a file whose suffix picks the format."""

    def decorate(command: Callable) -> Callable:
        @functools.wraps(command)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            path = kwargs.get("output")
            if path and not path.lower().endswith(suffixes):
                raise click.BadParameter(
                    f"{path}: use a file ending in {' or '.join(suffixes)}", param_hint="-o/--output"
                )
            return command(*args, **kwargs)

        return click.option(
            "-o", "--output", type=click.Path(dir_okay=False), help=f"Write to FILE ({', '.join(suffixes)})."
        )(wrapper)

    return decorate


def echo_json(value: Any) -> None:
    click.echo(json.dumps(value, indent=2, sort_keys=False, default=str))


def echo_table(rows: list[dict[str, Any]], columns: list[str]) -> None:
    """A plain aligned table for people."""
    if not rows:
        click.echo("(none)")
        return
    cells = [["" if row.get(c) is None else str(row[c]) for c in columns] for row in rows]
    widths = [max(len(c), *(len(r[i]) for r in cells)) for i, c in enumerate(columns)]
    click.echo("  ".join(c.ljust(w) for c, w in zip(columns, widths, strict=True)).rstrip())
    for row in cells:
        click.echo("  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)).rstrip())


def money(amount: int, currency: str) -> str:
    """An amount as people read it: "12.50 USD"."""
    return f"{format_amount(amount)} {currency}"


def stamp(moment: datetime | None) -> str:
    """A moment to the second, with its UTC offset; "" for none."""
    return "" if moment is None else moment.isoformat(timespec="seconds")


def local_stamp(moment: datetime | None, zone: ZoneInfo) -> str:
    """A moment as people read it: in ``zone``, to the second, with its offset ("2026-11-30 15:02:05 +02:00")."""
    if moment is None:
        return ""
    text = moment.astimezone(zone).isoformat(sep=" ", timespec="seconds")
    return f"{text[:19]} {text[19:]}"


def echo_fields(data: dict[str, Any], keys: Sequence[str]) -> None:
    """One aligned "key: value" line per key that has a value, for `show` commands."""
    width = max(map(len, keys)) + 2
    for key in keys:
        if data[key] not in (None, ""):
            click.echo(f"{key + ':':<{width}}{data[key]}")


@contextmanager
def file_progress(file: Path, from_bytes: int) -> Iterator[Callable[[int], None]]:
    """A progress bar on stderr, advanced by bytes read, for an import of a file of ``from_bytes`` or more."""
    size = file.stat().st_size
    if size < from_bytes:
        yield lambda _bytes: None
        return
    with click.progressbar(length=size, label=f"importing {file.name}", file=sys.stderr) as bar:
        yield bar.update
