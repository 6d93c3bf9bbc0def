"""A rates import's lines to rows: the fast path for the common shape gives exactly the row, or exactly the error
(message included), that the general path (parse_rate -> rate_values -> the width check) gives."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from asteriskbill.errors import UserError
from asteriskbill.rating.csvrow import RATE_FIELDS, parse_rate
from asteriskbill.rating.model import Rate, groups_from_increments
from asteriskbill.services import rate_rows, sheets
from asteriskbill.store import tariffs as repo
from asteriskbill.store.models import RateRow

WIDTHS = sheets.widths(RateRow.__table__)
DEFAULTS = repo.rate_values(Rate("0", groups_from_increments(0)))


def general(columns: list[str], fields: list[str]) -> tuple | None:
    """Today's path, written out: the values the import wrote (dates as ISO text), or the UserError it
    reported; None for a blank line."""
    if not any(f.strip() for f in fields):
        return None
    values = repo.rate_values(parse_rate(sheets.fields(columns, fields)))
    sheets.check_widths(WIDTHS, values)
    values.update({name: values[name] and values[name].isoformat() for name in ("date_from", "date_to")})
    return tuple(values[name] for name in repo.RATE_COLUMNS)


def whole(row: tuple | None) -> tuple | None:
    """A row with the defaults it leaves out."""
    if row is None:
        return None
    assert len(row) in (rate_rows.SHORT, len(repo.RATE_COLUMNS))
    return row + tuple(DEFAULTS[name] for name in repo.RATE_COLUMNS[len(row) :])


def outcome(parse, *args) -> tuple | str | None:
    try:
        return parse(*args)
    except UserError as exc:
        return f"error: {exc}"


def assert_same(columns: list[str], fields: list[str]) -> None:
    expected = outcome(general, columns, fields)
    got = outcome(rate_rows.parser(columns), fields)
    assert (whole(got) if isinstance(got, tuple) else got) == expected
    fast = rate_rows.fast_parser(columns)
    if fast is not None:
        row = fast(fields)
        # the fast path gives the (short) row, or leaves the line to the general path
        assert row is None or (len(row) == rate_rows.SHORT and whole(row) == expected)


COMMON = ["prefix", "destination", "price", "increments"]


@pytest.mark.parametrize(
    "fields",
    [
        ["44", "UK", "0.10", "60/6"],
        [" 4420 ", " London ", " .5 ", " 30/6 "],
        ["44", "", "5.", ""],
        ["44", "UK", "0.000001", "1/60"],
        ["44", "UK", "999999999999.999999", "60"],
        ["0044", "x" * 100, "007.50", "1/1"],
        ["", "", "", ""],
        [" ", "", "\xa0", ""],
        ["", "UK", "0.1", ""],
        ["+44", "UK", "0.1", ""],
        ["٤٤", "UK", "0.1", ""],
        ["4" * 33, "UK", "0.1", ""],
        ["44", "x" * 101, "0.1", ""],
        ["44", "UK", "", "60/6"],
        ["44", "UK", ".", ""],
        ["44", "UK", "-0.1", ""],
        ["44", "UK", "+0.1", ""],
        ["44", "UK", "1e3", ""],
        ["44", "UK", "0.1234567", ""],
        ["44", "UK", "1,5", ""],
        ["44", "UK", "1000000000000", ""],
        ["44", "UK", "1000000000000.000001", ""],
        ["44", "UK", "\u0660.\u0661", ""],  # Arabic-Indic digits
        ["44", "UK", "0.1", "60/0"],
        ["44", "UK", "0.1", "0"],
        ["44", "UK", "0.1", "60-6"],
        ["44", "UK", "0.1", "9" * 400],
        ["44", "UK", "0.1"],
        ["44"],
        ["44", "UK", "0.1", "60/6", ""],
        ["44", "UK", "0.1", "60/6", " ", ""],
        ["44", "UK", "0.1", "60/6", "extra"],
    ],
)
def test_common_rows(fields):
    assert_same(COMMON, fields)


EVERY = list(RATE_FIELDS)
DEFAULT = dict.fromkeys(EVERY, "") | {"prefix": "44", "price": "0.10"}


@pytest.mark.parametrize(
    "changes",
    [
        {},
        {"connect_fee": "0.05", "grace": "3"},
        {"connect_fee": " 0.05 ", "grace": " 007 "},
        {"connect_fee": "-1"},
        {"grace": "2.5"},
        {"grace": "-1"},
        {"grace": "٣"},
        {"weekdays": "mon-fri"},
        {"weekdays": " "},
        {"weekdays": "moon"},
        {"time_from": "08:00", "time_to": "18:00"},
        {"time_from": "08:00"},
        {"date_from": "2026-12-24", "date_to": "2026-12-26"},
        {"date_from": "2026-02-30"},
        {"buy_price": "0.01", "buy_currency": "eur"},
        {"buy_currency": "EUR"},
        {"weight": "-1"},
        {"price": "", "intervals": "0:0.20:60;60:0.10:1"},
        {"intervals": "0:0.20:60"},
    ],
)
def test_rows_of_every_column(changes):
    fields = DEFAULT | changes
    assert_same(EVERY, [fields[name] for name in EVERY])


def test_the_fast_path_takes_the_common_shape_and_leaves_the_rest():
    fast = rate_rows.fast_parser(EVERY)
    assert fast is not None
    assert fast([DEFAULT[name] for name in EVERY]) == ("44", "", "0:100000:1:60", 0, 0)
    assert fast([(DEFAULT | {"weekdays": "mon"})[name] for name in EVERY]) is None
    assert rate_rows.fast_parser(["prefix", "intervals"]) is None  # no price column: no fast path


def test_a_row_is_short_when_the_rest_is_defaults_whichever_path_made_it():
    parse = rate_rows.parser(["prefix", "intervals", "weekdays", "date_from"])
    assert parse(["44", "0:0.1:1", "", ""]) == ("44", "", "0:100000:1:60", 0, 0)
    assert parse(["44", "0:0.1:1", "mon-sun", ""]) == ("44", "", "0:100000:1:60", 0, 0)
    dated = parse(["44", "0:0.1:1", "", "2026-12-24"])
    assert dated is not None and dated[repo.RATE_COLUMNS.index("date_from")] == "2026-12-24"


def test_the_identity_of_short_and_whole_rows():
    short = ("44", "UK", "0:1:1:60", 0, 0)
    assert rate_rows.identity_of(short) == rate_rows.identity_of(whole(short)) == ("44", 127, None, None, None, None)
    assert rate_rows.identity_key(["44", 127, 480, 1080, date(2026, 12, 24), None]) == (
        "44",
        127,
        480,
        1080,
        "2026-12-24",
        None,
    )


def test_twins_are_found_within_a_batch_and_across_batches():
    def row(prefix: str, weekdays: int = 127) -> tuple:
        return (prefix, "", "0:1:1:60", 0, 0, weekdays, *(None,) * 6, 0)

    def found(*batches: list[tuple]) -> bool:
        twins = rate_rows.Twins()
        for batch in batches:
            twins.check(batch)
        return twins.found

    assert not found([row("1"), row("2", 1), row("2", 2)], [row("2", 3), row("3")])
    assert found([row("1"), row("2", 1), row("2")], [row("2", 1), row("3")])  # across the batches
    assert found([("1", "", "0:1:1:60", 0, 0), row("1", 127)])  # a whole row the same as a short one
    assert found([row("1")], [row("2")], [row("2")])
    assert not found([row("1")], [row("2")], [row("3")])


def test_repeats_names_the_prefixes_of_more_than_one_run():
    def named(*runs: list[str]) -> set[str]:
        repeats = rate_rows.Repeats()
        for run in runs:
            repeats.check([(prefix, "d") for prefix in run])
        return repeats.prefixes

    assert named(["1", "1", "2"], ["3", "4"]) == set()  # twice in a run: Twins' to check
    assert named(["1", "2"], ["2", "3"], ["1", "5"]) == {"1", "2"}
    # 10,000 prefixes: a false positive, which str's per-process hash makes random, has odds of 3e-5 (100,000: 3 %)
    many = [str(n) for n in range(10_000)]
    assert named(many[::2], many[1::2]) == set()  # no prefix named that no earlier run had (here: none at all)


# -- the property: whatever is written in the common columns, both paths agree ------------------------

SPACE = st.sampled_from(["", " ", "  ", "\xa0"])
DIGITS = st.text(st.sampled_from("0123456789"), min_size=0, max_size=14)
ODD = st.sampled_from(["", ".", "+", "-", "e", ",", "/", " ", "٤", "x", "'"])


def padded(core: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    return st.tuples(SPACE, core, SPACE).map("".join)


amounts = padded(
    st.one_of(
        st.tuples(DIGITS, st.sampled_from([".", ""]), st.text(st.sampled_from("0123456789"), max_size=8)).map("".join),
        st.tuples(ODD, DIGITS, ODD, DIGITS).map("".join),
    )
)
increments = padded(
    st.one_of(
        st.sampled_from(["", "60/6", "30/6", "1/1", "60", "1/60", "0/1", "6/0"]),
        st.tuples(DIGITS, st.sampled_from(["/", "", "-"]), DIGITS).map("".join),
    )
)
prefixes = padded(st.one_of(DIGITS, st.tuples(ODD, DIGITS).map("".join), st.just("9" * 33)))
texts = st.text(st.characters(blacklist_categories=("Cc", "Cs")), max_size=110)
SHAPES = [
    COMMON,
    ["prefix", "price"],
    ["destination", "prefix", "price", "connect_fee", "grace", "weekdays"],
    ["prefix", "destination", "price", "increments", "time_from", "time_to"],
]


@st.composite
def lines(draw) -> tuple[list[str], list[str]]:
    columns = draw(st.sampled_from(SHAPES))
    value = {
        "prefix": prefixes,
        "destination": texts,
        "price": amounts,
        "increments": increments,
        "connect_fee": st.one_of(st.just(""), amounts),
        "grace": padded(st.one_of(DIGITS, st.tuples(ODD, DIGITS).map("".join))),
        "weekdays": st.sampled_from(["", "", " ", "mon-fri", "mon-sun", "moon"]),
        "time_from": st.sampled_from(["", "", "08:00", "25:00"]),
        "time_to": st.sampled_from(["", "", "18:00"]),
    }
    fields = [draw(value[name]) for name in columns]
    more = draw(st.sampled_from([0, 0, 0, 1, -1]))
    if more > 0:
        fields.append(draw(st.sampled_from(["", " ", "x"])))
    elif more < 0:
        fields.pop()
    return columns, fields


@settings(max_examples=1500)
@given(lines())
@example((COMMON, ["44", "UK", "0.10", "60/6"]))
def test_the_fast_path_gives_the_general_paths_rows_and_errors(line):
    assert_same(*line)
