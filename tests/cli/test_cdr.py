"""`cdr ...` and `calls active` through the real command, on every backend, over CDRs seeded as rows.

The seed: company acme (USD) with extensions acme-1 and acme-2 and gateway acme-gw, a card, and an
extension solo in EUR outside any company; CDRs of every call class and outcome from T0 (30 days
ago, midnight UTC) on, and two old ones (200 and 400 days ago) for the purge.
"""

import csv
import json
import sqlite3
import threading
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import insert, select

from asteriskbill.money import parse_amount as m
from asteriskbill.services import cdr_sheet, cdrs, ledger, upkeep
from asteriskbill.settings import Settings
from asteriskbill.store.engine import make_engine
from asteriskbill.store.models import Account, AuditEntry, Cdr, Reservation, Server
from asteriskbill.store.types import utcnow
from tests.helpers.sheets import as_xlsx, xlsx_cells
from tests.helpers.waiting import wait_for

NOW = utcnow()
T0 = datetime.combine(NOW.date() - timedelta(days=30), datetime.min.time(), UTC)
H, D = timedelta(hours=1), timedelta(days=1)


@dataclass
class Seed:
    card: str
    ids: dict[str, int]


# session: account, call class, outcome, started, billed seconds, cost, buy cost, number, destination, server
CDRS = {
    "s01": ("acme-1", "local", "ANSWER", T0, 60, "0.10", "0.04", "15551230001", "US local", "pbx1"),
    "s02": ("acme-1", "national", "ANSWER", T0 + H, 125, "0.50", None, "12125550002", "US New York", "pbx1"),
    "s03": ("acme-2", "international", "ANSWER", T0 + 2 * H, 30, "1.20", "0.70", "442071230003", "UK London", "pbx2"),
    "s04": ("acme-2", "international", "BUSY", T0 + 3 * H, 0, "0", None, "442071230004", "UK London", "pbx2"),
    "s05": ("acme-gw", "national", "NOANSWER", T0 + D, 0, "0", None, "13105550005", "US Los Angeles", "pbx2"),
    "s06": ("acme-gw", "international", "ANSWER", T0 + D + H, 61, "2.00", "1.50", "4930123006", "Germany", "pbx1"),
    "s07": ("acme", "local", "CONGESTION", T0 + 2 * D, 0, "0", None, "15551230007", "US local", "pbx1"),
    "s08": (
        "card",
        "international",
        "ANSWER",
        T0 + 2 * D + H,
        90,
        "0.90",
        "0.60",
        "359888123008",
        "Bulgaria mobile",
        "pbx1",
    ),
    "s09": ("card", "local", "CANCEL", T0 + 3 * D, 0, "0", None, "15551230009", "US local", "pbx1"),
    "s10": ("card", "national", "CHANUNAVAIL", T0 + 3 * D + H, 0, "0", None, "12125550010", "US New York", "pbx1"),
    "s11": ("acme-1", "international", "NOTDIALED", T0 + 4 * D, 0, "0", None, "442071230011", "UK London", "pbx1"),
    "s12": ("solo", "international", "ANSWER", T0 + 4 * D + H, 45, "0.30", "0.20", "33123450012", "France", "pbx1"),
    "old1": ("acme-1", "local", "ANSWER", NOW - 200 * D, 10, "0.02", None, "15551230013", "US local", "pbx1"),
    "old2": ("card", "national", "ANSWER", NOW - 400 * D, 20, "0.05", None, "12125550014", "US New York", "pbx1"),
}
NEWEST_FIRST = [f"s{i:02d}" for i in range(12, 0, -1)] + ["old1", "old2"]


