"""Exports under hostile values (issue 10, items 4 and 5), through the real command on every backend.

Text that a spreadsheet would run as a formula is neutralised in CSV (OWASP: a leading quote) and is a
string cell in XLSX; numbers, amounts and dates are typed XLSX cells, so a spreadsheet adds them up; the
importers read back what the exporters write. A file is complete or absent: an export that fails midway
leaves no file, or the earlier file as it was.
"""

from __future__ import annotations

import csv
import io
import os
import stat
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import openpyxl
import pytest
from sqlalchemy import delete, insert, select, update

from asteriskbill.store.base import Base
from asteriskbill.store.models import Account, Cdr, RateRow

FORMULA = '=HYPERLINK("http://x","y")'
HOSTILE = [FORMULA, "+1", "-2", "@SUM(A1)", "\tx", "\rx"]
READ_BACK = [FORMULA, "+1", "-2", "@SUM(A1)", "'=x", "'plain"]  # what an import keeps as it is
T0 = datetime(2026, 11, 2, 9, 30, tzinfo=UTC)


def xml(text: str) -> str:
    """Text as an XLSX file gives it back: XML reads a carriage return as a line feed."""
    return text.replace("\r", "\n")


def sheet(path) -> list[list[openpyxl.cell.Cell]]:
    return [list(row) for row in openpyxl.load_workbook(path).worksheets[0].iter_rows()]


def by_header(path) -> list[dict[str, openpyxl.cell.Cell]]:
    header, *rows = sheet(path)
    return [dict(zip([c.value for c in header], row, strict=True)) for row in rows]


def assert_no_formula(path) -> None:
    found = [(c.coordinate, c.value) for row in sheet(path) for c in row if c.data_type == "f"]
    assert not found, f"formulas in {path.name}: {found}"


def csv_rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text, newline="")))


@pytest.fixture
def rates(cli, engine, tmp_path):
    """Tariff retail with a rate per hostile destination (prefixes 100, 101, ...), set in the database as
    an old database may hold them, and a rate with a negative weight and a date window."""
    cli("tariff", "create", "retail", "--currency", "USD")
    lines = ["prefix,price,weight,date_from,date_to"]
    lines += [f"{100 + n},0.{n + 1:02d}5,0,," for n in range(len(HOSTILE + READ_BACK))]
    lines.append("200,1.25,-1,2026-12-24,2026-12-26")
    (tmp_path / "rates.csv").write_text("\n".join(lines) + "\n")
    cli("rates", "import", "retail", tmp_path / "rates.csv")
    with engine.begin() as conn:
        for n, name in enumerate(HOSTILE + READ_BACK):
            conn.execute(update(RateRow).where(RateRow.prefix == str(100 + n)).values(destination=name))
    return "retail"


def test_rates_csv_export_neutralises_formulas_and_keeps_numbers(cli, rates):
    rows = csv_rows(cli("rates", "export", rates).stdout)
    destinations = [r["destination"] for r in rows[: len(HOSTILE + READ_BACK)]]
    # a quote already before a trigger is doubled, so the import's one stripped quote gives it back
    assert destinations == [f"'{name}" for name in HOSTILE + READ_BACK[:4]] + ["''=x", "'plain"]
    assert (rows[-1]["price"], rows[-1]["weight"]) == ("1.25", "-1")  # a number in a number column stays one


@pytest.mark.parametrize("suffix", [".csv", ".xlsx"])
def test_rates_export_round_trips_the_hostile_names(cli, engine, rates, tmp_path, suffix):
    with engine.begin() as conn:  # an import refuses control characters
        conn.execute(delete(RateRow).where(RateRow.destination.in_(["\tx", "\rx"])))
    cli("rates", "export", rates, "-o", tmp_path / f"out{suffix}")
    cli("tariff", "create", "copy", "--currency", "USD")
    cli("rates", "import", "copy", tmp_path / f"out{suffix}")
    copied = csv_rows(cli("rates", "export", "copy").stdout)
    assert [r["destination"] for r in copied[: len(HOSTILE)]] == [f"'{name}" for name in HOSTILE[:4] + READ_BACK[:2]]
    assert copied == csv_rows(cli("rates", "export", rates).stdout)


