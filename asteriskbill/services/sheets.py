"""Tables to files and back: CSV (a path or a text stream) or XLSX (a path), chosen by the file's suffix.

Text is written as text, so card numbers, PINs and prefixes keep their leading zeros; numbers, amounts
and dates are typed cells, and text a spreadsheet would run as a formula is neutralised (sheet_cells.py).
A file is written whole or not at all, readable by its owner only (files.py). Reading gives each row's
fields as the text a CSV field would hold, with its line number, for imports that report problems line
by line.
"""

from __future__ import annotations

import csv
import io
import os
import re
import zipfile
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from datetime import date, datetime, time
from decimal import Decimal
from pathlib import Path
from typing import IO, BinaryIO, TextIO

import openpyxl
from openpyxl.utils.exceptions import InvalidFileException
from openpyxl.workbook.workbook import Workbook
from sqlalchemy import String, Table

from asteriskbill.errors import UserError
from asteriskbill.explain import explain
from asteriskbill.files import private_file
from asteriskbill.services.sheet_cells import CellError, Types, csv_row, unquote, xlsx_row

MAX_ERRORS = 20
PROGRESS_STEP = 1 << 20

Progress = Callable[[int], None]
Line = tuple[int, list[str]]


def write_csv(stream: TextIO, columns: Sequence[str], rows: Iterable[Sequence[object]], types: Types) -> int:
    """Write ``rows`` under a header of ``columns``, each cell as its column's kind (see sheet_cells);
    returns how many rows were written."""
    kinds = [types.get(name) for name in columns]
    write = stream.write
    plain = csv.writer(stream, lineterminator="\n").writerow
    # Python 3.11 leaves a field with a lone CR unquoted, and a reader would split the row there
    quoting = csv.writer(stream, lineterminator="\n", quoting=csv.QUOTE_ALL).writerow
    plain(columns)
    count = 0
    for row in rows:
        fields, line = csv_row(kinds, row)
        if line is not None:  # most rows: no field to quote
            write(line)
        else:
            (quoting if any("\r" in field for field in fields) else plain)(fields)
        count += 1
    return count


def write_file(
    path: str | os.PathLike[str], columns: Sequence[str], rows: Iterable[Sequence[object]], types: Types, sheet: str
) -> int:
    """Write ``rows`` under a header of ``columns`` as CSV or XLSX, by the suffix, through ``private_file``
    (whole or not at all, readable by its owner only); returns how many rows."""
    try:
        with private_file(path) as handle:
            return _write(handle, Path(path).suffix.lower() == ".xlsx", columns, rows, types, sheet)
    except CellError as exc:
        raise UserError(f"cannot write {path}: {exc}") from None


def _write(
    handle: BinaryIO, xlsx: bool, columns: Sequence[str], rows: Iterable[Sequence[object]], types: Types, sheet: str
) -> int:
    if not xlsx:
        stream = io.TextIOWrapper(handle, encoding="utf-8", newline="")
        count = write_csv(stream, columns, rows, types)
        stream.detach()  # flushed, and ``handle`` left open
        return count
    book = openpyxl.Workbook(write_only=True)
    page = book.create_sheet(sheet)
    page.append(list(columns))
    kinds = [types.get(name) for name in columns]
    count = 0
    try:
        for count, row in enumerate(rows, 1):
            page.append(xlsx_row(page, count + 1, columns, kinds, row))
    except BaseException:
        page.close()  # ends openpyxl's sheet stream: left open, it fails with a traceback when collected
        raise
    book.save(handle)
    return count


# -- reading CSV and XLSX files -------------------------------------------------------------------


class Problems:
    """Line-numbered problems of one file: the first MAX_ERRORS are kept, all are counted."""

    def __init__(self, source: Path):
        self.source = source
        self.lines: list[tuple[int, str]] = []
        self.count = 0

    def add(self, line: int, message: str) -> None:
        self.count += 1
        if len(self.lines) < MAX_ERRORS:
            self.lines.append((line, message))

    def check(self) -> None:
        """Raise the problems found, in line order (checks of a whole file find them out of order)."""
        if not self.count:
            return
        more = f"\n  ... and {self.count - len(self.lines)} more" if self.count > len(self.lines) else ""
        raise UserError(
            f"{self.source.name}: {self.count} error(s), nothing was imported:\n  "
            + "\n  ".join(f"line {line}: {message}" for line, message in sorted(self.lines))
            + more
        )


def header(source: Path, lines: Iterator[Line], known: Sequence[str], required: Sequence[str]) -> list[str]:
    """The lower-cased column names of the first row: each known, none twice, the required ones there."""
    first = next(lines, None)
    if first is None:
        raise UserError(f"{source.name} is empty: expected a header row such as {','.join(known[:3])}")
    columns = [name.strip().lower() for name in first[1]]
    for name in columns:
        if name not in known:
            raise UserError(f"{source.name}: unknown column {name!r} in the header (known: {', '.join(known)})")
        if columns.count(name) > 1:
            raise UserError(f"{source.name}: column {name!r} appears twice in the header")
    for name in required:
        if name not in columns:
            raise UserError(f"{source.name}: the header has no {name!r} column")
    return columns