def cdr_values(
    session: str,
    account_id: int,
    call_class: str,
    outcome: str,
    started: datetime,
    seconds: int,
    cost: str,
    buy: str | None,
    number: str,
    destination: str,
    server: str,
) -> dict:
    answered = started + timedelta(seconds=5) if outcome == "ANSWER" else None
    return {
        "session": session,
        "account_id": account_id,
        "server": server,
        "uniqueid": f"{session}.1",
        "linkedid": f"{session}.1",
        "callerid": "100",
        "dialled": f"00{number}",
        "number": number,
        "destination": destination,
        "prefix": number[:4],
        "call_class": call_class,
        "started_at": started,
        "answered_at": answered,
        "ended_at": started + timedelta(seconds=seconds + 10),
        "billable_ms": seconds * 1000 - 400 if seconds else 0,
        "billed_seconds": seconds,
        "outcome": outcome,
        "hangup_cause": "16" if outcome == "ANSWER" else "17",
        "cost": m(cost),
        "buy_cost": None if buy is None else m(buy),
        "currency": "EUR" if session == "s12" else "USD",
    }


def add_cdr(conn, *values) -> None:
    conn.execute(insert(Cdr).values(cdr_values(*values)))


@pytest.fixture
def seed(cli, engine, tmp_path) -> Seed:
    cli("tariff", "create", "retail", "--currency", "USD")
    cli("tariff", "create", "euro", "--currency", "EUR")
    cli("accounts", "create", "company", "acme", "--tariff", "retail")
    cli("accounts", "create", "extension", "acme-1", "--parent", "acme", "--extension", "101")
    cli("accounts", "create", "extension", "acme-2", "--parent", "acme", "--extension", "102")
    cli("accounts", "create", "gateway", "acme-gw", "--parent", "acme")
    cli("accounts", "create", "extension", "solo", "--tariff", "euro", "--extension", "200")
    cli("cards", "generate", "--count", "1", "--value", "10", "--tariff", "retail", "-o", tmp_path / "card.csv")
    card = next(csv.DictReader((tmp_path / "card.csv").open()))["number"]
    with engine.begin() as conn:
        ids = dict(conn.execute(select(Account.name, Account.id)).all())
        ids["card"] = ids[card]
        for session, (account, call_class, outcome, *rest) in CDRS.items():
            add_cdr(conn, session, ids[account], call_class, outcome, *rest)
    return Seed(card, ids)


def listed(cli, *args) -> list[dict]:
    return json.loads(cli("cdr", "list", "--json", "--limit", "0", *args).stdout)


def sessions(cli, *args) -> list[str]:
    return [c["session"] for c in listed(cli, *args)]


def day(moment: datetime) -> str:
    return moment.date().isoformat()


# --- list ---------------------------------------------------------------------------------------------


def test_list_is_newest_first_with_every_column(seed, cli):
    assert sessions(cli) == NEWEST_FIRST
    assert sessions(cli, "--oldest-first") == NEWEST_FIRST[::-1]
    assert [c["session"] for c in json.loads(cli("cdr", "list", "--json", "--limit", "2").stdout)] == ["s12", "s11"]
    s06 = next(c for c in listed(cli) if c["session"] == "s06")
    assert s06 == {
        "session": "s06",
        "server": "pbx1",
        "uniqueid": "s06.1",
        "linkedid": "s06.1",
        "account": "acme-gw",
        "account_kind": "gateway",
        "company": "acme",
        "callerid": "100",
        "dialled": "004930123006",
        "number": "4930123006",
        "destination": "Germany",
        "call_class": "international",
        "started_at": (T0 + D + H).isoformat(),
        "answered_at": (T0 + D + H + timedelta(seconds=5)).isoformat(),
        "ended_at": (T0 + D + H + timedelta(seconds=71)).isoformat(),
        "billable_ms": 60600,
        "billed_seconds": 61,
        "outcome": "ANSWER",
        "hangup_cause": "16",
        "prefix": "4930",
        "cost": "2.00",
        "buy_cost": "1.50",
        "margin": "0.50",
        "buy_note": None,
        "currency": "USD",
        "source": "events",
        "trunk": None,  # routed by the routes table
        "vendor": None,
        "paid_by": "acme-gw",  # its own balance
        "direction": "out",  # a call it made
        "bundle_seconds": 0,  # all of it paid from the balance
        "bundle_amount": "0.00",
    }
    s04 = next(c for c in listed(cli) if c["session"] == "s04")
    assert (s04["answered_at"], s04["buy_cost"], s04["margin"], s04["cost"]) == ("", None, None, "0.00")
    text = cli("cdr", "list").stdout.splitlines()
    assert text[0].split() == [
        "started_at",
        "account",
        "callerid",
        "number",
        "destination",
        "call_class",
        "outcome",
        "billed_seconds",
        "cost",
        "margin",
    ]
    assert "France" in text[1] and text[1].endswith("0.30 EUR  0.10 EUR") and len(text) == 1 + len(CDRS)


