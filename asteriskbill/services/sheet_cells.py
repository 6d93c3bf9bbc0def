"""The cells of an exported sheet: text a spreadsheet cannot run, numbers and dates it can add up.

Each export names the kind of its number and date columns; every other column is text. In CSV a text
cell that a spreadsheet would take for a formula (it begins with = + - @, a tab or a carriage return)
gets a leading quote, as OWASP advises, and the importers strip that one quote again (``unquote``); a
number in a number column ("-1.50") is left as it is. In XLSX text is always a string cell, never a
formula; integers, amounts (exact decimals, shown with their decimals), days and moments are typed
cells, so that SUM() adds them.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Mapping, Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING

from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.utils.exceptions import IllegalCharacterError

if TYPE_CHECKING:
    from openpyxl.worksheet._write_only import WriteOnlyWorksheet


class CellError(ValueError):
    """A value the file's format cannot hold."""


class Kind(enum.Enum):
    INTEGER = "integer"
    AMOUNT = "amount"  # a decimal as money.format_amount writes it
    DAY = "day"  # YYYY-MM-DD
    MOMENT = "moment"  # ISO 8601: the XLSX cell holds its wall-clock time (XLSX has no UTC offsets)


Types = Mapping[str, Kind]  # column name -> kind; a column not named is text

# Text a spreadsheet would run, also after quotes: quoting those too makes ``unquote`` exact.
_RUNS = re.compile(r"'*[=+\-@\t\r]")
# A field of a row joined by commas that begins with a quote or with what a spreadsheet would run: a superset of
# _RUNS's fields (a comma inside a field looks like a field's start), found by one search that skips from comma to
# comma, and at the start
_MAY_RUN = re.compile(r",['=+\-@\t\r]")
_MAY_RUN_FIRST = re.compile(r"['=+\-@\t\r]")
_INTEGER = re.compile(r"-?\d+", re.ASCII)
_DECIMAL = re.compile(r"-?(\d+)(?:\.(\d+))?", re.ASCII)
_DAY = re.compile(r"\d{4}-\d{2}-\d{2}", re.ASCII)
EXACT_DIGITS = 15  # a spreadsheet's number holds 15 significant digits: a longer amount stays text


def unquote(text: str) -> str:
    """A CSV field as it was before ``csv_row`` neutralised it: its one added quote removed."""
    return text[1:] if text.startswith("'") and _RUNS.match(text, 1) else text


def csv_row(kinds: Sequence[Kind | None], row: Sequence[object]) -> tuple[Sequence[str], str | None]:
    """A row's CSV fields, numbers and dates as given, text neutralised; and the line csv.writer would write for
    them (lineterminator "\\n") unless a field needs its quotes. Most rows take one join and a few searches of the
    line instead of work field by field, here and in csv.writer."""
    fields: Sequence[str]
    try:
        line = ",".join(row)  # type: ignore[arg-type]  # a row of text as it is (a big export's)
        fields = row  # type: ignore[assignment]
    except TypeError:  # numbers or None among the cells
        fields = ["" if value is None else str(value) for value in row]
        line = ",".join(fields)
    if _MAY_RUN_FIRST.match(line) or _MAY_RUN.search(line):
        fields = [_csv_field(kind, value) for kind, value in zip(kinds, row, strict=True)]
        line = ",".join(fields)
    # csv.writer quotes a field with a comma (more commas than separators), a quote or a line break, and the one
    # field of a row that has one and it is empty
    if len(fields) < 2 or line.count(",") != len(fields) - 1 or '"' in line or "\n" in line or "\r" in line:
        return fields, None
    return fields, line + "\n"


def _csv_field(kind: Kind | None, value: object) -> str:
    """The field's text; quoted when a spreadsheet would run it, unless it is a number of a number column."""
    if value is None:
        return ""
    text = str(value)
    if _RUNS.match(text) and (kind is None or typed(kind, value) is None):
        return f"'{text}"
    return text


def typed(kind: Kind, value: object) -> int | Decimal | date | datetime | None:
    """``value`` as its column's kind, or None when it is not one (then it is text)."""
    if isinstance(value, bool):
        return None
    text = str(value)
    if kind is Kind.INTEGER:
        return value if isinstance(value, int) else int(text) if _INTEGER.fullmatch(text) else None
    if kind is Kind.AMOUNT:
        return _amount(text)
    if kind is Kind.DAY:
        return value if isinstance(value, date) else date.fromisoformat(text) if _DAY.fullmatch(text) else None
    try:
        moment = value if isinstance(value, datetime) else datetime.fromisoformat(text)
    except ValueError:
        return None
    return moment.replace(tzinfo=None)


def _amount(text: str) -> Decimal | None:
    found = _DECIMAL.fullmatch(text)
    if found is None or len((found.group(1) + (found.group(2) or "")).lstrip("0")) > EXACT_DIGITS:
        return None
    return Decimal(text)


def xlsx_row(
    page: WriteOnlyWorksheet, line: int, columns: Sequence[str], kinds: Sequence[Kind | None], row: Sequence[object]
) -> list[object]:
    """A row's cells for openpyxl's write-only sheet ``page``; ``line`` (of the file) names a bad value."""
    return [_xlsx_cell(page, line, *cell) for cell in zip(columns, kinds, row, strict=True)]


def _xlsx_cell(page: WriteOnlyWorksheet, line: int, name: str, kind: Kind | None, value: object) -> object:
    if value is None or value == "":
        return None
    found = typed(kind, value) if kind else None
    if isinstance(found, Decimal):
        cell = WriteOnlyCell(page)
        cell.value = found
        cell.number_format = "0." + "0" * max(2, len(str(value).partition(".")[2]))  # as exported to CSV
        return cell
    if found is not None:
        return found  # openpyxl gives days and moments a date format
    text = str(value)
    if text[:1] not in ("=", "#") and ILLEGAL_CHARACTERS_RE.search(text) is None:
        return text  # a string cell as below, without a cell object made and refused by openpyxl for each
    cell = WriteOnlyCell(page)
    try:
        cell.value = text
    except IllegalCharacterError:
        bad = next(c for c in text if ord(c) < 32 and c not in "\t\n\r")
        raise CellError(
            f"line {line}, column {name} holds a control character (U+{ord(bad):04X}), which XLSX cannot hold: "
            "fix the value, or export to a .csv file"
        ) from None
    cell.data_type = "s"  # never a formula ("=...") nor an error code ("#N/A")
    return cell
