"""Bundles as operators write them, and which one a call draws on (billing/bundles.py)."""

import pytest

from asteriskbill.billing.bundles import Bundle, BundleError, Left, covering, parse


def test_parse_reads_minutes_prefixes_and_call_classes():
    assert parse("60min:44,49; 100min:local") == (Bundle(3600, ("44", "49")), Bundle(6000, (), ("local",)))
    assert parse("30MIN") == (Bundle(1800),)
    assert [b.text() for b in parse("60min:44,49;100min:local;5min")] == ["60min:44,49", "100min:local", "5min"]
    assert parse("5;2.5:44") == (Bundle(0, amount=5_000_000), Bundle(0, ("44",), amount=2_500_000))
    assert [b.text() for b in parse("5;2.5:44")] == ["5.00", "2.50:44"]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("60m:44", "write minutes or money and what they cover"),
        ("0min", "write minutes or money"),
        ("0.00", "write minutes or money"),
        ("60min:", "name prefixes or call classes"),
        ("60min:44,mobile", "'mobile' is neither a number prefix"),
        (";".join(["1min"] * 21), "at most 20 bundles"),
    ],
)
def test_parse_refuses_what_it_cannot_read(text, message):
    with pytest.raises(BundleError, match=message):
        parse(text)


def test_a_call_draws_on_the_most_precise_bundle_with_seconds_left():
    uk, uk_london, local, anything = parse("60min:44;10min:4420;100min:local;5min")
    bundles = [Left(1, uk, 3600), Left(2, uk_london, 600), Left(3, local, 6000), Left(4, anything, 300)]
    assert covering(bundles, "442071234567", "international").id == 2
    assert covering(bundles, "441611234567", "international").id == 1
    assert covering(bundles, "35929301234", "local").id == 3
    assert covering(bundles, "15551234567", "international").id == 4
    spent = [Left(2, uk_london, 0), Left(1, uk, 3600)]
    assert covering(spent, "442071234567", "international").id == 1
    assert covering([Left(1, uk, 3600)], "15551234567", "international") is None
