"""The rates a number can be priced by: one query, shadowed prefixes left out, the same prices."""

from datetime import UTC, datetime, time, timedelta

from sqlalchemy import insert

from asteriskbill.money import parse_amount as m
from asteriskbill.rating.engine import cost
from asteriskbill.rating.model import Rate, Tariff, groups_from_increments
from asteriskbill.store.models import RateRevision, RateRow
from asteriskbill.store.models import Tariff as TariffRow
from asteriskbill.store.tariffs import rate_values, rates_for_number

TARIFF = Tariff("retail", "USD")
RATES = [
    Rate("4", groups_from_increments(m("0.90"))),  # shadowed by 44
    Rate("4420", groups_from_increments(m("0.30")), weekdays=frozenset({5})),
    Rate("44", groups_from_increments(m("0.10"), 60, 6)),  # valid at every moment
    Rate("442", groups_from_increments(m("0.20")), time_from=time(8), time_to=time(18)),
    Rate("44", groups_from_increments(m("0.05")), time_from=time(20), time_to=time(22)),
    Rate("5", groups_from_increments(m("0.50"))),  # not a prefix of the number
]


def store(engine) -> int:
    with engine.begin() as conn:
        tid = conn.execute(
            insert(TariffRow).values(name="retail", currency="USD", rounding=1, timezone="UTC").returning(TariffRow.id)
        ).scalar_one()
        conn.execute(insert(RateRevision).values(tariff_id=tid, revision=0))  # in effect, as tariff create does
        conn.execute(insert(RateRow), [{"tariff_id": tid, **rate_values(r)} for r in RATES])
    return tid


def test_shadowed_prefixes_are_left_out_and_id_order_is_kept(engine):
    tid = store(engine)
    with engine.begin() as conn:
        every = rates_for_number(conn, tid, "442071234", shadowed=True)
        usable = rates_for_number(conn, tid, "442071234")
        assert rates_for_number(conn, tid, "99") == []
        assert rates_for_number(conn, tid, "4") == [RATES[0]]
    assert every == RATES[:5]
    assert usable == RATES[1:5]


def test_the_usable_rates_price_every_call_like_all_of_them(engine):
    tid = store(engine)
    with engine.begin() as conn:
        every = rates_for_number(conn, tid, "442071234", shadowed=True)
        usable = rates_for_number(conn, tid, "442071234")
    monday = datetime(2026, 1, 5, tzinfo=UTC)
    for hours in range(0, 24 * 7, 5):
        start = monday + timedelta(hours=hours, minutes=59)
        for seconds in (1, 61, 3 * 3600):
            assert cost(TARIFF, usable, "442071234", start, seconds) == cost(TARIFF, every, "442071234", start, seconds)
