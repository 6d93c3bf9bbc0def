"""A rates import writes its rows by prefix (a prefix's rates in their file order): on SQLite the whole file, however
many runs it sorted through its temporary file; on PostgreSQL each run, copied in as the next is read. It finds the
rates that share prefix and validity wherever they are in the file."""

from __future__ import annotations

import random

import pytest
from sqlalchemy import select

from asteriskbill.errors import UserError
from asteriskbill.services import rates, sheets, tariffs
from asteriskbill.store.models import RateRow
from tests.helpers.rate_writes import log_writes


@pytest.fixture
def small_runs(monkeypatch):
    """Runs of 7 rows written in batches of 3: a file of a few dozen lines goes through every step."""
    monkeypatch.setattr(rates, "RUN", 7)
    monkeypatch.setattr(rates, "BATCH", 3)


@pytest.fixture
def retail(engine):
    tariffs.create_tariff(engine, "tester", "retail", "USD", 1, "UTC")
    return "retail"


def write(tmp_path, lines: list[str]):
    path = tmp_path / "rates.csv"
    path.write_text("prefix,destination,price,weekdays,date_from\n" + "".join(f"{line}\n" for line in lines))
    return path


def test_rows_go_in_by_prefix_and_a_prefix_keeps_its_file_order(engine, retail, small_runs, tmp_path):
    rng = random.Random(5)
    lines = [f"{prefix},d{n},0.{n:02d},{rng.choice(['mon', 'tue', 'wed', ''])}," for n, prefix in enumerate(range(40))]
    # and some prefixes twice, from another day on
    lines += [f"{prefix},again{prefix},0.5,,2026-11-{prefix % 30 + 1:02d}" for prefix in range(1, 40, 3)]
    rng.shuffle(lines)
    result = rates.import_rates(engine, retail, write(tmp_path, lines))
    with engine.connect() as conn:
        written = conn.execute(select(RateRow.prefix, RateRow.destination).order_by(RateRow.id)).all()
    pairs = [(line.split(",")[0], line.split(",")[1]) for line in lines]
    runs = [pairs] if engine.dialect.name == "sqlite" else [pairs[at : at + 7] for at in range(0, len(pairs), 7)]
    expected = [pair for run in runs for pair in sorted(run, key=lambda pair: pair[0])]
    assert result.count == len(lines) and [tuple(row) for row in written] == expected


def test_rates_that_share_prefix_and_validity_are_found_across_runs_and_batches(engine, retail, small_runs, tmp_path):
    lines = [f"{9_000 + n},d{n},0.1,,2026-12-24" for n in range(30)]
    lines[25] = "9003,late,0.2,,2026-12-24"  # the same rate as 9003 on line 5
    lines[28] = "9004,other day,0.2,,2026-12-25"  # another validity: fine
    with pytest.raises(UserError) as refused:
        rates.import_rates(engine, retail, write(tmp_path, lines))
    assert "1 error(s)" in str(refused.value)
    assert "line 27: prefix 9003 (every day, all day, 2026-12-24 to ...) is on line 5 already" in str(refused.value)
    with engine.connect() as conn:
        assert conn.execute(select(RateRow.id)).first() is None


def test_a_sorted_file_s_twins_are_found_where_one_run_ends_and_the_next_begins(engine, retail, small_runs, tmp_path):
    lines = [f"{9_000 + n},d{n},0.1,," for n in range(20)]
    lines.insert(7, "9006,again,0.2,,")  # line 9, the first of the second run of 7; 9006 ended the first
    with pytest.raises(UserError, match=r"line 9: prefix 9006 .* is on line 8 already"):  # replacing: the file alone
        rates.import_rates(engine, retail, write(tmp_path, lines), replace=True)


def test_the_sql_check_looks_at_the_prefixes_that_may_have_twins(engine, retail, small_runs, tmp_path, monkeypatch):
    """SQLite sorts the whole file, so it knows; PostgreSQL names the prefixes of more than one run, and past
    MAX_SUSPECTS of them looks at every row."""
    looked: list = []
    check = rates._report_duplicates
    monkeypatch.setattr(rates, "_report_duplicates", lambda *args: (looked.append(args[-1]), check(*args))[1])
    lines = [f"{9_000 + n},d{n},0.1,," for n in range(30)]
    random.Random(3).shuffle(lines)
    rates.import_rates(engine, retail, write(tmp_path, lines))
    assert looked == []
    later = ["9005,again,0.1,,2026-12-24", "9006,again,0.1,,2026-12-24"]  # other validity: no twins
    rates.import_rates(engine, retail, write(tmp_path, [*lines, *later]), replace=True)
    assert looked == ([] if engine.dialect.name == "sqlite" else [frozenset({"9005", "9006"})])
    monkeypatch.setattr(rates, "MAX_SUSPECTS", 1)
    rates.import_rates(engine, retail, write(tmp_path, [*lines, *later]), replace=True)
    assert looked[1:] == ([] if engine.dialect.name == "sqlite" else [None])


def test_a_bad_line_leaves_nothing(engine, retail, small_runs, tmp_path, monkeypatch):
    """SQLite writes nothing before the whole file is read; PostgreSQL rolls back the runs it copied."""
    events: list = []
    log_writes(monkeypatch, events)
    lines = [f"{9_000 + n},d{n},0.1,," for n in range(30)] + ["9999,bad,0.1,moonday,"]
    with pytest.raises(UserError, match="line 32: weekdays 'moonday'"):
        rates.import_rates(engine, retail, write(tmp_path, lines))
    assert events == [] if engine.dialect.name == "sqlite" else len(events) == 4  # runs of 7 before line 32
    with engine.connect() as conn:
        assert conn.execute(select(RateRow.id)).first() is None


def test_progress_is_told_as_the_file_is_read_and_as_its_rows_are_written(
    engine, retail, small_runs, tmp_path, monkeypatch
):
    monkeypatch.setattr(sheets, "PROGRESS_STEP", 32)  # a small file, read in steps
    events: list = []
    log_writes(monkeypatch, events)
    source = write(tmp_path, [f"{9_000 + n},d{n},0.1,," for n in range(30)])
    rates.import_rates(engine, retail, source, progress=events.append)
    told = [event for event in events if isinstance(event, int)]
    first = events.index(("write", 3 if engine.dialect.name == "sqlite" else 7))
    between_writes = [event for event in events[first:] if isinstance(event, int)]
    size = source.stat().st_size
    assert sum(told) == size and len(between_writes) >= 4  # one per batch of 3 or run of 7
    assert told[-1] < size / 8  # the written half told as it goes, not at the end (the last 3 or 2 rows of 30)


def test_only_rates_in_effect_are_checked_for_twins_of_the_file_s(engine, retail, tmp_path, monkeypatch):
    """A new tariff has a revision in effect from its creation, but no rates: its first import does not look for
    rates of the file's in the table; the next one does (and --replace names how many it replaced)."""
    looked: list[str] = []
    check = rates._report_duplicates
    monkeypatch.setattr(rates, "_report_duplicates", lambda *args: (looked.append("looked"), check(*args))[1])
    rates.import_rates(engine, retail, write(tmp_path, ["44,UK,0.1,,", "45,DE,0.2,,"]))
    assert looked == []
    with pytest.raises(UserError, match=r"prefix 44 .* is a rate of tariff 'retail' already"):
        rates.import_rates(engine, retail, write(tmp_path, ["44,UK again,0.1,,"]))
    assert looked == ["looked"]
    assert rates.import_rates(engine, retail, write(tmp_path, ["46,FR,0.1,,"]), replace=True).replaced == 2