def test_list_filters(seed, cli):
    assert sessions(cli, "--account", "acme") == ["s11", "s07", "s06", "s05", "s04", "s03", "s02", "s01", "old1"]
    assert sessions(cli, "--account", "acme-1") == ["s11", "s02", "s01", "old1"]
    assert sessions(cli, "--card", seed.card) == ["s10", "s09", "s08", "old2"]
    assert sessions(cli, "--number", "44") == sessions(cli, "--number", "+4420712") == ["s11", "s04", "s03"]
    assert sessions(cli, "--outcome", "answer") == ["s12", "s08", "s06", "s03", "s02", "s01", "old1", "old2"]
    assert sessions(cli, "--outcome", "NOTDIALED") == ["s11"]
    assert sessions(cli, "--since", day(T0), "--until", day(T0)) == ["s04", "s03", "s02", "s01"]  # all of T0's day
    assert sessions(cli, "--since", day(T0 + D), "--until", (T0 + 3 * D).isoformat()) == ["s08", "s07", "s06", "s05"]
    assert sessions(cli, "--account", "acme", "--outcome", "ANSWER", "--since", day(T0 + H)) == [
        "s06",
        "s03",
        "s02",
        "s01",
    ]
    assert sessions(cli, "--account", "solo", "--card", seed.card) == []


def test_a_moment_without_offset_is_in_the_timezone_setting(seed, cli, monkeypatch):
    since = f"{day(T0)}T09:30"
    assert sessions(cli, "--since", since, "--until", day(T0)) == []  # 09:30 UTC: after T0's calls
    monkeypatch.setenv("ASTERISKBILL_TIMEZONE", "Asia/Tokyo")  # UTC+9, no summer time
    assert sessions(cli, "--since", since, "--until", day(T0)) == ["s04", "s03", "s02"]  # from 00:30 UTC
    assert sessions(cli, "--since", since + "+00:00", "--until", day(T0)) == []
    # T0's day in Tokyo ends at 15:00 UTC on T0
    assert sessions(cli, "--since", day(T0), "--until", day(T0)) == ["s04", "s03", "s02", "s01"]


@pytest.mark.parametrize(
    "args, message",
    [
        (("--account", "nobody"), "no account named 'nobody'"),
        (("--card", "4000000000000002"), "no card numbered 4000000000000002"),
        (("--card", "4000000000000003"), "check digit"),
        (("--number", "44x"), "--number '44x': give the start of a normalised number"),
        (("--since", "2026-12-02", "--until", "2026-12-01"), "the period is empty"),
    ],
)
def test_list_refuses_bad_filters_in_one_line(seed, cli, args, message):
    result = cli("cdr", "list", *args, ok=False)
    assert result.exit_code == 1 and message in result.stderr and len(result.stderr.splitlines()) == 1


@pytest.mark.parametrize(
    "args, message",
    [
        (("list", "--since", "yesterday"), "'yesterday' is not a date like 2026-12-25"),
        (("list", "--outcome", "HUNG"), "'HUNG' is not one of"),
        (("export", "-o", "cdrs.txt"), "use a file ending in .csv or .xlsx"),
        (("purge", "--older-than", "6 fortnights"), "'6 fortnights' is not an age like 6months"),
        (("purge", "--older-than", "0days"), "an age must be at least 1 day"),
        (("stats", "--by", "planet"), "'planet' is not one of"),
    ],
)
def test_bad_parameters_are_usage_errors(seed, cli, args, message):
    result = cli("cdr", *args, ok=False)
    assert result.exit_code == 2 and message in result.stderr


