"""An XLSX export next to its CSV twin: what each cell should hold once typed (services/sheet_cells.py)."""

from __future__ import annotations

import csv
import io
from datetime import date, datetime, time
from decimal import Decimal

import openpyxl

from asteriskbill.services.sheet_cells import Kind, Types, typed, unquote


def xlsx_cells(path) -> list[list[object]]:
    """Every row's values of the first sheet (a path or a file), "" for an empty cell: a row is as wide as the
    header, as XLSX keeps no empty cells at the end of a row."""
    book = openpyxl.load_workbook(path, read_only=True)
    try:
        rows = [["" if v is None else v for v in row] for row in book.worksheets[0].iter_rows(values_only=True)]
    finally:
        book.close()
    width = len(rows[0]) if rows else 0
    return [row + [""] * (width - len(row)) for row in rows]


def as_xlsx(csv_text: str, types: Types) -> list[list[object]]:
    """The rows of a CSV export as the XLSX export holds them: text unquoted, numbers and dates typed."""
    header, *rows = csv.reader(io.StringIO(csv_text, newline=""))
    kinds = [types.get(name) for name in header]
    return [header] + [[_cell(kind, text) for kind, text in zip(kinds, row, strict=True)] for row in rows]


def _cell(kind: Kind | None, text: str) -> object:
    value = typed(kind, text) if kind and text else None
    if value is None:
        return unquote(text)
    if isinstance(value, Decimal):
        return float(value)  # as openpyxl reads a number back
    if not isinstance(value, datetime) and isinstance(value, date):
        return datetime.combine(value, time())
    return value