def fields(columns: list[str], values: list[str]) -> dict[str, str]:
    """One line's fields by column; fields past the header must be empty, missing ones are."""
    extra = [f for f in values[len(columns) :] if f.strip()]
    if extra:
        raise UserError(f"{len(columns) + len(extra)} fields, but the header has {len(columns)} columns")
    return dict(zip(columns, values, strict=False))  # a short line leaves its last columns out


def widths(table: Table) -> dict[str, int]:
    """The length of each text column of a table, for ``check_widths``."""
    return {c.name: c.type.length for c in table.columns if isinstance(c.type, String) and c.type.length}


def check_widths(limits: Mapping[str, int], values: Mapping[str, str | None]) -> None:
    """A text value that would not fit its column is refused, naming the column."""
    for name, width in limits.items():
        value = values.get(name)
        if value is not None and len(value) > width:
            raise UserError(f"{name} is {len(value)} characters long, at most {width} fit")


def read(source: Path, progress: Progress = lambda _bytes: None) -> Iterator[Line]:
    """(line number, fields) of each row of a CSV file, or of the first sheet of an XLSX file."""
    try:
        if source.suffix.lower() == ".xlsx":
            book = openpyxl.load_workbook(source, read_only=True, data_only=True)
            return _without_controls(source, _xlsx_lines(book, source.stat().st_size, progress))
        return _csv_lines(source, source.open("rb"), progress)
    except OSError as exc:
        raise UserError(f"cannot read {source}: {exc.strerror}") from None
    except (zipfile.BadZipFile, InvalidFileException):
        raise UserError(f"{source.name} is not an XLSX workbook") from None


# C0 controls (a line break inside a quoted field too: the file's own line breaks never reach a field), DEL, C1
CONTROL = re.compile("[\x00-\x1f\x7f-\x9f]")


def _without_controls(source: Path, lines: Iterator[Line]) -> Iterator[Line]:
    """The lines, refusing one with a control character (``_refuse_controls``)."""
    for number, values in lines:
        if not "".join(values).isprintable():
            _refuse_controls(source, number, values)
        yield number, values


def _refuse_controls(source: Path, number: int, values: list[str]) -> None:
    """Refuse a line with a control character: no export could write it back (XLSX cannot hold most of them)
    and it would garble every listing; the one check of every import from a file. (A line that is all
    printable has none: most lines are passed by ``str.isprintable`` alone.)"""
    if CONTROL.search("".join(values)):
        column, char = next((n, found[0]) for n, value in enumerate(values, 1) if (found := CONTROL.search(value)))
        raise UserError(
            f"{source.name} line {number}: field {column} holds a control character (U+{ord(char):04X}): remove it"
        )


def _csv_lines(source: Path, raw: IO[bytes], progress: Progress) -> Iterator[Line]:
    with raw:
        reader = csv.reader(_decoded(raw, progress))
        try:
            for values in reader:
                text = "".join(values)
                if not text.isprintable():
                    _refuse_controls(source, reader.line_num, values)
                # unquote: what write_csv neutralised reads back as it was (a field starting with a quote)
                yield reader.line_num, [unquote(v) for v in values] if "'" in text else values
        except csv.Error as exc:  # e.g. a field past csv.field_size_limit(): where it is, in explain()'s words
            raise UserError(f"{source.name} line {reader.line_num}: {explain(exc)}") from None


def _decoded(raw: IO[bytes], progress: Progress) -> Iterator[str]:
    """UTF-8 text lines (a leading byte-order mark, as Excel writes, is dropped), reporting bytes read."""
    pending = 0
    for number, data in enumerate(raw, 1):
        pending += len(data)
        if pending >= PROGRESS_STEP:
            progress(pending)
            pending = 0
        try:
            yield data.decode("utf-8-sig" if number == 1 else "utf-8")
        except UnicodeDecodeError:
            raise UserError(f'line {number} is not UTF-8 text: save the file as "CSV UTF-8"') from None
    progress(pending)


def _xlsx_lines(book: Workbook, size: int, progress: Progress) -> Iterator[Line]:
    try:
        for number, cells in enumerate(book.worksheets[0].iter_rows(values_only=True), 1):
            yield number, [_cell_text(value) for value in cells]
    finally:
        book.close()
    progress(size)


def _cell_text(value: object) -> str:
    """A cell as the text a CSV field would hold (exports write text; a spreadsheet may make numbers)."""
    if value is None:
        return ""
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else format(Decimal(repr(value)), "f")
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == time(0) else value.isoformat()
    if isinstance(value, time):
        return value.strftime("%H:%M")
    if isinstance(value, date):
        return value.isoformat()
    return str(value)