# --- export -------------------------------------------------------------------------------------------


def as_text(rows: list[dict]) -> list[dict]:
    """JSON values as a sheet holds them: text, "" for none."""
    return [{k: "" if v is None else str(v) for k, v in row.items()} for row in rows]


@pytest.mark.parametrize("args", [(), ("--account", "acme", "--since", day(T0)), ("--oldest-first", "--limit", "3")])
def test_export_csv_and_xlsx_equal_list(seed, cli, tmp_path, args):
    expected = as_text(
        json.loads(cli("cdr", "list", "--json", *(args if "--limit" in args else (*args, "--limit", "0"))).stdout)
    )
    result = cli("cdr", "export", *args, "-o", tmp_path / "cdrs.csv")
    assert f"{len(expected)} CDRs written to" in result.stdout and "exporting CDRs" in result.stderr
    assert list(csv.DictReader((tmp_path / "cdrs.csv").open(newline=""))) == expected
    cli("cdr", "export", *args, "-o", tmp_path / "cdrs.xlsx")
    assert xlsx_cells(tmp_path / "cdrs.xlsx") == as_xlsx((tmp_path / "cdrs.csv").read_text(), cdr_sheet.TYPES)
    piped = cli("cdr", "export", *args).stdout
    assert list(csv.DictReader(piped.splitlines())) == expected


def test_export_refuses_more_cdrs_than_an_xlsx_sheet_holds(seed, cli, tmp_path, monkeypatch):
    monkeypatch.setattr(cdr_sheet, "XLSX_MAX_ROWS", 3)
    result = cli("cdr", "export", "-o", tmp_path / "big.xlsx", ok=False)
    assert "14 CDRs do not fit in one XLSX sheet (3 rows at most): use a .csv file" in result.stderr
    assert not (tmp_path / "big.xlsx").exists()
    assert "3 CDRs written" in cli("cdr", "export", "--limit", "3", "-o", tmp_path / "newest.xlsx").stdout
    assert "14 CDRs written" in cli("cdr", "export", "-o", tmp_path / "all.csv").stdout


# --- stats --------------------------------------------------------------------------------------------


def totals(calls, answered, seconds, cost, buy, margin) -> dict:
    hundredths = (seconds * 100 + 30) // 60
    return {
        "calls": calls,
        "answered": answered,
        "billed_seconds": seconds,
        "minutes": f"{hundredths // 100}.{hundredths % 100:02d}",
        "cost": cost,
        "buy_cost": buy,
        "margin": margin,
        "no_rate_calls": 0,
    }


NONE = totals(0, 0, 0, "0.00", None, None)


def stats(cli, *args) -> list[dict]:
    return json.loads(cli("cdr", "stats", "--json", "--since", day(T0), *args).stdout)


