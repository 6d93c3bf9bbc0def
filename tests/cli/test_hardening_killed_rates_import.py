"""Issue 10, item 1: the rows of a rates import that did not finish are never priced, whatever killed it, and
are cleaned up; a refused import changes nothing at all.

The kills are SIGKILLs of a real `asteriskbill rates import` subprocess, taken once its first batches are in
the database (waited for, not slept for): the rows it staged stay behind exactly as after a power cut.
"""

from __future__ import annotations

import csv
import io
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import create_engine, func, select

from asteriskbill.billing.authorize import BillStatus
from asteriskbill.errors import UserError
from asteriskbill.services import lifecycle, rates
from asteriskbill.settings import Settings
from asteriskbill.store.models import RateRow
from tests.helpers.rate_writes import log_writes
from tests.helpers.waiting import wait_for
from tests.helpers.world import extension_account_id

ASTERISKBILL = str(Path(sys.executable).with_name("asteriskbill"))
BIG = 200_000  # rows: a second or more of batches, so the import is still running when killed after the first
KILLS = 3
LOCK_TIMEOUT = {"options": "-c lock_timeout=20s"}  # psycopg's connection options


def rate_rows(engine) -> int:
    """Every rate row, in effect or not."""
    with engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(RateRow)).scalar_one()


def price_list(path: Path, lines: list[str]) -> Path:
    path.write_text("prefix,destination,price\n" + "".join(f"{line}\n" for line in lines), encoding="utf-8")
    return path


def killed_import(db_url: str, source: Path, engine, more_than: int) -> int:
    """Start `rates import t1 SOURCE`, SIGKILL it once it is writing rows, and return how many rows are left.

    On SQLite it is writing once it has staged rows (committed batch by batch); on PostgreSQL once the server is
    copying its rows in (one transaction, whose rows no one else sees)."""
    process = subprocess.Popen(
        [ASTERISKBILL, "--db", db_url, "--operator", "tester", "rates", "import", "t1", str(source)],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    writing = (lambda: rate_rows(engine) > more_than) if engine.dialect.name == "sqlite" else (lambda: copying(engine))
    try:
        wait_for(lambda: process.poll() is not None or writing(), "the import to write rows", 60)
        assert process.poll() is None, f"the import ended before it was killed: {process.stderr.read()!r}"
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)
    assert process.returncode == -signal.SIGKILL
    return rate_rows(engine)


def copying(engine) -> bool:
    """Whether a PostgreSQL session is copying rows into the rates table."""
    with engine.connect() as conn:
        active = "SELECT count(*) FROM pg_stat_activity WHERE state = 'active' AND starts_with(query, 'COPY rates ')"
        return bool(conn.exec_driver_sql(active).scalar_one())


def authorized(cli, engine, *dialled: str) -> list[BillStatus]:
    """What calls of an extension of tariff t1 to each of ``dialled`` are told (the path a real call takes)."""
    cli("routes", "add", "", "PJSIP/${NUMBER}@carrier")
    cli("accounts", "create", "company", "acme", "--tariff", "t1", "--currency", "USD")
    cli("accounts", "create", "extension", "ext-1", "--parent", "acme", "--extension", "201")
    cli("accounts", "recharge", "ext-1", "10")
    account = extension_account_id(engine, "201")
    found = []
    for number in dialled:
        result = lifecycle.authorize(engine, Settings(db=cli.db), account, number)
        lifecycle.release(engine, result.session, "test")
        found.append(result.status)
    return found


