"""SortedRuns gives back what was added sorted by its key, stably, however many runs it spilled."""

from __future__ import annotations

from operator import itemgetter

from hypothesis import given, settings
from hypothesis import strategies as st

from asteriskbill.services.external_sort import SortedRuns

first = itemgetter(0)


@settings(max_examples=300)
@given(st.lists(st.integers(0, 6), max_size=300), st.integers(1, 60), st.integers(1, 12))
def test_rows_come_back_sorted_and_stable(keys, run, chunk):
    rows = [(key, None if n % 3 else n) for n, key in enumerate(keys)]  # None and int: never compared
    with SortedRuns(first, run, chunk) as runs:
        for row in rows:
            runs.add(row)
        assert len(runs) == len(rows)
        assert list(runs) == sorted(rows, key=first)  # equal keys in the order added


def test_equal_keys_across_the_chunks_of_a_run_stay_before_a_later_runs():
    rows = [(1, "a"), (1, "b"), (1, "c"), (0, "d"), (1, "e"), (2, "f")]
    with SortedRuns(first, 3, chunk=2) as runs:
        for row in rows:
            runs.add(row)
        assert [name for _, name in runs] == ["d", "a", "b", "c", "e", "f"]


def test_only_a_run_is_held_in_memory_the_rest_is_in_a_file():
    with SortedRuns(first, 10) as runs:
        for n in range(25, 0, -1):
            runs.add((n, str(n)))
        assert len(runs.pending) == 5 and runs.file is not None  # 25 = 10 + 10 + 5
        assert [n for n, _ in runs] == list(range(1, 26))
    assert runs.file is not None and runs.file.closed


def test_a_single_run_never_touches_a_file():
    with SortedRuns(first, 10) as runs:
        for n in (3, 1, 2):
            runs.add((n,))
        assert list(runs) == [(1,), (2,), (3,)] and runs.file is None
