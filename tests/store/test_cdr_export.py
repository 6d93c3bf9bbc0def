"""The CDR export's own path (services/cdr_sheet.py: raw rows, text formatted without datetimes) writes the same
bytes as the general path (each CDR read as a CdrView, its cells by ``cdr_row``), on every backend: CSV and XLSX,
over calls across a daylight-saving change in the tariff's zone, timestamps with and without microseconds, empty
moments, no company, buy costs in a vendor's currency with and without a rate for their day, negative and very long
margins, and text a spreadsheet would run."""

from __future__ import annotations

import csv
import io
import zipfile
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import insert, select, text

from asteriskbill.services import cdr_sheet, cdrs, currency, sheets
from asteriskbill.store.models import Account, Cdr

DST = datetime(2026, 3, 29, 1, 0, tzinfo=UTC)  # Europe/Berlin: 02:00 CET becomes 03:00 CEST
US = timedelta(microseconds=1)
HOUR = timedelta(hours=1)


def values(session: str, account_id: int, started: datetime, **given) -> dict:
    return {
        "session": session,
        "account_id": account_id,
        "server": "pbx1",
        "uniqueid": f"{session}.1",
        "linkedid": f"{session}.1",
        "callerid": "100",
        "dialled": "004930123",
        "number": "4930123",
        "destination": "Germany",
        "prefix": "4930",
        "call_class": "international",
        "started_at": started,
        "answered_at": started + timedelta(seconds=5, microseconds=250_000),
        "ended_at": started + timedelta(seconds=65, microseconds=999_999),
        "billable_ms": 60_000,
        "billed_seconds": 60,
        "outcome": "ANSWER",
        "hangup_cause": "16",
        "cost": 1_500_000,
        "buy_cost": 700_000,
        "buy_currency": None,
        "currency": "EUR",
        **given,
    }


@pytest.fixture
def exported(cli, engine):
    """Company acme (tariff in Europe/Berlin) with extension acme-1, extension solo with no company, and their CDRs."""
    cli("tariff", "create", "berlin", "--currency", "EUR", "--timezone", "Europe/Berlin")
    cli("accounts", "create", "company", "acme", "--tariff", "berlin")
    cli("accounts", "create", "extension", "acme-1", "--parent", "acme", "--extension", "101")
    cli("accounts", "create", "extension", "solo", "--tariff", "berlin", "--extension", "200")
    # 00:30 in Berlin on the 29th, the 28th in UTC: converted only with the rate of the tariff zone's day
    currency.set_rate(engine, "test", "USD", "EUR", 900_000, date(2026, 3, 29))
    with engine.begin() as conn:
        ids = dict(conn.execute(select(Account.name, Account.id)).all())
        acme, solo = ids["acme-1"], ids["solo"]
        calls = [
            values("before-dst", acme, DST - US),
            values("at-dst", acme, DST),
            values("after-dst", solo, DST + HOUR + 59 * US, buy_cost=None),
            values("unanswered", solo, DST + 2 * HOUR, answered_at=None, ended_at=None, billed_seconds=0, cost=0),
            values("rate-known", acme, datetime(2026, 3, 28, 23, 30, tzinfo=UTC), buy_currency="USD"),
            values("no-rate", acme, datetime(2026, 3, 28, 22, 30, tzinfo=UTC), buy_currency="USD"),
            values("loss", solo, DST + 3 * HOUR, cost=100, buy_cost=2_000_000),
            values("huge-loss", solo, DST + 4 * HOUR, cost=1, buy_cost=10**16 + 2),
            values("hostile", solo, DST + 5 * HOUR, callerid="=1+2", destination="'@x", hangup_cause="a\rb"),
            values("negative", solo, DST + 6 * HOUR, billable_ms=-5, cost=0, buy_cost=0),
        ]
        conn.execute(insert(Cdr), calls)
        if engine.dialect.name == "sqlite":  # as another writer may have stored them: to the second, or odd
            conn.execute(text("UPDATE cdrs SET started_at = substr(started_at, 1, 19) WHERE session = 'at-dst'"))
            conn.execute(text("UPDATE cdrs SET ended_at = '2026-03-29 08:00:00+00:00' WHERE session = 'negative'"))
    return engine


def general(engine, f: cdrs.Filters) -> list[list]:
    return [cdr_sheet.cdr_row(c) for c in cdrs.list_cdrs(engine, f)]


def written(engine, f: cdrs.Filters, path) -> bytes:
    """The file the export writes (XLSX: its worksheet and styles, as a workbook also holds when it was made)."""
    with cdr_sheet.export_rows(engine, f, xlsx=path.suffix == ".xlsx") as (total, rows):
        assert sheets.write_file(path, cdr_sheet.COLUMNS, rows, cdr_sheet.TYPES, sheet="cdrs") == total
    return content(path)


def content(path) -> bytes:
    if path.suffix == ".csv":
        return path.read_bytes()
    with zipfile.ZipFile(path) as book:
        return book.read("xl/worksheets/sheet1.xml") + book.read("xl/styles.xml")


@pytest.mark.parametrize("suffix", [".csv", ".xlsx"])
@pytest.mark.parametrize("f", [cdrs.Filters(), cdrs.Filters(oldest_first=True, limit=4), cdrs.Filters(account="acme")])
def test_the_export_writes_what_the_general_path_writes(exported, tmp_path, suffix, f):
    reference = tmp_path / f"general{suffix}"
    sheets.write_file(reference, cdr_sheet.COLUMNS, general(exported, f), cdr_sheet.TYPES, sheet="cdrs")
    assert written(exported, f, tmp_path / f"export{suffix}") == content(reference)


def test_the_cells_written(exported, tmp_path):
    """What both paths write, cell by cell where it matters (both could go wrong the same way)."""
    written(exported, cdrs.Filters(), tmp_path / "cdrs.csv")
    lines = io.StringIO((tmp_path / "cdrs.csv").read_bytes().decode(), newline="")
    rows = {row["session"]: row for row in csv.DictReader(lines)}
    assert [rows["before-dst"][k] for k in ("started_at", "answered_at", "ended_at", "company")] == [
        "2026-03-29T00:59:59+00:00",
        "2026-03-29T01:00:05+00:00",
        "2026-03-29T01:01:05+00:00",
        "acme",
    ]
    assert rows["at-dst"]["started_at"] == "2026-03-29T01:00:00+00:00"
    assert rows["after-dst"]["company"] == rows["after-dst"]["buy_cost"] == rows["after-dst"]["margin"] == ""
    assert rows["unanswered"]["answered_at"] == rows["unanswered"]["ended_at"] == ""
    assert [rows["rate-known"][k] for k in ("buy_cost", "margin", "buy_note")] == ["0.63", "0.87", ""]
    assert [rows["no-rate"][k] for k in ("buy_cost", "margin")] == ["", ""]
    assert (
        rows["no-rate"]["buy_note"] == "0.70 USD: no USD EUR rate for the call's day (asteriskbill currency set-rate)"
    )
    assert [rows["loss"][k] for k in ("cost", "buy_cost", "margin")] == ["0.0001", "2.00", "-1.9999"]
    assert rows["huge-loss"]["margin"] == "'-10000000000.000001"  # more digits than a spreadsheet's number keeps
    assert [rows["hostile"][k] for k in ("callerid", "destination", "hangup_cause")] == ["'=1+2", "''@x", "a\rb"]
    assert rows["negative"]["billable_ms"] == "-5"
    if exported.dialect.name == "sqlite":
        assert rows["negative"]["ended_at"] == "2026-03-29T08:00:00+00:00"