def test_stats_by_company_rolls_up_extensions_and_gateways(seed, cli):
    # acme: s01 s07 local; s02 s05 national; s03 s04 s06 s11 international (by hand from CDRS)
    assert stats(cli, "--by", "company") == [
        {
            "key": "acme",
            "kind": None,
            "currency": "USD",
            "classes": {
                "local": totals(2, 1, 60, "0.10", "0.04", "0.06"),
                "national": totals(2, 1, 125, "0.50", None, None),
                "international": totals(4, 2, 91, "3.20", "2.20", "1.00"),
            },
            "total": totals(8, 4, 276, "3.80", "2.24", "1.06"),
        },  # margin: 0.10 + 1.20 + 2.00 - 2.24
        {
            "key": None,
            "kind": None,
            "currency": "EUR",
            "classes": {"local": NONE, "national": NONE, "international": totals(1, 1, 45, "0.30", "0.20", "0.10")},
            "total": totals(1, 1, 45, "0.30", "0.20", "0.10"),
        },
        {
            "key": None,
            "kind": None,
            "currency": "USD",
            "classes": {
                "local": totals(1, 0, 0, "0.00", None, None),
                "national": totals(1, 0, 0, "0.00", None, None),
                "international": totals(1, 1, 90, "0.90", "0.60", "0.30"),
            },
            "total": totals(3, 1, 90, "0.90", "0.60", "0.30"),
        },
    ]
    assert stats(cli, "--by", "company", "--account", "acme") == stats(cli, "--by", "company")[:1]
    # without --since the old CDRs count too
    old = json.loads(cli("cdr", "stats", "--json", "--by", "company").stdout)
    assert [(r["key"], r["total"]["calls"], r["total"]["cost"]) for r in old] == [
        ("acme", 9, "3.82"),
        (None, 1, "0.30"),
        (None, 4, "0.95"),
    ]


def test_stats_by_account_gateway_destination_server(seed, cli, engine):
    by_account = {(r["key"], r["kind"]): r["total"] for r in stats(cli)}
    assert by_account == {
        ("acme", "company"): totals(1, 0, 0, "0.00", None, None),
        ("acme-1", "extension"): totals(3, 2, 185, "0.60", "0.04", "0.06"),
        ("acme-2", "extension"): totals(2, 1, 30, "1.20", "0.70", "0.50"),
        ("acme-gw", "gateway"): totals(2, 1, 61, "2.00", "1.50", "0.50"),
        (seed.card, "card"): totals(3, 1, 90, "0.90", "0.60", "0.30"),
        ("solo", "extension"): totals(1, 1, 45, "0.30", "0.20", "0.10"),
    }
    assert [(r["key"], r["total"]["calls"]) for r in stats(cli, "--by", "gateway")] == [("acme-gw", 2)]
    destinations = {
        (r["key"], r["currency"]): (r["total"]["calls"], r["total"]["cost"]) for r in stats(cli, "--by", "destination")
    }
    assert destinations[("UK London", "USD")] == (3, "1.20") and destinations[("US local", "USD")] == (3, "0.10")
    assert len(destinations) == 7
    servers = {r["key"]: r["total"]["calls"] for r in stats(cli, "--by", "server") if r["currency"] == "USD"}
    assert servers == {"pbx1": 8, "pbx2": 3}
    # once serve has learnt which server has that entity id, the statistics say its name
    cli("servers", "add", "sofia", "--ari-url", "http://127.0.0.1:8088", "--ari-user", "u", "--ari-password", "p")
    with engine.begin() as conn:
        conn.execute(Server.__table__.update().values(asterisk_id="pbx1"))
    servers = {r["key"]: r["total"]["calls"] for r in stats(cli, "--by", "server") if r["currency"] == "USD"}
    assert servers == {"sofia": 8, "pbx2": 3}


def test_stats_text_and_empty(seed, cli):
    lines = cli("cdr", "stats", "--by", "company", "--since", day(T0)).stdout.splitlines()
    assert lines[0].split() == [
        "key",
        "currency",
        "local_min",
        "national_min",
        "international_min",
        "calls",
        "answered",
        "minutes",
        "cost",
        "buy_cost",
        "margin",
    ]
    assert lines[1].split() == ["acme", "USD", "1.00", "2.08", "1.52", "8", "4", "4.60", "3.80", "2.24", "1.06"]
    assert lines[3].startswith("(no company)")
    assert cli("cdr", "stats", "--since", day(NOW + D)).stdout == "(none)\n"


# --- cost report --------------------------------------------------------------------------------------


