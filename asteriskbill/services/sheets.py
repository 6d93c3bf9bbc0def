"""Tables to files: CSV (a path or a text stream) or XLSX (a path), chosen by the file's suffix.

Every cell is written as text, so card numbers, PINs and prefixes keep their leading zeros and
amounts stay exact when a spreadsheet opens the file.
"""

from __future__ import annotations

import csv
import os
from pathlib import Path
from typing import Iterable, Sequence, TextIO

import openpyxl

from asteriskbill.errors import UserError


def write_csv(stream: TextIO, columns: Sequence[str], rows: Iterable[Sequence[object]]) -> int:
    writer = csv.writer(stream, lineterminator="\n")
    writer.writerow(columns)
    count = 0
    for count, row in enumerate(rows, 1):
        writer.writerow(["" if cell is None else str(cell) for cell in row])
    return count


def write_file(path: str | os.PathLike[str], columns: Sequence[str], rows: Iterable[Sequence[object]],
               sheet: str = "sheet1", private: bool = False) -> int:
    """Write ``rows`` under a header of ``columns``; returns how many rows were written.

    ``private`` files (PINs) are created readable by their owner only, before anything is written.
    """
    path = Path(path)
    try:
        if private:
            path.unlink(missing_ok=True)
            os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
        return _write(path, columns, rows, sheet)
    except OSError as exc:
        raise UserError(f"cannot write {path}: {exc.strerror}") from None


def _write(path: Path, columns: Sequence[str], rows: Iterable[Sequence[object]], sheet: str) -> int:
    if path.suffix.lower() != ".xlsx":
        with path.open("w", newline="", encoding="utf-8") as stream:
            return write_csv(stream, columns, rows)
    with path.open("wb") as handle:  # opened first: a bad path fails before a workbook is begun
        book = openpyxl.Workbook(write_only=True)
        page = book.create_sheet(sheet)
        page.append(list(columns))
        count = 0
        for count, row in enumerate(rows, 1):
            page.append(["" if cell is None else str(cell) for cell in row])
        book.save(handle)
    return count
