"""Rate use cases: import a price list (all or nothing), export it, list it a page at a time (which rate applies
to a number: rate_lookup.py)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from itertools import islice
from pathlib import Path
from typing import TextIO

from sqlalchemy import ColumnElement, Connection, Engine, Row, delete, func, insert, or_, select, tuple_, update

from asteriskbill.billing.numbers import is_digits
from asteriskbill.errors import UserError
from asteriskbill.rating.csvrow import RATE_FIELDS, describe_validity, format_rate, parse_rate
from asteriskbill.rating.model import Rate
from asteriskbill.services import audit, rate_rows, sheets, tariffs
from asteriskbill.services.calls import ENGINE_OPERATOR
from asteriskbill.services.external_sort import SortedRuns
from asteriskbill.services.sheet_cells import Kind
from asteriskbill.store import tariffs as repo
from asteriskbill.store.engine import reading
from asteriskbill.store.models import RateRevision, RateRow
from asteriskbill.store.models import Tariff as TariffRow
from asteriskbill.store.tariffs import in_effect

BATCH = 5_000  # rows per transaction: SQLite's write lock is never held for long
RUN = 100_000  # rows an import holds in memory (about 40 MiB); more are sorted through a temporary file
MAX_SUSPECTS = 1_000  # prefixes the SQL check for twins looks at by name; beyond, it looks at every row
Suspects = frozenset[str] | None  # the prefixes two rates of an import may share with their validity; None: any
RATES = RateRow.__table__


@dataclass(frozen=True)
class ImportResult:
    tariff: str
    count: int  # rates written
    replaced: int  # rates of the tariff deleted first (--replace)
    replace: bool = False

    @property
    def summary(self) -> str:
        """What the import did, in words: "imported 2 rates into tariff retail (replaced 3)"."""
        replaced = f" (replaced {self.replaced})" if self.replace else ""
        return f"imported {self.count:,} rate{'' if self.count == 1 else 's'} into tariff {self.tariff}{replaced}"


def import_rates(
    engine: Engine,
    tariff_name: str,
    source: str | Path,
    replace: bool = False,
    progress: sheets.Progress = lambda _bytes: None,
    *,
    operator: str = ENGINE_OPERATOR,
) -> ImportResult:
    """Write every rate of a CSV (or XLSX) file into a tariff, all or nothing.

    The file is read and checked whole first; then its rows are written, by prefix, under a new revision
    of the tariff's rates in short transactions (calls go on being authorized meanwhile: SQLite's write
    lock is held for one batch at a time), checked for duplicates, and switched in by one small
    transaction at the end; until then no reader sees them, so the rows of an import killed on the way
    are never priced. ``replace`` retires the tariff's other rates in that same transaction; without it a
    rate that has the prefix and validity of one in effect is an error, as is such a pair within the file.
    A refused import deletes its rows and gives its revision number back: it changes nothing. After the
    switch, the rows nothing shows any more (retired, or left by an import that did not finish) are deleted.
    """
    source = Path(source)
    told = _Progress(progress)
    lines = sheets.read(source, told.read)
    columns = _header(source, lines)
    problems = sheets.Problems(source)
    stage = _stage(engine, tariff_name)
    try:
        count, suspects = _write(engine, stage, columns, lines, problems, told)
        if suspects is not None and not replace and _has_rates(engine, stage.tid):
            suspects = None  # the file's rates against those in effect: any of them
        if suspects is None or suspects:
            with reading(engine) as conn:
                after = _in_effect_after(stage, replace)
                _report_duplicates(conn, stage.tid, after, tariff_name, source, columns, problems, suspects)
            problems.check()
        replaced = _switch_in(engine, tariff_name, stage, count, replace, operator, source.name)
    except BaseException:
        _delete_rates(engine, stage.tid, RateRow.revision == stage.revision)
        _give_back(engine, stage)
        raise
    # Below this revision, a revision not switched in is dead: its import was killed, refused or superseded.
    switched_in = select(RateRevision.revision).where(RateRevision.tariff_id == stage.tid)
    _delete_rates(engine, stage.tid, RateRow.revision < stage.revision, RateRow.revision.not_in(switched_in))
    return ImportResult(tariff_name, count, replaced, replace)


@dataclass(frozen=True)
class _Stage:
    tid: int
    current: int  # the revision last switched in when the import began
    revision: int  # the import's own
    handed_out: int  # the tariff's rates_staged before it


def _stage(engine: Engine, name: str) -> _Stage:
    """A new revision to stage under, handed out once: a number above every one rows may have."""
    with engine.begin() as conn:
        tid = tariffs.tariff_id(conn, name)
        # FOR NO KEY UPDATE on PostgreSQL: another import's rows hold their tariff's key share until it commits
        row = conn.execute(
            select(TariffRow.rates_revision, TariffRow.rates_staged)
            .where(TariffRow.id == tid)
            .with_for_update(key_share=True)
        ).one()
        stage = _Stage(tid, row.rates_revision, max(row.rates_staged, row.rates_revision) + 1, row.rates_staged)
        conn.execute(update(TariffRow).where(TariffRow.id == tid).values(rates_staged=stage.revision))
    return stage


def _give_back(engine: Engine, stage: _Stage) -> None:
    """Hand the revision number back, its rows gone, unless another import was handed one since."""
    with engine.begin() as conn:
        conn.execute(
            update(TariffRow)
            .where(TariffRow.id == stage.tid, TariffRow.rates_staged == stage.revision)
            .values(rates_staged=stage.handed_out)
        )


def _in_effect_after(stage: _Stage, replace: bool) -> ColumnElement[bool]:
    """The tariff's rows in effect once the import is switched in (as things stand)."""
    mine = RateRow.revision == stage.revision
    if replace:
        return mine
    return or_(mine, RateRow.revision.in_(select(RateRevision.revision).where(RateRevision.tariff_id == stage.tid)))