def test_cost_report_of_a_card(seed, cli):
    report = json.loads(cli("cdr", "cost-report", seed.card, "--json").stdout)
    assert [c["session"] for c in report["cdrs"]] == ["old2", "s08", "s09", "s10"]
    assert report["total"] == totals(4, 2, 110, "0.95", "0.60", "0.30")
    assert (report["card"], report["currency"], report["balance"]) == (seed.card, "USD", "10.00")
    recent = json.loads(cli("cdr", "cost-report", seed.card, "--json", "--since", day(T0)).stdout)
    assert recent["total"]["calls"] == 3 and recent["total"]["cost"] == "0.90"
    text = cli("cdr", "cost-report", seed.card).stdout
    assert f"card {seed.card}: 4 calls, 2 answered, 1.83 minutes, 0.95 USD; balance 10.00 USD" in text
    assert "Bulgaria mobile" in text
    result = cli("cdr", "cost-report", "4000000000000002", ok=False)
    assert "no card numbered 4000000000000002" in result.stderr


# --- calls active ---------------------------------------------------------------------------------------


def add_reservation(
    conn,
    session: str,
    account_id: int,
    status: str,
    created: datetime,
    closed: datetime | None = None,
    held_seconds: int = 600,
) -> None:
    conn.execute(
        insert(Reservation).values(
            session=session,
            account_id=account_id,
            status=status,
            amount=m("1.50"),
            held_seconds=held_seconds,
            max_seconds=600,
            deadline_at=created + timedelta(seconds=held_seconds),
            dialled="00442071234567",
            number="442071234567",
            call_class="international",
            destination="UK London",
            prefix="4420",
            dial="PJSIP/442071234567@trunk",
            priced_at=created,
            pricing="{}",
            channel=f"PJSIP/{session}",
            callerid="101",
            created_at=created,
            closed_at=closed,
        )
    )


def test_calls_active_are_the_open_reservations(seed, cli, engine):
    assert json.loads(cli("calls", "active", "--json").stdout) == []
    assert cli("calls", "active").stdout == "(none)\n"
    started = NOW - timedelta(seconds=90)
    with engine.begin() as conn:
        add_reservation(conn, "r-card", seed.ids["card"], "open", started, held_seconds=300)  # a slice
        add_reservation(conn, "r-ext", seed.ids["acme-1"], "open", started - H)
        add_reservation(conn, "r-done", seed.ids["acme-2"], "settled", started, closed=NOW)
        add_reservation(conn, "r-gone", seed.ids["acme-2"], "released", started, closed=NOW)
    active = json.loads(cli("calls", "active", "--json").stdout)
    assert [(a["session"], a["account"], a["account_kind"], a["company"]) for a in active] == [
        ("r-ext", "acme-1", "extension", "acme"),
        ("r-card", seed.card, "card", None),
    ]
    card = active[1]
    assert {
        k: card[k]
        for k in (
            "number",
            "destination",
            "call_class",
            "started_at",
            "max_seconds",
            "ends_by",
            "reserved",
            "currency",
            "channel",
            "callerid",
            "dialled",
            "held_seconds",
            "deadline",
        )
    } == {
        "number": "442071234567",
        "destination": "UK London",
        "call_class": "international",
        "started_at": started.isoformat(timespec="seconds"),
        "max_seconds": 600,
        "ends_by": (started + timedelta(seconds=600)).isoformat(timespec="seconds"),
        "reserved": "1.50",
        "currency": "USD",
        "channel": "PJSIP/r-card",
        "callerid": "101",
        "dialled": "00442071234567",
        "held_seconds": 300,
        "deadline": (started + timedelta(seconds=300)).isoformat(timespec="seconds"),
    }
    assert active[0]["held_seconds"] == 600 and active[0]["deadline"] == ""  # its whole maximum: no deadline
    assert card["elapsed_seconds"] >= 90
    text = cli("calls", "active").stdout
    assert "acme-1" in text and "1.50 USD" in text and "r-done" not in text


# --- backup --------------------------------------------------------------------------------------------