def test_a_killed_import_never_goes_live(cli, engine, db_url, tmp_path):
    cli("tariff", "create", "t1", "--currency", "USD")
    cli("rates", "import", "t1", price_list(tmp_path / "a.csv", ["44,UK,0.10"]))
    big = price_list(tmp_path / "big.csv", [f"{9_000_000 + n},killed,9.99" for n in range(BIG)])
    left = 1
    for _ in range(KILLS):
        left = killed_import(db_url, big, engine, left)
    if engine.dialect.name == "sqlite":
        assert left > 1 + KILLS  # each kill left staged rows behind, as a power cut would
    else:
        assert left == 1  # the server rolled back what each killed import had copied in

    cli("rates", "lookup", "t1", "9000123", ok=False)  # staged, never switched in: invisible
    cli("rates", "import", "t1", price_list(tmp_path / "c.csv", ["45,DE,0.20"]))

    lookup = cli("rates", "lookup", "t1", "9000123", ok=False)
    assert "no rate in tariff 't1' for 9000123" in lookup.output
    # quoted as dialled internationally ("00"): the number a call would price, whatever the number plan
    assert "no rate" in cli("quote", "t1", "009000123", "--seconds", "60", ok=False).output
    assert "0.10" in cli("quote", "t1", "004420", "--seconds", "60").output
    exported = list(csv.DictReader(io.StringIO(cli("rates", "export", "t1").stdout)))
    assert [(r["prefix"], r["price"]) for r in exported] == [("44", "0.10"), ("45", "0.20")]
    assert "rates:     2\n" in cli("tariff", "show", "t1").output
    assert authorized(cli, engine, "009000123", "004420") == [BillStatus.NO_RATE, BillStatus.OK]
    assert rate_rows(engine) == 2  # the next import of the tariff removed what the kills left


def test_a_superseded_import_leaves_nothing_live(cli, engine, tmp_path, monkeypatch):
    """An import overtaken by another that began later and finished first is refused: the winner deleted the
    rows it had staged by then, it deletes the ones it staged after, and none of them ever showed. On PostgreSQL the
    winner begins while the loser's first run is copied in the loser's open transaction, which must not block it."""
    cli("tariff", "create", "t1", "--currency", "USD")
    cli("rates", "import", "t1", price_list(tmp_path / "a.csv", ["44,UK,0.10"]))
    monkeypatch.setattr(rates, "RUN", rates.BATCH)  # progress is reported between batches, and between runs
    written: list[tuple[str, int]] = []
    log_writes(monkeypatch, written)
    big = price_list(tmp_path / "big.csv", [f"{9_000_000 + n},late,9.99" for n in range(12_000)])
    other = price_list(tmp_path / "b.csv", ["45,DE,0.20"])
    staged_before = []
    # on PostgreSQL the winner gives up on a lock the loser holds (else it would wait for the loser, which waits for it)
    winner = engine if engine.dialect.name == "sqlite" else create_engine(cli.db, connect_args=LOCK_TIMEOUT)

    def meanwhile(_bytes: int) -> None:
        if written and not staged_before:
            staged_before.append(rate_rows(engine) - 1)
            rates.import_rates(winner, "t1", other)

    with pytest.raises(UserError, match="another import into tariff 't1' finished meanwhile"):
        rates.import_rates(engine, "t1", big, progress=meanwhile)
    # the winner began while the loser had staged a batch (SQLite), or copied a run not yet committed (PostgreSQL)
    assert written[0] == ("write", rates.BATCH)
    assert staged_before == [rates.BATCH if engine.dialect.name == "sqlite" else 0]
    exported = list(csv.DictReader(io.StringIO(cli("rates", "export", "t1").stdout)))
    assert [r["prefix"] for r in exported] == ["44", "45"]
    assert rate_rows(engine) == 2


HUGE = "x" * 140_000  # past csv.field_size_limit()
GOOD = [f"{9_000_000 + n},d,0.30" for n in range(rates.BATCH + 1_000)]  # a duplicate is found once they are staged


@pytest.mark.parametrize(
    "lines, message",
    [
        ([*GOOD, f'46,"{HUGE}",0.2'], "longer than 131,072 characters"),
        ([*GOOD, "46,d,abc"], "price"),
        ([*GOOD, "44,again,0.2"], "is a rate of tariff 't1' already"),
        ([*GOOD, "46,bell\x07,0.2"], "control character"),
    ],
    ids=["huge-field", "bad-price", "duplicate", "control-character"],
)
def test_a_refused_import_changes_nothing(cli, snapshot, tmp_path, lines, message):
    cli("tariff", "create", "t1", "--currency", "USD")
    cli("rates", "import", "t1", price_list(tmp_path / "a.csv", ["44,UK,0.10"]))
    before = snapshot()
    result = cli("rates", "import", "t1", price_list(tmp_path / "bad.csv", lines), ok=False)
    assert message in result.output and "Traceback" not in result.output
    assert snapshot() == before