def _switch_in(engine: Engine, name: str, stage: _Stage, count: int, replace: bool, operator: str, file: str) -> int:
    """Put the staged revision in effect (with --replace, alone); returns how many rates it replaced.

    Refused when another import was switched in since this one began: the file was checked for
    duplicates against rates that are no longer the ones in effect.
    """
    with engine.begin() as conn:
        done = conn.execute(
            update(TariffRow)
            .where(TariffRow.id == stage.tid, TariffRow.rates_revision == stage.current)
            .values(rates_revision=stage.revision)
        ).rowcount
        if not done:
            raise UserError(
                f"another import into tariff {name!r} finished meanwhile: nothing was imported, import again"
            )
        replaced = 0
        if replace:
            in_effect_now = select(func.coalesce(func.sum(RateRevision.rates), 0))
            replaced = conn.execute(in_effect_now.where(RateRevision.tariff_id == stage.tid)).scalar_one()
            conn.execute(delete(RateRevision).where(RateRevision.tariff_id == stage.tid))
        conn.execute(insert(RateRevision).values(tariff_id=stage.tid, revision=stage.revision, rates=count))
        audit.record(conn, operator, "rates.import", name, {"file": file, "rates": count, "replaced": replaced})
    return replaced


def _delete_rates(engine: Engine, tid: int, *where: ColumnElement[bool]) -> None:
    """Delete the tariff's rates ``where`` says, a batch per transaction."""
    while True:
        with engine.begin() as conn:
            ids = conn.execute(select(RateRow.id).where(RateRow.tariff_id == tid, *where).limit(BATCH)).scalars().all()
            if not ids:
                return
            conn.execute(delete(RateRow).where(RateRow.id.in_(ids)))


def _header(source: Path, lines: Iterator[sheets.Line]) -> list[str]:
    columns = sheets.header(source, lines, RATE_FIELDS, ("prefix",))
    if "price" not in columns and "intervals" not in columns:
        raise UserError(f"{source.name}: the header needs a 'price' column (or 'intervals')")
    return columns


def _has_rates(engine: Engine, tid: int) -> bool:
    """Whether rates of the tariff are in effect (its first revision, made with it, has none)."""
    with reading(engine) as conn:
        holding = select(RateRevision.revision).where(RateRevision.tariff_id == tid, RateRevision.rates > 0)
        return conn.execute(holding.limit(1)).first() is not None


def _write(
    engine: Engine,
    stage: _Stage,
    columns: list[str],
    lines: Iterator[sheets.Line],
    problems: sheets.Problems,
    told: _Progress,
) -> tuple[int, Suspects]:
    """Parse every line and write the rows under the stage's revision; returns how many, and the prefixes two rows
    may share with their validity (the SQL check then says). Nothing is written, or it is rolled back, when a line
    is bad (after the first problem only more problems are looked for).

    The rows go in sorted by prefix, which the (tariff_id, prefix) index grows fastest in (in file order, each batch
    rewrote pages all over it); at most two RUNs of rows are in memory."""
    rows = _good_rows(lines, rate_rows.parser(columns), problems)
    if engine.dialect.name == "postgresql":
        return _write_by_runs(engine, stage, rows, problems, told)
    return _write_merged(engine, stage, rows, problems, told)