def test_backup_refuses_postgresql_and_bad_destinations(seed, cli, db_url, tmp_path):
    if not db_url.startswith("sqlite"):
        result = cli("cdr", "backup", tmp_path / "copy.db", ok=False)
        assert "use pg_dump" in result.stderr and not (tmp_path / "copy.db").exists()
        return
    assert "folder" in cli("cdr", "backup", tmp_path / "missing" / "copy.db", ok=False).stderr
    database = db_url.removeprefix("sqlite:///")
    assert "is the database itself" in cli("cdr", "backup", database, ok=False).stderr


def test_backup_while_the_engine_writes_is_consistent(sqlite_url, tmp_path):
    """A writer adds a CDR and counts it in an account's balance (a ledger entry), in one transaction, all through the
    backup: the copy must be whole, hold every committed pair and no half of one."""
    engine = make_engine(Settings(db=sqlite_url))
    with engine.begin() as conn:
        conn.execute(insert(Account).values(id=1, kind="extension", name="w", currency="USD", balance=0))
        conn.execute(
            insert(Cdr),
            [
                cdr_values(f"bulk{i}", 1, "local", "BUSY", NOW, 0, "0", None, "1555", "US local", "pbx1")
                for i in range(20_000)
            ],
        )  # pages enough for a copy to take a while
    written, stop, errors = [0], threading.Event(), []

    def writer():
        try:
            while not stop.is_set():
                with engine.begin() as conn:
                    add_cdr(conn, f"w{written[0]}", 1, "local", "ANSWER", NOW, 1, "0.01", None, "1555", "x", "pbx1")
                    ledger.post(conn, 1, "recharge", 1, operator="writer")
                written[0] += 1
        except Exception as exc:  # reported by the assertion below
            errors.append(exc)

    def written_up_to(count: int) -> None:
        wait_for(lambda: written[0] >= count or not thread.is_alive(), f"{count} commits by the writer", 60, 0.001)
        assert written[0] >= count, f"the writer stopped at {written[0]}: {errors}"

    thread = threading.Thread(target=writer, daemon=True)
    thread.start()
    try:
        written_up_to(20)
        before = written[0]
        copies = [upkeep.backup(engine, tmp_path / f"copy{i}.db") for i in range(3)]
        written_up_to(written[0] + 20)  # and the writer goes on after them
    finally:
        stop.set()
        thread.join()
        engine.dispose()
    assert not errors
    for done in copies:
        copy = make_engine(Settings(db=f"sqlite:///{done.path}"))
        with copy.begin() as conn:
            assert conn.exec_driver_sql("PRAGMA integrity_check").scalar() == "ok"
            balance = conn.execute(select(Account.balance)).scalar_one()
            pairs = conn.execute(select(Cdr.id).where(Cdr.session.like("w%"))).all()
        copy.dispose()
        assert before <= len(pairs) == balance <= written[0] and done.cdrs == 20_000 + balance
    assert not list(tmp_path.glob(".*partial"))


def test_backup_into_a_folder(seed, cli, db_url, tmp_path):
    if not db_url.startswith("sqlite"):
        pytest.skip("SQLite only")
    folder = tmp_path / "backups"
    folder.mkdir()
    done = json.loads(cli("cdr", "backup", folder, "--json").stdout)
    path = folder / done["path"].rsplit("/", 1)[1]
    assert path.name.startswith("asteriskbill-") and path.exists() and done["cdrs"] == len(CDRS)
    assert "integrity ok" in cli("cdr", "backup", tmp_path / "copy.db").stdout
    with sqlite3.connect(tmp_path / "copy.db") as copy:
        assert copy.execute("SELECT count(*) FROM cdrs").fetchone()[0] == len(CDRS)
    copy.close()


# --- purge ---------------------------------------------------------------------------------------------


@pytest.fixture
def aged(seed, engine) -> Seed:
    """Reservations 300 days old: one still open, one flagged, one settled and one released."""
    old = NOW - 300 * D
    with engine.begin() as conn:
        for session, status in (("r-open", "open"), ("r-flag", "flagged"), ("r-set", "settled"), ("r-rel", "released")):
            add_reservation(conn, session, seed.ids["acme-1"], status, old, None if status == "open" else old)
    return seed


