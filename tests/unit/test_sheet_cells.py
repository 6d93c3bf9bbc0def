"""CSV rows (services/sheet_cells.py, sheets.write_csv): a row's shortcuts (one search for what to neutralise, one
join for its line) write exactly what neutralising field by field and csv.writer write, for rows of text (as
exports build them) and rows of numbers and None alike, with every character the rules look at."""

from __future__ import annotations

import csv
import io

from hypothesis import given
from hypothesis import strategies as st

from asteriskbill.services.sheet_cells import Kind, _csv_field, csv_row
from asteriskbill.services.sheets import write_csv

KINDS = [None, Kind.INTEGER, Kind.AMOUNT, Kind.DAY, Kind.MOMENT]
# what neutralising and quoting look at, the separators the shortcuts join with, and plain characters
TEXT = st.text(alphabet="'=+-@\t\r\n\0,\" 1.a", max_size=6)
VALUE = st.one_of(TEXT, st.none(), st.integers(-(10**20), 10**20))


def by_csv_writer(kinds: list, rows: list[list]) -> str:
    """What write_csv wrote before its shortcuts: each field neutralised alone, each row by csv.writer."""
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator="\n")
    quoting = csv.writer(out, lineterminator="\n", quoting=csv.QUOTE_ALL)
    for row in rows:
        fields = [_csv_field(kind, value) for kind, value in zip(kinds, row, strict=True)]
        (quoting if any("\r" in field for field in fields) else writer).writerow(fields)
    return out.getvalue()


@st.composite
def sheets(draw, values=VALUE):
    kinds = draw(st.lists(st.sampled_from(KINDS), max_size=5))
    rows = draw(st.lists(st.lists(values, min_size=len(kinds), max_size=len(kinds)), max_size=4))
    return kinds, rows


@given(sheets())
def test_rows_are_written_as_field_by_field_and_csv_writer_would(sheet):
    kinds, rows = sheet
    columns = [f"c{n}" for n in range(len(kinds))]
    out = io.StringIO(newline="")
    assert write_csv(out, columns, rows, dict(zip(columns, kinds, strict=True))) == len(rows)
    assert out.getvalue() == by_csv_writer(kinds, [columns, *rows])


@given(sheets(TEXT))
def test_rows_of_text_are_written_as_field_by_field_and_csv_writer_would(sheet):
    kinds, rows = sheet
    for row in rows:
        fields, line = csv_row(kinds, row)
        assert list(fields) == [_csv_field(kind, text) for kind, text in zip(kinds, row, strict=True)]
        assert line is None or line == by_csv_writer(kinds, [row])


def test_examples():
    kinds = [None, Kind.AMOUNT, Kind.AMOUNT, Kind.INTEGER, None]
    row = ["=1+2", "-1.50", "-12345678901234.000001", -5, "'@x"]
    fields = ["'=1+2", "-1.50", "'-12345678901234.000001", "-5", "''@x"]
    assert csv_row(kinds, row) == (fields, ",".join(fields) + "\n")
    assert csv_row([None, None], ["a\rb", None]) == (["a\rb", ""], None)  # csv.writer quotes it
    assert csv_row([None, None], ("plain", "a,b")) == (("plain", "a,b"), None)
    assert csv_row([None, None], ("plain", "text")) == (("plain", "text"), "plain,text\n")
    assert csv_row([None], [""]) == ([""], None)  # csv.writer writes "" for a row of one empty field