def test_rates_xlsx_holds_strings_numbers_and_dates(cli, rates, tmp_path):
    path = tmp_path / "rates.xlsx"
    cli("rates", "export", rates, "-o", path)
    assert_no_formula(path)
    rows = by_header(path)
    names = HOSTILE + READ_BACK
    assert [(r["destination"].value, r["destination"].data_type) for r in rows[: len(names)]] == [
        (xml(name), "s") for name in names
    ]
    assert [r["prefix"].value for r in rows[:2]] == ["100", "101"]  # text: leading zeros would stay
    last = rows[-1]
    assert (last["price"].value, last["price"].number_format) == (1.25, "0.00")
    assert last["weight"].value == -1 and last["grace"].value == 0
    assert (last["date_from"].value, last["date_to"].value) == (datetime(2026, 12, 24), datetime(2026, 12, 26))
    assert last["date_from"].is_date
    prices = [r["price"].value for r in rows]
    assert all(isinstance(p, float | int) for p in prices)  # =SUM() of the column adds them
    expected = sum(Decimal(f"0.{n + 1:02d}5") for n in range(len(names))) + Decimal("1.25")
    assert round(Decimal(sum(prices)), 6) == expected


def test_accounts_export_types_amounts_and_round_trips(cli, engine, tmp_path):
    cli("tariff", "create", "retail", "--currency", "USD")
    cli("accounts", "create", "company", "acme", "--tariff", "retail")
    names = [FORMULA, "+1", "-2", "@SUM(A1)"]
    for n, name in enumerate(names):
        cli(
            "accounts",
            "create",
            "extension",
            "--parent",
            "acme",
            "--credit-limit",
            "5",
            "--extension",
            f"0{n}",
            "--",
            name,
        )
    cli("accounts", "adjust", "-2", "-3.5", "--note", "debt")
    cli("accounts", "recharge", "+1", "12.25")
    text = cli("accounts", "export").stdout
    rows = {r["extension"]: r for r in csv_rows(text) if r["kind"] == "extension"}
    assert [rows[f"0{n}"]["name"] for n in range(len(names))] == [f"'{name}" for name in names]
    assert (rows["02"]["balance"], rows["01"]["balance"]) == ("-3.50", "12.25")

    path = tmp_path / "accounts.xlsx"
    cli("accounts", "export", "-o", path)
    assert_no_formula(path)
    cells = {r["extension"].value: r for r in by_header(path) if r["kind"].value == "extension"}
    assert [cells[f"0{n}"]["name"].value for n in range(len(names))] == names
    balances = [r["balance"].value for r in by_header(path)]
    assert all(isinstance(b, float | int) for b in balances) and sum(balances) == 8.75
    assert cells["02"]["balance"].value == -3.5 and cells["02"]["credit_limit"].value == 5

    for suffix in (".csv", ".xlsx"):
        cli("accounts", "export", "-o", tmp_path / f"all{suffix}")
        with engine.begin() as conn:  # an empty database but for the tariff
            for table in reversed(Base.metadata.sorted_tables):
                if table.name != "tariffs":
                    conn.execute(table.delete())
        cli("accounts", "import", tmp_path / f"all{suffix}")
        again = {r["extension"]: r for r in csv_rows(cli("accounts", "export").stdout) if r["kind"] == "extension"}
        assert {k: {**r, "balance": ""} for k, r in again.items()} == {k: {**r, "balance": ""} for k, r in rows.items()}


def test_cdr_export_types_moments_integers_and_amounts(cli, engine, tmp_path):
    cli("tariff", "create", "retail", "--currency", "USD")
    cli("accounts", "create", "extension", "solo", "--tariff", "retail", "--extension", "200")
    with engine.begin() as conn:
        account = conn.execute(select(Account.id).where(Account.name == "solo")).scalar_one()
        for n, name in enumerate(HOSTILE):
            started = T0 + timedelta(minutes=n)
            conn.execute(
                insert(Cdr).values(
                    session=f"s{n}",
                    account_id=account,
                    callerid=name,
                    dialled="0044",
                    number="44",
                    destination=name,
                    call_class="international",
                    started_at=started,
                    answered_at=started + timedelta(seconds=5),
                    ended_at=started + timedelta(seconds=65),
                    billable_ms=60000,
                    billed_seconds=60,
                    outcome="ANSWER",
                    cost=1_500_000 + n,
                    currency="USD",
                )
            )
    rows = csv_rows(cli("cdr", "export", "--oldest-first").stdout)
    assert [(r["callerid"], r["destination"]) for r in rows] == [(f"'{h}", f"'{h}") for h in HOSTILE]
    assert rows[0]["cost"] == "1.50" and rows[1]["cost"] == "1.500001"

    path = tmp_path / "cdrs.xlsx"
    cli("cdr", "export", "--oldest-first", "-o", path)
    assert_no_formula(path)
    rows = by_header(path)
    assert [(r["callerid"].value, r["destination"].value) for r in rows] == [(xml(h), xml(h)) for h in HOSTILE]
    first = rows[0]
    assert first["started_at"].value == T0.replace(tzinfo=None) and first["started_at"].is_date
    assert first["billed_seconds"].value == 60 and first["billable_ms"].value == 60000
    assert (first["cost"].value, first["cost"].number_format) == (1.5, "0.00")
    assert (rows[1]["cost"].value, rows[1]["cost"].number_format) == (1.500001, "0.000000")
    assert first["buy_cost"].value is None


