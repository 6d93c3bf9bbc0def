"""`rates import/export/lookup` through the real command, on every backend."""

import csv
import io
import json

import openpyxl
import pytest
from sqlalchemy import func, select

from asteriskbill.rating.csvrow import RATE_FIELDS
from asteriskbill.services import rates as service
from asteriskbill.store.models import RateRow
from tests.helpers.sheets import as_xlsx, xlsx_cells

# Columns in an unusual order, every field form; exported back in RATE_FIELDS order.
PRICE_LIST = """\
destination,prefix,price,increments,intervals,connect_fee,grace,weekdays,time_from,time_to,date_from,date_to,buy_price,buy_currency,weight
UK,44,0.10,60/6,,0.05,3,,,,,,0.02,EUR,
London peak,4420,,,0:0.20:60;60:0.10:1,,,mon-fri,08:00,18:00,,,0.01,,
London night,4420,0.03,1/1,,,,"mon,tue,wed,thu,fri",22:00,06:00,,,,,
"London, weekend",4420,0.02,30/6,,,,"sat,sun",,,,,,,2
Xmas,4420,0.01,,,,,,,,2026-12-24,2026-12-26,,,
Zero,0044,0.5,60,,,,,18:00,24:00,,,,,-1
"""


def write(tmp_path, text: str, name: str = "rates.csv"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def count_rates(engine) -> int:
    with engine.begin() as conn:
        return conn.execute(select(func.count()).select_from(RateRow)).scalar_one()


def exported(cli, tariff: str) -> list[dict]:
    return list(csv.DictReader(io.StringIO(cli("rates", "export", tariff).stdout)))


@pytest.fixture
def retail(cli):
    cli("tariff", "create", "retail", "--currency", "USD", "--timezone", "Europe/Sofia")
    return "retail"


def test_csv_round_trip(cli, retail, tmp_path):
    result = cli("rates", "import", retail, write(tmp_path, PRICE_LIST))
    assert result.stdout == "imported 6 rates into tariff retail\n"
    first = cli("rates", "export", retail).stdout
    rows = list(csv.DictReader(io.StringIO(first)))
    assert first.splitlines()[0] == ",".join(RATE_FIELDS)
    assert [r["prefix"] for r in rows] == ["0044", "44", "4420", "4420", "4420", "4420"]  # by prefix, then import order
    assert rows[0] == {
        "prefix": "0044",
        "destination": "Zero",
        "price": "0.50",
        "increments": "60/60",
        "intervals": "",
        "connect_fee": "0.00",
        "grace": "0",
        "weekdays": "",
        "time_from": "18:00",
        "time_to": "24:00",
        "date_from": "",
        "date_to": "",
        "buy_price": "",
        "buy_currency": "",
        "weight": "-1",
    }
    assert (rows[1]["buy_price"], rows[1]["buy_currency"]) == ("0.02", "EUR")  # bought in a vendor's currency
    assert (rows[2]["buy_price"], rows[2]["buy_currency"]) == ("0.01", "")  # bought in the tariff's
    assert rows[2]["intervals"] == "0:0.20:60;60:0.10:1" and rows[3]["weekdays"] == "mon-fri"
    assert rows[4]["destination"] == "London, weekend"

    cli("rates", "export", retail, "-o", tmp_path / "out.csv")
    assert (tmp_path / "out.csv").read_text(encoding="utf-8") == first
    cli("tariff", "create", "copy", "--currency", "USD")
    cli("rates", "import", "copy", tmp_path / "out.csv")
    assert cli("rates", "export", "copy").stdout == first


def test_xlsx_round_trip(cli, retail, tmp_path):
    cli("rates", "import", retail, write(tmp_path, PRICE_LIST))
    result = cli("rates", "export", retail, "-o", tmp_path / "out.xlsx")
    assert "exported 6 rates" in result.stderr
    # "0044" is text and keeps its zeros; prices, grace and weight are numbers
    assert xlsx_cells(tmp_path / "out.xlsx") == as_xlsx(cli("rates", "export", retail).stdout, service.EXPORT_TYPES)
    cli("tariff", "create", "copy", "--currency", "USD")
    assert "imported 6 rates" in cli("rates", "import", "copy", tmp_path / "out.xlsx").stdout
    assert exported(cli, "copy") == exported(cli, retail)


def test_xlsx_numbers_typed_in_a_spreadsheet_are_read_as_text(cli, retail, tmp_path):
    book = openpyxl.Workbook()
    book.active.append(["prefix", "price", "grace", "date_from", "time_from", "time_to"])
    book.active.append([44, 0.000001, 5.0, "2026-01-01", "08:00", "18:00"])
    book.save(tmp_path / "typed.xlsx")
    cli("rates", "import", retail, tmp_path / "typed.xlsx")
    (row,) = exported(cli, retail)
    assert (row["prefix"], row["price"], row["grace"], row["date_from"]) == ("44", "0.000001", "5", "2026-01-01")


def test_bad_line_deep_in_a_file_is_reported_and_nothing_is_written(cli, retail, engine, tmp_path):
    cli("rates", "import", retail, write(tmp_path, "prefix,price\n1,0.1\n2,0.2\n", "first.csv"))
    lines = ["prefix,destination,price"] + [f"{3000 + n},d{n},0.05" for n in range(500)]
    lines[376] = "3375,bad,0.1234567"
    result = cli("rates", "import", retail, write(tmp_path, "\n".join(lines) + "\n"), ok=False)
    assert "rates.csv: 1 error(s), nothing was imported" in result.stderr
    assert "line 377: price '0.1234567' has more than 6 decimals" in result.stderr
    assert count_rates(engine) == 2


def test_many_errors_are_counted_and_the_first_listed(cli, retail, engine, tmp_path):
    lines = ["prefix,price,weekdays"] + [f"{n},0.1,{'mon' if n % 2 else 'moon'}" for n in range(60)]
    result = cli("rates", "import", retail, write(tmp_path, "\n".join(lines)), ok=False)
    assert "30 error(s)" in result.stderr and "... and 10 more" in result.stderr
    assert "line 2: weekdays 'moon'" in result.stderr and "line 40: weekdays 'moon'" in result.stderr
    assert "line 42:" not in result.stderr
    assert count_rates(engine) == 0


@pytest.mark.parametrize(
    "text, message",
    [
        ("prefix,price,colour\n44,1,red\n", "unknown column 'colour' in the header"),
        ("price,destination\n1,UK\n", "the header has no 'prefix' column"),
        ("prefix,destination\n44,UK\n", "the header needs a 'price' column (or 'intervals')"),
        ("prefix,price,Prefix\n44,1,45\n", "column 'prefix' appears twice"),
        ("", "rates.csv is empty: expected a header row"),
        ("prefix,price\n44,1\n45,1,extra\n", "line 3: 3 fields, but the header has 2 columns"),
        ("prefix,price\n44,1\n" + "5" * 33 + ",1\n", "line 3: prefix is 33 characters long, at most 32 fit"),
    ],
)
def test_file_errors(cli, retail, engine, tmp_path, text, message):
    result = cli("rates", "import", retail, write(tmp_path, text), ok=False)
    assert message in result.stderr
    assert count_rates(engine) == 0


def test_not_utf8_and_not_xlsx(cli, retail, tmp_path):
    (tmp_path / "latin.csv").write_bytes("prefix,destination,price\n44,Zürich,1\n".encode("latin-1"))
    assert "line 2 is not UTF-8 text" in cli("rates", "import", retail, tmp_path / "latin.csv", ok=False).stderr
    assert "is not an XLSX workbook" in cli("rates", "import", retail, write(tmp_path, "x", "x.xlsx"), ok=False).stderr
    assert (
        "no tariff named 'nope'" in cli("rates", "import", "nope", write(tmp_path, "prefix,price\n"), ok=False).stderr
    )


def test_blank_lines_trailing_empty_fields_and_a_byte_order_mark_are_fine(cli, retail, tmp_path):
    (tmp_path / "excel.csv").write_bytes(b"\xef\xbb\xbfprefix,price\r\n44,0.1,,\r\n\r\n,\r\n45,0.2\r\n")
    assert "imported 2 rates" in cli("rates", "import", retail, tmp_path / "excel.csv").stdout


def test_duplicate_lines_name_both(cli, retail, engine, tmp_path):
    text = (
        "prefix,price,weekdays,time_from,time_to\n"
        "44,0.1,mon-fri,,\n"
        "44,0.2,mon-fri,08:00,18:00\n"  # same prefix, other validity: fine
        '44,0.3,"mon,tue,wed,thu,fri",,\n'  # the same validity written another way
        "45,0.1,,,\n"
    )
    result = cli("rates", "import", retail, write(tmp_path, text), ok=False)
    assert "line 4: prefix 44 (mon-fri, all day) is on line 2 already" in result.stderr
    assert count_rates(engine) == 0


def test_replace(cli, retail, engine, tmp_path):
    cli("rates", "import", retail, write(tmp_path, "prefix,price\n44,0.1\n45,0.1\n", "old.csv"))
    new = write(tmp_path, "prefix,price\n46,0.2\n44,0.3\n", "new.csv")
    result = cli("rates", "import", retail, new, ok=False)
    assert (
        "line 3: prefix 44 (every day, all day) is a rate of tariff 'retail' already "
        "(replace all its rates with --replace)"
    ) in result.stderr
    assert [r["price"] for r in exported(cli, retail)] == ["0.10", "0.10"]
    assert (
        cli("rates", "import", retail, new, "--replace").stdout == "imported 2 rates into tariff retail (replaced 2)\n"
    )
    assert [(r["prefix"], r["price"]) for r in exported(cli, retail)] == [("44", "0.30"), ("46", "0.20")]
    cli("rates", "import", retail, write(tmp_path, "prefix,price\n47,0.2\n", "more.csv"))  # adds without --replace
    assert count_rates(engine) == 3


def test_export_pages_keep_every_rate_of_a_prefix(cli, retail, engine, tmp_path):
    text = "prefix,price,weekdays\n" + "".join(f"{p},0.1,{d}\n" for p in ("1", "2", "3") for d in ("mon", "tue", "wed"))
    cli("rates", "import", retail, write(tmp_path, text))
    with engine.begin() as conn:
        tid = conn.execute(select(RateRow.tariff_id)).scalars().first()
    for size in (1, 2, 4, 9, 10):
        rates = list(service._pages(engine, tid, size))
        assert [(r.prefix, min(r.weekdays)) for r in rates] == [(p, d) for p in "123" for d in (0, 1, 2)]


def test_export_to_a_missing_folder(cli, retail, tmp_path):
    result = cli("rates", "export", retail, "-o", tmp_path / "no" / "such.csv", ok=False)
    assert "cannot write" in result.stderr and "No such file or directory" in result.stderr


def test_large_files_show_a_progress_bar_on_stderr(cli, retail, tmp_path, monkeypatch):
    monkeypatch.setattr("asteriskbill.cli.rates.PROGRESS_FROM", 10)
    result = cli("rates", "import", retail, write(tmp_path, "prefix,price\n44,0.1\n"))
    assert "importing rates.csv" in result.stderr and result.stdout == "imported 1 rate into tariff retail\n"


def test_import_reports_progress_in_bytes(cli, retail, engine, tmp_path):
    source = write(tmp_path, "prefix,price\n" + "".join(f"{n},0.1\n" for n in range(1000)))
    seen: list[int] = []
    service.import_rates(engine, retail, source, progress=seen.append)
    assert sum(seen) == source.stat().st_size


# -- lookup -------------------------------------------------------------------------------------

LOOKUP_RATES = """\
prefix,destination,price,weekdays,time_from,time_to,weight
44,UK,0.10,,,,
44,UK weekend,0.05,"sat,sun",,,
4420,London peak,0.20,mon-fri,08:00,18:00,
4420,London evening,0.15,mon-fri,17:00,20:00,
4420,London promo,0.01,mon-fri,12:00,13:00,-1
44207,Central,0.30,sat,,,
"""


@pytest.fixture
def london(cli, retail, tmp_path):
    cli("rates", "import", retail, write(tmp_path, LOOKUP_RATES))
    cli("tariff", "holiday", "add", retail, "2026-12-25")  # a Friday, priced as Sunday
    return retail


def lookup(cli, at: str, number: str = "442071234567", ok: bool = True) -> dict:
    return json.loads(cli("rates", "lookup", "retail", number, "--at", at, "--json", ok=ok).stdout)


def test_lookup_longest_prefix_valid_then_narrower_window(cli, london):
    data = lookup(cli, "2026-12-01T17:30")  # a Tuesday, in Europe/Sofia
    assert data["at"] == "2026-12-01T17:30:00+02:00" and data["weekday"] == "tue"
    assert data["chosen"]["destination"] == "London evening"  # 3 h wins over the 10 h window
    assert [(c["prefix"], c["destination"], c["valid"], c["why_not"], c["chosen"]) for c in data["candidates"]] == [
        ("44207", "Central", False, "not on tue", False),
        ("4420", "London evening", True, None, True),
        ("4420", "London peak", True, None, False),
        ("4420", "London promo", False, "not at 17:30", False),
        ("44", "UK", True, None, False),
        ("44", "UK weekend", False, "not on tue", False),
    ]
    assert data["reason"] == (
        "the longest prefix of the number with a rate valid at that moment; "
        "longer prefix 44207 has rates, none of them valid then; it covers fewer hours of the week "
        "than the 1 other valid rate of that prefix (mon-fri, 17:00-20:00 over mon-fri, 08:00-18:00)"
    )


def test_lookup_weight_beats_a_narrower_window(cli, london, tmp_path):
    data = lookup(cli, "2026-12-01T12:30")  # the promo's hour is the narrowest window, but weighs -1
    assert data["chosen"]["destination"] == "London peak"
    assert "it outweighs 1 other valid rate of that prefix (weight 0 over -1)" in data["reason"]
    cli("rates", "import", "retail", write(tmp_path, "prefix,destination,price,weight\n4420,Flat,0.09,1\n", "w.csv"))
    data = lookup(cli, "2026-12-01T12:30")
    assert data["chosen"]["destination"] == "Flat"
    assert "it outweighs 2 other valid rates of that prefix (weight 1 over 0)" in data["reason"]


def test_lookup_on_a_holiday_uses_sunday_rates(cli, london):
    data = lookup(cli, "2026-12-25T10:00")
    assert (data["weekday"], data["holiday_as"], data["chosen"]["destination"]) == ("sun", "sun", "UK weekend")
    assert "longer prefixes 4420, 44207 have rates, none of them valid then" in data["reason"]
    shown = cli("rates", "lookup", "retail", "442071234567", "--at", "2026-12-25T10:00").stdout
    assert "(fri, a holiday priced as sun)" in shown
    assert "applies: prefix 44 UK weekend:" in shown


def test_lookup_equal_windows_tie_on_import_order(cli, retail, tmp_path):
    cli(
        "rates",
        "import",
        retail,
        write(
            tmp_path,
            "prefix,destination,price,time_from,time_to\n44,first,0.1,08:00,12:00\n44,second,0.1,10:00,14:00\n",
        ),
    )
    data = lookup(cli, "2026-12-01T11:00", number="4412")
    assert data["chosen"]["destination"] == "first"
    assert (
        "ties with 1 other valid rate of that prefix (every day, 10:00-14:00) and was imported first" in data["reason"]
    )


def test_lookup_offset_and_text_output(cli, london):
    # 06:30 UTC is 08:30 in Sofia: the peak window
    assert lookup(cli, "2026-12-01T06:30+00:00")["chosen"]["destination"] == "London peak"
    shown = cli("rates", "lookup", "retail", "442071234567", "--at", "2026-12-01T08:30").stdout.splitlines()
    assert shown[0] == "442071234567 in tariff retail at 2026-12-01T08:30:00+02:00 (tue)"
    assert shown[1].split() == ["prefix", "destination", "price", "weight", "validity", "now"]
    assert shown[3].split()[:3] == ["*", "4420", "London"] and shown[3].endswith("valid")


def test_lookup_when_no_rate_applies(cli, retail, tmp_path):
    cli("rates", "import", retail, write(tmp_path, "prefix,price,weekdays\n44,0.1,sat\n"))
    data = lookup(cli, "2026-12-01T12:00", number="4412", ok=False)
    assert data["chosen"] is None
    assert data["reason"] == "no rate of a prefix of the number is valid at that moment (1 looked at)"
    assert "no rate applies" in cli("rates", "lookup", "retail", "4412", "--at", "2026-12-01T12:00", ok=False).stdout
    assert "no rate in tariff 'retail' for 99" in cli("rates", "lookup", "retail", "99", ok=False).stderr
    assert "must be digits" in cli("rates", "lookup", "retail", "+44", ok=False).stderr


def test_every_rates_command_has_an_example(cli):
    for name in ("import", "export", "lookup"):
        assert "Example:\n\n      asteriskbill rates " + name in cli("rates", name, "--help").stdout
