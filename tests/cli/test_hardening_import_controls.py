"""Issue 10, item 5 (the import side): a control character in an imported file is refused with its line number, in
one line, and nothing changes; before, it was imported and then made `rates export -o x.xlsx` fail."""

from __future__ import annotations

import openpyxl
import pytest

HEADERS = {"rates": ["prefix", "destination", "price"], "accounts": ["kind", "name", "parent", "tariff", "extension"]}
GOOD = {"rates": [["44", "UK", "0.10"], ["45", "DE", "0.20"]], "accounts": [["company", "acme", "", "t1", ""]]}
BAD = {"rates": ["46", "Bad{}place", "0.30"], "accounts": ["extension", "bad{}name", "acme", "", "0001"]}
ARGS = {"rates": ["rates", "import", "t1"], "accounts": ["accounts", "import"]}


def write(path, rows: list[list[str]]):
    if path.suffix == ".xlsx":
        book = openpyxl.Workbook()
        for row in rows:
            book.active.append(row)
        book.save(path)
    else:  # every field quoted: a line break inside one is a field's, not the file's
        path.write_text("".join(",".join(f'"{field}"' for field in row) + "\n" for row in rows), encoding="utf-8")
    return path


@pytest.fixture
def world(cli):
    cli("tariff", "create", "t1", "--currency", "USD")
    return cli


@pytest.mark.parametrize("what", ["rates", "accounts"])
@pytest.mark.parametrize(
    "suffix, char",
    [
        (".csv", "\x07"),  # BEL
        (".csv", "\x1b"),  # ESC: a terminal escape sequence
        (".csv", "\x00"),
        (".csv", "\t"),
        (".csv", "\n"),  # inside the quoted field
        (".csv", "\x7f"),  # DEL
        (".csv", "\x85"),  # C1: NEXT LINE
        (".xlsx", "\x9b"),  # C1: the one-byte terminal escape
        (".xlsx", "\x7f"),
        (".xlsx", "\t"),
    ],
    ids=lambda value: f"U+{ord(value):04X}" if len(value) == 1 else value,
)
def test_a_control_character_is_refused_with_its_line(world, snapshot, tmp_path, what, suffix, char):
    rows = [HEADERS[what], *GOOD[what], [field.format(char) for field in BAD[what]]]
    line = len(rows) + (char == "\n")  # a CSV record is numbered by its last line
    before = snapshot()
    result = world(*ARGS[what], write(tmp_path / f"in{suffix}", rows), ok=False)
    name = f"U+{ord(char):04X}"
    assert result.stderr == f"Error: in{suffix} line {line}: field 2 holds a control character ({name}): remove it\n"
    assert snapshot() == before
    # the same file with a space for the control character is imported: the character alone was refused
    rows[-1] = [field.format(" ") for field in BAD[what]]
    world(*ARGS[what], write(tmp_path / f"fixed{suffix}", rows))


def test_text_without_controls_still_imports(world, tmp_path):
    """Non-ASCII letters and the usual punctuation are text, not controls."""
    rows = [HEADERS["rates"], ["359", "България, мобилни «A1»", "0.30"], ["44", "Zürich, €/min", "0.10"]]
    assert "imported 2 rates" in world(*ARGS["rates"], write(tmp_path / "ok.csv", rows)).output
    assert "България, мобилни «A1»" in world("rates", "export", "t1").output
