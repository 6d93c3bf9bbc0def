"""The in-memory prefix index answers every number as rates_for_number does: the rows whose prefix begins the
number, in id order, less those a longer prefix valid at every moment shadows."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from asteriskbill.store.rate_index import STOP_EVERY, Stopped, build
from asteriskbill.store.tariffs import rate_of, unshadowed

VALIDITIES = [  # weekdays, time_from, time_to, date_from, date_to
    (127, None, None, None, None),  # every moment
    (127, 480, 1080, None, None),  # peak hours
    (96, None, None, None, None),  # the weekend
    (127, None, None, "2026-12-24", "2026-12-26"),  # a few days (as SQLite's driver gives a date: text)
    (127, None, None, date(2027, 1, 1), None),  # from a day on (as PostgreSQL's driver gives it)
]
prefixes = st.text("123", min_size=1, max_size=4)
rows = st.lists(
    st.tuples(prefixes, st.sampled_from(VALIDITIES), st.integers(1, 10**6)), max_size=40, unique_by=lambda r: r[:2]
)


def row(rate_id: int, prefix: str, validity: tuple, price: int) -> tuple:
    """id, then RATE_COLUMNS, as the database gives them."""
    weekdays, time_from, time_to, date_from, date_to = validity
    return (
        rate_id,
        prefix,
        "d",
        f"0:{price}:60:60",
        0,
        0,
        weekdays,
        time_from,
        time_to,
        date_from,
        date_to,
        None,
        None,
        0,
    )


@given(rows, st.randoms(use_true_random=False), st.lists(st.text("1234", max_size=6), max_size=20))
def test_the_index_answers_as_the_database(generated, rng, numbers):
    ids = rng.sample(range(1, 1000), len(generated))  # import order is not prefix order
    table = [row(rate_id, *values) for rate_id, values in zip(ids, generated, strict=True)]
    index = build(7, sorted(table, key=lambda r: (r[1], r[0])))
    for number in numbers + [r[1] + "1" for r in table]:
        matching = sorted((r for r in table if number.startswith(r[1])), key=lambda r: r[0])
        expected = [rate_of(values) for values in unshadowed([r[1:] for r in matching])]
        assert list(index.rates(number)) == expected, number
    assert index.revision == 7


def test_a_build_stops_when_asked():
    table = [row(n, f"{n:06d}", VALIDITIES[0], 1) for n in range(STOP_EVERY)]
    with pytest.raises(Stopped):
        build(1, table, stop=lambda: True)
    assert len(build(1, table, stop=lambda: False)) == STOP_EVERY
