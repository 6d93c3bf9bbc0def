"""`cdr stats --by vendor|trunk` and `cdr list|export --trunk|--vendor` through the real command, on every backend,
over CDRs and call attempts seeded as rows (tests/helpers/vendor_cdrs.py).

The seed: vendor alpha (USD) with trunks alpha-a and alpha-c, vendor beta (USD) with trunk beta-b; extension acme-1
of company acme (USD) and extension solo (EUR). On DAY: c1 tried alpha-a (CHANUNAVAIL) and failed over to beta-b
(ANSWER); c2 was BUSY on alpha-a; c3 and c4 answered on alpha-c, c5 not; c6 went by the routes table; solo's c7 on
beta-b has a buy cost in USD that no rate converted yet. c0, the day before, answered on alpha-a.
"""

from __future__ import annotations

import csv
import json
from datetime import UTC, date, datetime, timedelta

import pytest

from asteriskbill.money import parse_amount
from asteriskbill.services import cdr_sheet, cdrs, currency
from tests.cli.test_cdr import totals
from tests.helpers.vendor_cdrs import Carried, add_carried, add_vendor

DAY = datetime(2026, 11, 2, 10, tzinfo=UTC)
M = timedelta(minutes=1)
A, B, C = "alpha-a", "beta-b", "alpha-c"
CALLS = [
    Carried("c0", "acme-1", DAY - timedelta(days=1), ((A, "ANSWER"),), 60, "0.25", "0.10"),
    Carried("c1", "acme-1", DAY, ((A, "CHANUNAVAIL"), (B, "ANSWER")), 125, "0.50", "0.20"),
    Carried("c2", "acme-1", DAY + M, ((A, "BUSY"),)),
    Carried("c3", "acme-1", DAY + 2 * M, ((C, "ANSWER"),), 61, "0.30", "0.12"),
    Carried("c4", "acme-1", DAY + 3 * M, ((C, "ANSWER"),), 30, "0.20", "0.15"),
    Carried("c5", "acme-1", DAY + 4 * M, ((C, "NOANSWER"),)),
    Carried("c6", "acme-1", DAY + 5 * M, (), 90, "0.40", "0.10"),
    Carried("c7", "solo", DAY + 6 * M, ((B, "ANSWER"),), 45, "0.90", "0.50", buy_currency="USD", currency="EUR"),
]


@pytest.fixture
def carried(cli, engine):
    cli("tariff", "create", "retail", "--currency", "USD")
    cli("tariff", "create", "euro", "--currency", "EUR")
    cli("accounts", "create", "company", "acme", "--tariff", "retail")
    cli("accounts", "create", "extension", "acme-1", "--parent", "acme", "--extension", "101")
    cli("accounts", "create", "extension", "solo", "--tariff", "euro", "--extension", "200")
    add_vendor(engine, "alpha", "USD", [A, C])
    add_vendor(engine, "beta", "USD", [B])
    add_carried(engine, CALLS)
    return cli


def expected(key, currency, attempts, answered, asr, acd, acd_seconds, total, **vendor) -> dict:
    return {
        "key": key,
        **vendor,
        "currency": currency,
        "attempts": attempts,
        "answered": answered,
        "asr": asr,
        "acd": acd,
        "acd_seconds": acd_seconds,
        "total": total,
    }


def stats(cli, *args) -> list[dict]:
    return json.loads(cli("cdr", "stats", "--json", "--since", DAY.date().isoformat(), *args).stdout)


# alpha-c: 2 of 3 attempts answered (66.67 -> 66.7); 61 + 30 billed seconds over 2 answered calls (45.5 -> 46)
ALPHA_C = totals(3, 2, 91, "0.50", "0.27", "0.23")
BETA_USD = totals(1, 1, 125, "0.50", "0.20", "0.30")
BETA_EUR = {**totals(1, 1, 45, "0.90", None, None), "no_rate_calls": 1}
ROUTES = totals(1, 1, 90, "0.40", "0.10", "0.30")


def test_stats_by_trunk(carried):
    assert stats(carried, "--by", "trunk") == [
        expected(A, "USD", 2, 0, "0.0", None, None, totals(1, 0, 0, "0.00", None, None), vendor="alpha"),
        expected(C, "USD", 3, 2, "66.7", "00:46", 46, ALPHA_C, vendor="alpha"),
        expected(B, "EUR", 1, 1, "100.0", "00:45", 45, BETA_EUR, vendor="beta"),
        expected(B, "USD", 1, 1, "100.0", "02:05", 125, BETA_USD, vendor="beta"),
        expected(None, "USD", 0, 0, None, "01:30", 90, ROUTES, vendor=None),
    ]


def test_stats_by_vendor_counts_each_attempt_on_its_trunks_vendor(carried):
    # alpha: c1's failed attempt and c2 on alpha-a, c3-c5 on alpha-c: 2 answered of 5; c1 is beta's call
    assert stats(carried, "--by", "vendor") == [
        expected("alpha", "USD", 5, 2, "40.0", "00:46", 46, totals(4, 2, 91, "0.50", "0.27", "0.23")),
        expected("beta", "EUR", 1, 1, "100.0", "00:45", 45, BETA_EUR),
        expected("beta", "USD", 1, 1, "100.0", "02:05", 125, BETA_USD),
        expected(None, "USD", 0, 0, None, "01:30", 90, ROUTES),
    ]