def _good_rows(lines: Iterator[sheets.Line], parse: rate_rows.Parser, problems: sheets.Problems) -> Iterator[tuple]:
    """The rows of the lines up to the first bad one; the lines after it are only checked, for more problems."""
    for line, fields in lines:
        try:
            row = parse(fields)
        except UserError as exc:
            problems.add(line, str(exc))
            continue
        if row is not None and not problems.count:
            yield row


def _write_merged(
    engine: Engine, stage: _Stage, rows: Iterator[tuple], problems: sheets.Problems, told: _Progress
) -> tuple[int, Suspects]:
    """SQLite: the whole file sorted first (runs merged back through a temporary file), then BATCH rows per
    transaction, so the write lock is never held for long."""
    with SortedRuns(rate_rows.prefix_of, RUN) as ordered:
        for row in rows:
            ordered.add(row)
        problems.check()
        twins = rate_rows.Twins()
        merged, written = iter(ordered), 0
        while batch := list(islice(merged, BATCH)):
            twins.check(batch)
            with engine.begin() as conn:
                rate_rows.insert(conn, stage.tid, stage.revision, batch)
            written += len(batch)
            told.wrote(written, len(ordered))
        told.wrote(written, written)
        return written, None if twins.found else frozenset()  # the whole file sorted: Twins saw every pair


def _write_by_runs(
    engine: Engine, stage: _Stage, rows: Iterator[tuple], problems: sheets.Problems, told: _Progress
) -> tuple[int, Suspects]:
    """PostgreSQL: one transaction (it blocks no reader or writer), in which each RUN of rows, sorted by prefix, is
    copied in by a helper thread while the next run is parsed: the server inserts as the file is read (parsing
    first, then writing, took half as long again). Rates that share prefix and validity are found within a run;
    across runs the SQL check finds them among the prefixes ``Repeats`` names. A bad line rolls everything back."""
    written = 0
    twins = False
    repeats = rate_rows.Repeats()
    with engine.begin() as conn, ThreadPoolExecutor(1, thread_name_prefix="asteriskbill-copy") as helper:
        driver = conn.connection.driver_connection
        copying: Future[None] | None = None
        while (run := sorted(islice(rows, RUN), key=rate_rows.prefix_of)) and not problems.count:
            found = rate_rows.Twins()
            found.check(run)
            repeats.check(run)
            twins = twins or found.found
            if copying is not None:
                copying.result()  # one run copied at a time: two in memory at most
                told.wrote(written, written + len(run))
            copying = helper.submit(rate_rows.copy, driver, stage.tid, stage.revision, run)
            written += len(run)
        if copying is not None:  # the loop ends with every line read: after a bad one, islice reads on to the end
            copying.result()
        problems.check()
    told.wrote(written, written)
    if twins or len(repeats.prefixes) > MAX_SUSPECTS:
        return written, None
    return written, frozenset(repeats.prefixes)