def reservation_sessions(engine) -> set[str]:
    with engine.begin() as conn:
        return set(conn.execute(select(Reservation.session)).scalars())


def test_purge_is_a_dry_run_without_yes(aged, cli, snapshot):
    before = snapshot()
    out = cli("cdr", "purge", "--older-than", "6months").stdout
    assert out.startswith("would delete 2 CDRs started before ") and "and 2 closed reservations" in out
    assert "--yes" in out and snapshot() == before
    dry = json.loads(cli("cdr", "purge", "--older-than", "1year", "--json").stdout)
    assert (dry["cdrs"], dry["reservations"], dry["deleted"]) == (1, 0, False)
    assert json.loads(cli("cdr", "purge", "--older-than", "180days", "--json").stdout)["cdrs"] == 2
    assert json.loads(cli("cdr", "purge", "--older-than", "2weeks", "--json").stdout)["cdrs"] == 14
    assert snapshot() == before


def test_purge_with_yes_deletes_keeps_open_reservations_and_is_audited(aged, cli, engine, monkeypatch):
    monkeypatch.setattr(upkeep, "PURGE_BATCH", 1)  # every row its own batch: the loop is exercised
    out = cli("cdr", "purge", "--yes").stdout  # the default: the cdr_retention setting, 6months
    assert out.startswith("deleted 2 CDRs started before ") and "and 2 closed reservations" in out
    assert sessions(cli) == NEWEST_FIRST[:-2]
    assert reservation_sessions(engine) == {"r-open", "r-flag"}
    with engine.begin() as conn:
        entry = conn.execute(
            select(AuditEntry.operator, AuditEntry.action, AuditEntry.subject, AuditEntry.detail).where(
                AuditEntry.action == "cdr.purge"
            )
        ).one()
    assert entry[:2] == ("tester", "cdr.purge") and entry.subject.startswith("before ")
    assert json.loads(entry.detail) == {"older_than": "6months", "cdrs": 2, "reservations": 2}
    again = json.loads(cli("cdr", "purge", "--yes", "--json").stdout)
    assert (again["cdrs"], again["reservations"], again["deleted"]) == (0, 0, True)


def test_purge_default_age_comes_from_the_settings(aged, cli, monkeypatch):
    monkeypatch.setenv("ASTERISKBILL_CDR_RETENTION", "1year")
    assert json.loads(cli("cdr", "purge", "--json").stdout)["cdrs"] == 1
    monkeypatch.setenv("ASTERISKBILL_CDR_RETENTION", "forever")
    assert "setting cdr_retention='forever'" in cli("cdr", "purge", ok=False).stderr  # checked when loaded


def test_an_export_in_progress_lets_calls_settle(sqlite_url):
    """A report reads from a snapshot without SQLite's write lock: a settlement during a long export
    neither waits for it nor shows up in it."""
    engine = make_engine(Settings(db=sqlite_url, sqlite_busy_timeout_ms=100))
    with engine.begin() as conn:
        conn.execute(insert(Account).values(id=1, kind="extension", name="w", currency="USD", balance=0))
        conn.execute(
            insert(Cdr),
            [cdr_values(f"c{i}", 1, "local", "BUSY", NOW, 0, "0", None, "1555", "US", "pbx1") for i in range(5000)],
        )
    with cdrs.stream(engine, cdrs.Filters()) as (total, found):
        first = next(found)
        with engine.begin() as conn:  # "database is locked" after 100 ms if the export held the lock
            add_cdr(conn, "during", 1, "local", "ANSWER", NOW + H, 1, "0.01", None, "1555", "US", "pbx1")
        rest = list(found)
    engine.dispose()
    assert total == 1 + len(rest) == 5000 and "during" not in {cdrs.CdrView(*row).session for row in (first, *rest)}