@pytest.mark.parametrize("by", ["vendor", "trunk"])
def test_calls_and_money_add_up_to_the_other_statistics(carried, by):
    def summed(rows: list[dict]) -> dict:
        found: dict = {}
        for r in rows:
            keys = ("calls", "answered", "billed_seconds", "cost", "no_rate_calls")
            sums = found.setdefault(r["currency"], dict.fromkeys(keys, 0))
            for k in keys:
                sums[k] += parse_amount(r["total"][k]) if k == "cost" else r["total"][k]
        return found

    assert summed(stats(carried, "--by", by)) == summed(stats(carried, "--by", "account"))
    # without --since, c0 counts on alpha-a too: 1 answered of 3 attempts
    everything = json.loads(carried("cdr", "stats", "--json", "--by", by).stdout)
    first = everything[0]
    assert (first["key"], first["attempts"], first["answered"], first["asr"], first["total"]["calls"]) == (
        A if by == "trunk" else "alpha",
        3 if by == "trunk" else 6,
        1 if by == "trunk" else 3,
        "33.3" if by == "trunk" else "50.0",
        2 if by == "trunk" else 5,
    )


def test_stats_filters_by_account_and_converts_late_buy_costs(carried, engine):
    assert [(r["key"], r["currency"]) for r in stats(carried, "--by", "trunk", "--account", "solo")] == [(B, "EUR")]
    assert [r["key"] for r in stats(carried, "--by", "vendor", "--account", "acme")] == ["alpha", "beta", None]
    currency.set_rate(engine, "test", "USD", "EUR", 900_000, date(2026, 11, 2))  # 0.50 USD is 0.45 EUR
    (beta_eur,) = stats(carried, "--by", "vendor", "--account", "solo")
    assert beta_eur["total"] == totals(1, 1, 45, "0.90", "0.45", "0.45")


def test_stats_text(carried):
    lines = carried("cdr", "stats", "--by", "trunk", "--since", DAY.date().isoformat()).stdout.splitlines()
    assert lines[0].split() == [
        "key",
        "vendor",
        "currency",
        "attempts",
        "answered",
        "asr",
        "acd",
        "calls",
        "minutes",
        "cost",
        "buy_cost",
        "margin",
        "no_rate",
    ]
    assert lines[2].split() == [C, "alpha", "USD", "3", "2", "66.7%", "00:46", "3", "1.52", "0.50", "0.27", "0.23", "0"]
    assert lines[3].split()[-1] == "1" and lines[5].startswith("(routes table)")
    assert lines[6].startswith("no_rate: calls whose buy cost is in a vendor's currency")
    by_vendor = carried("cdr", "stats", "--by", "vendor", "--account", "acme").stdout.splitlines()
    assert by_vendor[0].split()[:3] == ["key", "currency", "attempts"] and "no_rate" not in by_vendor[0]
    assert by_vendor[1].split() == ["alpha", "USD", "6", "3", "50.0%", "00:50", "5", "2.52", "0.75", "0.37", "0.38"]
    assert carried("cdr", "stats", "--by", "trunk", "--since", "2027-01-01").stdout == "(none)\n"


def listed(cli, *args) -> list[dict]:
    return json.loads(cli("cdr", "list", "--json", "--limit", "0", *args).stdout)


def test_list_by_trunk_and_vendor(carried):
    assert [c["session"] for c in listed(carried, "--trunk", B)] == ["c7", "c1"]
    assert [c["session"] for c in listed(carried, "--trunk", A)] == ["c2", "c0"]  # c1 failed over from it
    assert [c["session"] for c in listed(carried, "--vendor", "alpha", "--since", "2026-11-02")] == [
        "c5",
        "c4",
        "c3",
        "c2",
    ]
    assert [c["session"] for c in listed(carried, "--vendor", "beta", "--account", "acme")] == ["c1"]
    by_session = {c["session"]: c for c in listed(carried)}
    assert [(by_session[s]["trunk"], by_session[s]["vendor"]) for s in ("c1", "c3", "c6")] == [
        (B, "beta"),
        (C, "alpha"),
        (None, None),
    ]
    text = carried("cdr", "list", "--trunk", B).stdout.splitlines()
    assert text[0].split()[:7] == ["started_at", "account", "callerid", "number", "destination", "trunk", "call_class"]
    assert f"UK London    {B}" in text[1]


@pytest.mark.parametrize(
    "args, message",
    [
        (("list", "--trunk", "nope"), "no trunk named 'nope'"),
        (("list", "--vendor", "nobody"), "no vendor named 'nobody'"),
        (("export", "--trunk", "nope"), "no trunk named 'nope'"),
    ],
)
def test_an_unknown_trunk_or_vendor_is_one_line(carried, args, message):
    result = carried("cdr", *args, ok=False)
    assert result.exit_code == 1 and message in result.stderr and len(result.stderr.splitlines()) == 1


def test_export_has_trunk_and_vendor_last_on_both_paths(carried, engine, tmp_path):
    assert cdr_sheet.COLUMNS[-6:] == ("trunk", "vendor", "paid_by", "direction", "bundle_seconds", "bundle_amount")
    carried("cdr", "export", "--vendor", "beta", "-o", tmp_path / "beta.csv")
    rows = list(csv.DictReader((tmp_path / "beta.csv").open(newline="")))
    assert [(r["session"], r["trunk"], r["vendor"]) for r in rows] == [("c7", B, "beta"), ("c1", B, "beta")]
    f = cdrs.Filters()
    with cdr_sheet.export_rows(engine, f, xlsx=False) as (_total, fast):
        exported = list(fast)
    assert exported == [
        [str(v) if isinstance(v, int) else v or "" for v in cdr_sheet.cdr_row(c)] for c in cdrs.list_cdrs(engine, f)
    ]
    assert {r[0]: r[-6:-4] for r in exported}["c6"] == ["", ""]