class _Progress:
    """An import's progress in bytes of its file: half of them as the file is read, the other half as its
    rows are written (each takes about as long); they add up to the file's size."""

    def __init__(self, report: sheets.Progress):
        self.report = report
        self.owed = 0  # bytes read, to be reported as the rows are written
        self.told = 0  # of those, reported so far

    def read(self, count: int) -> None:
        self.owed += count - count // 2
        self.report(count // 2)

    def wrote(self, done: int, total: int) -> None:
        due = self.owed if done >= total else self.owed * done // total
        if due > self.told:
            self.report(due - self.told)
            self.told = due


def _report_duplicates(
    conn: Connection,
    tid: int,
    in_effect_after: ColumnElement,
    tariff_name: str,
    source: Path,
    columns: list[str],
    problems: sheets.Problems,
    among: Suspects = None,
) -> None:
    """Rates that would share prefix and validity once the import is in effect (``in_effect_after``:
    the rows then in effect), of the prefixes ``among`` (None: any), named by their lines (the file is read
    again)."""
    identity = [RATES.c[name] for name in rate_rows.IDENTITY]
    only = [] if among is None else [RATES.c.prefix.in_(among)]
    groups = conn.execute(
        select(*identity, func.count())
        .where(RATES.c.tariff_id == tid, in_effect_after, *only)
        .group_by(*identity)
        .having(func.count() > 1)
        .limit(sheets.MAX_ERRORS)
    ).all()
    if not groups:
        return
    counts = {rate_rows.identity_key(group[:-1]): group[-1] for group in groups}
    found: dict[tuple, list[tuple[int, list[str]]]] = {key: [] for key in counts}
    parse = rate_rows.parser(columns)
    lines = sheets.read(source)
    next(lines)  # the header
    for line, fields in lines:
        row = parse(fields)  # the lines were all good
        if row is not None and (key := rate_rows.identity_of(row)) in found:
            found[key].append((line, fields))
    for key, named in found.items():
        (first, fields), *later = named
        rate = parse_rate(sheets.fields(columns, fields))
        what = f"prefix {rate.prefix} ({describe_validity(rate)})"
        for line, _ in later:
            problems.add(line, f"{what} is on line {first} already")
        if counts[key] > len(named):
            problems.add(
                first, f"{what} is a rate of tariff {tariff_name!r} already (replace all its rates with --replace)"
            )


# -- export -----------------------------------------------------------------------------------------

EXPORT_TYPES = {
    "price": Kind.AMOUNT,
    "connect_fee": Kind.AMOUNT,
    "buy_price": Kind.AMOUNT,
    "grace": Kind.INTEGER,
    "weight": Kind.INTEGER,
    "date_from": Kind.DAY,
    "date_to": Kind.DAY,
}  # the other columns are text


def export_rates(engine: Engine, tariff_name: str, destination: str | Path | TextIO) -> int:
    """Write the tariff's rates, ordered by prefix, as CSV (a path or a text stream) or XLSX (a path).

    Pages are read in short transactions, so a long export never holds SQLite's write lock for
    long (calls keep being authorized); an import committed meanwhile may show in later pages.
    """
    with engine.begin() as conn:
        tid = tariffs.tariff_id(conn, tariff_name)
    rows = (list(format_rate(rate).values()) for rate in _pages(engine, tid))
    if isinstance(destination, (str, Path)):
        return sheets.write_file(destination, RATE_FIELDS, rows, EXPORT_TYPES, sheet="rates")
    return sheets.write_csv(destination, RATE_FIELDS, rows, EXPORT_TYPES)


def _pages(engine: Engine, tid: int, size: int = BATCH) -> Iterator[Rate]:
    """Every rate of the tariff by (prefix, id), a page per transaction (keyset pagination)."""
    after = ("", 0)
    while True:
        with reading(engine) as conn:
            rows = _page(conn, tid, after, size)
        yield from (repo.rate_from_row(row) for row in rows)
        if len(rows) < size:
            return
        after = (rows[-1].prefix, rows[-1].id)


def _page(conn: Connection, tid: int, after: tuple[str, int], size: int, prefix: str = "") -> Sequence[Row]:
    """Up to ``size`` rates of the tariff after the key ``after`` (prefix, id), of prefixes starting with
    ``prefix`` (a range over the (tariff_id, prefix) index: digits sort before ":")."""
    query = in_effect(select(RATES.c.id, *[RATES.c[name] for name in repo.RATE_COLUMNS])).where(
        RATES.c.tariff_id == tid, tuple_(RATES.c.prefix, RATES.c.id) > after
    )
    if prefix:
        query = query.where(RATES.c.prefix >= prefix, RATES.c.prefix < prefix + ":")
    return conn.execute(query.order_by(RATES.c.prefix, RATES.c.id).limit(size)).all()


@dataclass(frozen=True)
class RatePage:
    rates: list[Rate]
    after: tuple[str, int] | None  # the key of its last rate, to ask the next page after; None: the last page


def rates_page(
    engine: Engine, tariff_name: str, prefix: str = "", after: tuple[str, int] = ("", 0), size: int = 100
) -> RatePage:
    """One page of the tariff's rates by prefix (then import order), of prefixes starting with ``prefix``."""
    if prefix and not is_digits(prefix):
        raise UserError(f"prefix {prefix!r} must be digits, e.g. 44")
    with reading(engine) as conn:
        tid = tariffs.tariff_id(conn, tariff_name)
        rows = _page(conn, tid, after, size + 1, prefix)
    more = len(rows) > size
    return RatePage(
        [repo.rate_from_row(row) for row in rows[:size]], (rows[size - 1].prefix, rows[size - 1].id) if more else None
    )
