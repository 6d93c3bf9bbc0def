"""A rates import writes its rows by prefix (a prefix's rates in their file order), however many runs it sorted
through its temporary file, and finds the rates that share prefix and validity wherever they are in the file."""

from __future__ import annotations

import random

import pytest
from sqlalchemy import select

from asteriskbill.errors import UserError
from asteriskbill.services import rates, tariffs
from asteriskbill.store.models import RateRow


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
    expected = sorted(((line.split(",")[0], line.split(",")[1]) for line in lines), key=lambda row: row[0])
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


def test_a_bad_line_stages_nothing(engine, retail, small_runs, tmp_path, monkeypatch):
    staged = []
    monkeypatch.setattr(rates.rate_rows, "insert", lambda *args: staged.append(args))
    lines = [f"{9_000 + n},d{n},0.1,," for n in range(30)] + ["9999,bad,0.1,moonday,"]
    with pytest.raises(UserError, match="line 32: weekdays 'moonday'"):
        rates.import_rates(engine, retail, write(tmp_path, lines))
    assert staged == []


def test_progress_is_told_as_the_file_is_read_and_as_its_rows_are_written(engine, retail, small_runs, tmp_path):
    source = write(tmp_path, [f"{9_000 + n},d{n},0.1,," for n in range(30)])
    seen: list[int] = []
    rates.import_rates(engine, retail, source, progress=seen.append)
    assert sum(seen) == source.stat().st_size and len(seen) > 10  # one for reading, then one per batch of 3
