"""Settlements in groups (lifecycle.settle_many, serve's writer runs them) on real SQLite and PostgreSQL: a group
writes exactly what its calls settled one by one (settle_in) write, a session repeated in a group is charged once,
and a call that cannot be settled leaves the others settled.

The seed: tariff `retail` in USD with buy prices in EUR (converted: EUR USD 1.10), in USD, and in GBP (no rate:
kept in GBP); company acme with extensions e1, e2, e3, 100.00 each.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from asteriskbill.billing.settle import CallResult
from asteriskbill.services import ledger, lifecycle
from asteriskbill.settings import load
from asteriskbill.store.models import Account, Cdr, LedgerEntry, Reservation
from asteriskbill.store.types import utcnow
from asteriskbill.store.writer import Writer

RATES = """prefix,destination,price,increments,buy_price,buy_currency
1,USA,0.10,1/1,0.05,EUR
44,UK,0.60,60/6,0.20,
33,France,0.30,30/6,0.10,GBP
"""
USA, UK, FRANCE = "0015551234", "00442071234567", "0033142685300"
T = utcnow().replace(microsecond=0)


@pytest.fixture
def accounts(cli, tmp_path, engine) -> dict[str, int]:
    cli("tariff", "create", "retail", "--currency", "USD")
    (tmp_path / "rates.csv").write_text(RATES)
    cli("rates", "import", "retail", tmp_path / "rates.csv")
    cli("routes", "add", "", "PJSIP/${NUMBER}@carrier")
    cli("currency", "set-rate", "EUR", "USD", "1.10", "--date", "2020-01-01")
    cli("accounts", "create", "company", "acme", "--tariff", "retail", "--currency", "USD")
    for n, name in enumerate(("e1", "e2", "e3")):
        cli("accounts", "create", "extension", name, "--parent", "acme", "--extension", str(201 + n))
        cli("accounts", "recharge", name, "100")
    with engine.begin() as conn:
        return dict(conn.execute(select(Account.name, Account.id).where(Account.kind == "extension")).all())


def authorized(engine, cli, account_id: int, number: str) -> str:
    granted = lifecycle.authorize(engine, load(db=cli.db), account_id, number, now=T, slice_seconds=300)
    assert granted.session, granted.reason
    return granted.session


def talked(session: str, seconds: float, outcome: str = "ANSWER", **more) -> CallResult:
    return CallResult(
        session,
        outcome,
        int(seconds * 1000),
        started_at=T,
        answered_at=T + timedelta(seconds=5),
        ended_at=T + timedelta(seconds=5 + seconds),
        uniqueid=f"u-{session[:8]}",
        **more,
    )


def written(conn) -> dict[str, list[tuple]]:
    """What settling wrote, without row ids and clock times (a savepoint rolled back keeps its ids used)."""
    cdrs = select(*(c for c in Cdr.__table__.columns if c.name not in ("id", "created_at"))).order_by(Cdr.id)
    entries = select(*(c for c in LedgerEntry.__table__.columns if c.name not in ("id", "created_at"))).order_by(
        LedgerEntry.id
    )
    reservations = select(Reservation.session, Reservation.status, Reservation.closed_at.is_(None)).order_by(
        Reservation.id
    )
    return {
        "cdrs": [tuple(row) for row in conn.execute(cdrs)],
        "ledger": [tuple(row) for row in conn.execute(entries)],
        "balances": [tuple(row) for row in conn.execute(select(Account.id, Account.balance).order_by(Account.id))],
        "reservations": [tuple(row) for row in conn.execute(reservations)],
    }


def test_a_group_writes_what_its_calls_settled_one_by_one_write(engine, cli, accounts):
    e1, e2, e3 = accounts["e1"], accounts["e2"], accounts["e3"]
    calls = {
        "e1 usa": authorized(engine, cli, e1, USA),
        "e1 uk": authorized(engine, cli, e1, UK),
        "e1 france": authorized(engine, cli, e1, FRANCE),
        "e2 uk": authorized(engine, cli, e2, UK),
        "e2 busy": authorized(engine, cli, e2, USA),
        "e3 usa": authorized(engine, cli, e3, USA),
        "e3 flagged": authorized(engine, cli, e3, UK),
        "e3 released": authorized(engine, cli, e3, USA),
        "e2 settled before": authorized(engine, cli, e2, FRANCE),
    }
    assert lifecycle.flag(engine, calls["e3 flagged"], "gone")
    assert lifecycle.release(engine, calls["e3 released"], "caller left")
    assert lifecycle.settle(engine, talked(calls["e2 settled before"], 42)).new
    results = [
        talked(calls["e1 usa"], 61.2),
        talked(calls["e2 uk"], 75),
        talked(calls["e1 uk"], 3),
        talked(calls["e2 busy"], 0, "BUSY", hangup_cause="17"),
        talked(calls["e1 usa"], 61.2),  # the same call reported twice
        talked(calls["e1 france"], 100, server="pbx-2", linkedid="l-1", callerid="201"),
        talked(calls["e3 usa"], 9.001),
        talked(calls["e3 flagged"], 30),
        talked(calls["e3 released"], 30),
        talked(calls["e2 settled before"], 42),
        talked("no-such-session", 10),
    ]
    with engine.begin() as conn:
        one_by_one = conn.begin_nested()
        expected = [lifecycle.settle_in(conn, result) for result in results]
        expected_rows = written(conn)
        one_by_one.rollback()
        assert lifecycle.settle_many(conn, results) == expected
        assert written(conn) == expected_rows
    news = [done.new for done in expected if done is not None]
    assert news == [True, True, True, True, False, True, True, True, False, False]
    assert expected[-1] is None
    assert ledger.check(engine)[1] == []
    with engine.begin() as conn:
        cdrs = conn.execute(select(Cdr.session, Cdr.buy_cost, Cdr.buy_currency)).all()
    bought = {session: (cost, currency) for session, cost, currency in cdrs}
    assert bought[calls["e1 usa"]] == (56_834, None)  # 62 s at 0.05 EUR/min, 1.10 USD each
    assert bought[calls["e1 france"]] == (170_000, "GBP")  # 30 + 12 x 6 s billed at 0.10 GBP/min: no GBP rate


def test_a_call_repeated_in_a_group_is_charged_once(engine, cli, accounts):
    session = authorized(engine, cli, accounts["e1"], UK)
    with engine.begin() as conn:
        first, again = lifecycle.settle_many(conn, [talked(session, 61), talked(session, 61)])
    assert (first.new, first.cost, first.billed_seconds) == (True, 660_000, 61)
    assert (again.new, again.cost, again.billed_seconds, again.outcome) == (False, 660_000, 61, "ANSWER")
    with engine.begin() as conn:
        assert conn.execute(select(LedgerEntry.amount).where(LedgerEntry.kind == "call")).scalars().all() == [-660_000]
        assert conn.execute(select(Cdr.session)).scalars().all() == [session]


def test_calls_that_cannot_be_settled_leave_the_others_settled(engine, cli, accounts):
    settled_before = authorized(engine, cli, accounts["e1"], USA)
    lifecycle.settle(engine, talked(settled_before, 60))
    first, second = authorized(engine, cli, accounts["e1"], USA), authorized(engine, cli, accounts["e2"], USA)
    with engine.begin() as conn:
        answers = lifecycle.settle_many(
            conn, [talked(first, 60), talked("no-such-session", 60), talked(settled_before, 90), talked(second, 120)]
        )
    assert [(a.session, a.new, a.cost) if a else None for a in answers] == [
        (first, True, 100_000),
        None,
        (settled_before, False, 100_000),  # what was recorded, not the repeat's 90 s
        (second, True, 200_000),
    ]
    with engine.begin() as conn:
        balances = dict(conn.execute(select(Account.name, Account.balance).where(Account.kind == "extension")).all())
    assert balances == {"e1": 100_000_000 - 200_000, "e2": 100_000_000 - 200_000, "e3": 100_000_000}


def test_through_the_writer_a_failing_settlement_fails_alone(engine, cli, accounts):
    """A result the CDR table refuses (no hangup cause at all) fails the group's statement; the writer then settles
    each alone: that one gets its error, the others are committed."""
    sessions = [authorized(engine, cli, accounts[name], USA) for name in ("e1", "e2", "e1")]
    writer = Writer(engine)
    try:
        futures = [
            writer.submit_many(lifecycle.settle_many, talked(sessions[0], 6)),
            writer.submit_many(lifecycle.settle_many, talked(sessions[1], 6, hangup_cause=None)),
            writer.submit_many(lifecycle.settle_many, talked(sessions[2], 12)),
        ]
        good, bad, other = (future.exception(timeout=60) or future.result() for future in futures)
    finally:
        writer.close()
    assert isinstance(bad, Exception)
    assert (good.new, good.cost, other.new, other.cost) == (True, 10_000, True, 20_000)
    with engine.begin() as conn:
        status = dict(conn.execute(select(Reservation.session, Reservation.status)).all())
    assert [status[s] for s in sessions] == ["settled", "open", "settled"]
    lifecycle.release(engine, sessions[1], "test over")


def test_times_are_stored_as_core_stores_them(engine, cli, accounts):
    """Settling writes on the driver's cursor: its times must be the text (SQLite) or the instant (PostgreSQL) Core
    writes, or comparing them with the times Core wrote (a day's CDRs, overdue calls) goes wrong."""
    session = authorized(engine, cli, accounts["e1"], USA)
    lifecycle.settle(engine, talked(session, 6))
    with engine.begin() as conn:
        cdr = conn.execute(select(Cdr.started_at, Cdr.answered_at, Cdr.ended_at)).one()
        at_start = conn.execute(select(Cdr.id).where(Cdr.started_at == T, Cdr.ended_at > T)).scalar()
        closed = conn.execute(select(Reservation.closed_at).where(Reservation.session == session)).scalar_one()
        if engine.dialect.name == "sqlite":
            stored = conn.exec_driver_sql("SELECT started_at, closed_at FROM cdrs, reservations").one()
            core = conn.exec_driver_sql("SELECT created_at FROM reservations").scalar_one()
            assert [len(text) for text in stored] == [len(core)] * 2 and "+" not in "".join(stored)
    assert cdr == (T, T + timedelta(seconds=5), T + timedelta(seconds=11))
    assert at_start is not None and utcnow() - timedelta(minutes=5) < closed <= utcnow()