def test_cards_files_type_balances_and_moments(cli, tmp_path):
    cli("tariff", "create", "retail", "--currency", "USD")
    pins = tmp_path / "pins.xlsx"
    cli("cards", "generate", "--count", "2", "--value", "2.5", "--tariff", "retail", "--batch-name=-x", "-o", pins)
    assert_no_formula(pins)
    made = by_header(pins)
    assert [(r["value"].value, r["batch"].value, r["number"].data_type) for r in made] == [(2.5, "-x", "s")] * 2
    path = tmp_path / "cards.xlsx"
    cli("cards", "export", "-o", path)
    assert_no_formula(path)
    card = by_header(path)[0]
    assert card["balance"].value == 2.5 and card["batch"].value == "-x"
    assert isinstance(card["created_at"].value, datetime) and card["created_at"].is_date
    assert csv_rows(cli("cards", "export").stdout)[0]["batch"] == "'-x"
    assert (pins.stat().st_mode & 0o777, path.stat().st_mode & 0o777) == (0o600, 0o600)


# --- item 5: complete or absent ------------------------------------------------------------------------------


def run(db_url: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "asteriskbill.cli", "--db", db_url, *args],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "COLUMNS": "200"},
    )


def test_an_export_failing_midway_leaves_no_file_and_the_old_one_intact(cli, engine, db_url, tmp_path):
    cli("tariff", "create", "retail", "--currency", "USD")
    rows = "\n".join(f"{1000 + n},d{n},0.05" for n in range(3000))
    (tmp_path / "rates.csv").write_text(f"prefix,destination,price\n{rows}\n")
    cli("rates", "import", "retail", tmp_path / "rates.csv")
    old = tmp_path / "old.xlsx"
    cli("rates", "export", "retail", "-o", old)
    before = old.read_bytes()
    with engine.begin() as conn:  # as an old database may hold it: the import refuses it today
        conn.execute(update(RateRow).where(RateRow.prefix == "3500").values(destination="bad\x01name"))

    done = run(db_url, "rates", "export", "retail", "-o", str(old))
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert done.stderr.strip().splitlines() == [
        f"Error: cannot write {old}: line 2502, column destination holds a control character (U+0001), "
        "which XLSX cannot hold: fix the value, or export to a .csv file"
    ]
    assert old.read_bytes() == before
    names = {p.name for p in tmp_path.iterdir()}
    assert run(db_url, "rates", "export", "retail", "-o", str(tmp_path / "new.xlsx")).returncode == 1
    assert {p.name for p in tmp_path.iterdir()} - names == set()  # no new.xlsx, no temporary file left
    csv_file = tmp_path / "all.csv"  # CSV holds it
    assert run(db_url, "rates", "export", "retail", "-o", str(csv_file)).returncode == 0
    assert stat.S_IMODE(csv_file.stat().st_mode) == 0o600
    assert "bad\x01name" in csv_file.read_text()


def test_an_export_to_a_missing_folder_says_so(cli, tmp_path):
    cli("tariff", "create", "retail", "--currency", "USD")
    done = cli("rates", "export", "retail", "-o", tmp_path / "nowhere" / "x.csv", ok=False)
    assert f"cannot write {tmp_path / 'nowhere' / 'x.csv'}: No such file or directory" in done.stderr
    assert not (tmp_path / "nowhere").exists()
