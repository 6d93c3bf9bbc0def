"""Issue 10, item 11: a call across a clock change is priced on real time, in `quote` and in settlement.

Block starts are real instants; the rate of each block is judged on the local time of its instant.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from asteriskbill.billing.settle import ANSWER, CallResult
from asteriskbill.services import lifecycle
from asteriskbill.settings import load
from asteriskbill.store.models import Account, Cdr, LedgerEntry
from tests.helpers.world import extension_account_id

# London, spring 2027: at 01:00 GMT the clocks jump from 01:00 to 02:00 BST. Night rate from 02:00.
LONDON = ("Europe/London", "prefix,price,time_from,time_to\n44,0.60,,\n44,0.06,02:00,06:00\n", "+4420")
# New York, autumn 2026: at 06:00 UTC the clocks fall back from 02:00 EDT to 01:00 EST; the
# night rate (until 01:30) applies again for the repeated half hour.
NEW_YORK = ("America/New_York", "prefix,price,time_from,time_to\n1,0.60,,\n1,0.06,00:00,01:30\n", "+12125551234")


def tariff(cli, tmp_path, zone: str, rates: str) -> None:
    cli("tariff", "create", "T", "--currency", "USD", "--timezone", zone)
    (tmp_path / "rates.csv").write_text(rates)
    cli("rates", "import", "T", tmp_path / "rates.csv")


def quoted(cli, number: str, at: str) -> str:
    return json.loads(cli("quote", "T", number, "--seconds", "120", "--at", at, "--json").stdout)["cost"]


@pytest.mark.parametrize(
    "case, moments",
    [
        # one real minute after 00:59 GMT the clock reads 02:00 BST: 0.60 + 0.06
        (LONDON, ["2027-03-28T00:59", "2027-03-28T00:59:00+00:00", "2027-03-28T01:59:00+01:00"]),
        # one real minute after 01:59 EDT the clock reads 01:00 EST, inside the window again; a clock
        # time shown twice is read as its first occurrence (EDT)
        (NEW_YORK, ["2026-11-01T01:59:00-04:00", "2026-11-01T01:59", "2026-11-01T05:59:00+00:00"]),
    ],
)
def test_quote_prices_real_minutes_across_a_clock_change(cli, tmp_path, case, moments):
    zone, rates, number = case
    tariff(cli, tmp_path, zone, rates)
    assert [quoted(cli, number, at) for at in moments] == ["0.66"] * len(moments)


def test_quote_at_a_time_the_clock_skips_is_refused_with_one_line(cli, tmp_path, snapshot):
    tariff(cli, tmp_path, *LONDON[:2])
    before = snapshot()
    result = cli("quote", "T", "+4420", "--seconds", "60", "--at", "2027-03-28T01:30", ok=False)
    assert result.exit_code == 1 and result.stderr.count("\n") == 1, result.output
    assert "2027-03-28T01:30 does not exist in Europe/London" in result.stderr
    assert "+00:00" in result.stderr  # how to say the moment meant
    assert snapshot() == before


@pytest.mark.parametrize(
    "case, authorized_at",
    [(LONDON, datetime(2027, 3, 28, 0, 59, tzinfo=UTC)), (NEW_YORK, datetime(2026, 11, 1, 5, 59, tzinfo=UTC))],
)
def test_a_call_settled_across_a_clock_change_is_charged_real_time(cli, engine, tmp_path, case, authorized_at):
    zone, rates, number = case
    tariff(cli, tmp_path, zone, rates)
    cli("routes", "add", "", "PJSIP/${NUMBER}@carrier")
    cli("accounts", "create", "extension", "e1", "--tariff", "T", "--extension", "201")
    cli("accounts", "recharge", "e1", "5")
    settings = load(db=cli.db)
    auth = lifecycle.authorize(engine, settings, extension_account_id(engine, "201"), number, now=authorized_at)
    assert auth.status == "OK", auth.reason
    settled = lifecycle.settle(engine, CallResult(auth.session, ANSWER, billable_ms=120_000))
    assert settled is not None and (settled.billed_seconds, settled.cost) == (120, 660_000)
    with engine.begin() as conn:
        assert conn.execute(select(Cdr.cost)).scalars().all() == [660_000]
        assert conn.execute(select(LedgerEntry.amount).where(LedgerEntry.kind == "call")).scalars().all() == [-660_000]
        assert conn.execute(select(Account.balance).where(Account.name == "e1")).scalar_one() == 5_000_000 - 660_000
