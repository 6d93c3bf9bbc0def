"""The ledger on every backend: post, its refusals, bulk credits, `check`, concurrency, and random operations."""

from __future__ import annotations

import threading

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from sqlalchemy import select, update

from asteriskbill.billing.ledger import LedgerError
from asteriskbill.errors import UserError
from asteriskbill.money import MICRO
from asteriskbill.services import accounts, card_batches, cards, ledger, tariffs
from asteriskbill.services.accounts import NewAccount
from asteriskbill.store.models import Account, LedgerEntry

SECRET = b"k" * 32


def setup_accounts(engine, *names: str) -> dict[str, int]:
    tariffs.create_tariff(engine, "tester", "retail", "USD", 1, "UTC")
    return {name: accounts.create(engine, "op", NewAccount("extension", name, tariff="retail")).id for name in names}


def balances(engine) -> dict[str, int]:
    with engine.begin() as conn:
        return dict(conn.execute(select(Account.name, Account.balance)).all())


def test_post_moves_the_balance_and_writes_the_entry(engine):
    ids = setup_accounts(engine, "a")
    with engine.begin() as conn:
        first = ledger.post(conn, ids["a"], "recharge", 10 * MICRO, operator="op", reference="order-1")
        second = ledger.post(conn, ids["a"], "call", -3_250_000, operator="agi", reference="call-7")
    assert (first.balance_after, second.balance_after) == (10 * MICRO, 6_750_000)
    with engine.begin() as conn:
        history = ledger.entries(conn, ids["a"])
    assert [(e.kind, e.amount, e.balance_after, e.reference, e.operator) for e in history] == [
        ("call", -3_250_000, 6_750_000, "call-7", "agi"),
        ("recharge", 10 * MICRO, 10 * MICRO, "order-1", "op"),
    ]
    assert balances(engine) == {"a": 6_750_000}


def test_post_commits_with_its_cause_or_not_at_all(engine, snapshot):
    ids = setup_accounts(engine, "a")
    before = snapshot()
    with pytest.raises(RuntimeError), engine.begin() as conn:
        ledger.post(conn, ids["a"], "recharge", MICRO, operator="op")
        raise RuntimeError("the cause of the change failed")
    assert snapshot() == before


def test_refused_postings_change_nothing(engine, snapshot):
    ids = setup_accounts(engine, "a")
    accounts.change_status(engine, "op", "a", "close")
    before = snapshot()
    for kind, amount, message in [
        ("recharge", MICRO, "account a is closed"),
        ("recharge", -1, "more than 0"),
        ("adjustment", 0, "other than 0"),
    ]:
        with pytest.raises(LedgerError, match=message), engine.begin() as conn:
            ledger.post(conn, ids["a"], kind, amount, operator="op")
    with pytest.raises(LedgerError, match="no account with id 999"), engine.begin() as conn:
        ledger.post(conn, 999, "recharge", 1, operator="op")
    assert snapshot() == before
    with engine.begin() as conn:  # a call that happened is charged even on a closed account
        assert ledger.post(conn, ids["a"], "call", -5, operator="ari").balance_after == -5


def test_credit_new_accounts_only_credits_fresh_accounts(engine, snapshot):
    ids = setup_accounts(engine, "a", "b")
    everyone = select(Account.id)
    with engine.begin() as conn:
        assert (
            ledger.credit_new_accounts(conn, everyone, "face_value", 5 * MICRO, operator="op", reference="batch-1") == 2
        )
    assert balances(engine) == {"a": 5 * MICRO, "b": 5 * MICRO}
    with engine.begin() as conn:
        assert [(e.kind, e.amount, e.balance_after, e.reference) for e in ledger.entries(conn, ids["b"])] == [
            ("face_value", 5 * MICRO, 5 * MICRO, "batch-1")
        ]
    with engine.begin() as conn:  # back to 0 but with entries: not a new account any more
        ledger.post(conn, ids["a"], "adjustment", -5 * MICRO, operator="op")
    before = snapshot()
    with pytest.raises(ValueError, match="zero balance and no ledger entries"), engine.begin() as conn:
        ledger.credit_new_accounts(
            conn, select(Account.id).where(Account.id == ids["a"]), "face_value", MICRO, operator="op"
        )
    with pytest.raises(LedgerError, match="must be more than 0"), engine.begin() as conn:
        ledger.credit_new_accounts(conn, everyone, "face_value", 0, operator="op")
    assert snapshot() == before
    assert ledger.check(engine) == (2, [])


@pytest.mark.breaks_ledger
def test_check_names_each_difference(engine):
    ids = setup_accounts(engine, "a", "b", "c")
    with engine.begin() as conn:
        for name in ("a", "b", "c"):
            ledger.post(conn, ids[name], "recharge", 2 * MICRO, operator="op")
            ledger.post(conn, ids[name], "recharge", 3 * MICRO, operator="op")
        conn.execute(update(Account).where(Account.name == "a").values(balance=4 * MICRO))
        first_of_b = (
            conn.execute(select(LedgerEntry.id).where(LedgerEntry.account_id == ids["b"]).order_by(LedgerEntry.id))
            .scalars()
            .first()
        )
        conn.execute(update(LedgerEntry).where(LedgerEntry.id == first_of_b).values(balance_after=1))
    checked, differences = ledger.check(engine)
    assert checked == 3
    assert [(d.account, d.problem) for d in differences] == [
        ("a", "balance 4.00 USD but ledger entries sum to 5.00 USD (difference -1.00)"),
        ("b", f"ledger entry {first_of_b}: balance after 0.000001 USD is not 0.00 + 2.00"),
        ("b", f"ledger entry {first_of_b + 1}: balance after 5.00 USD is not 0.000001 + 3.00"),
    ]


def test_concurrent_recharges_lose_nothing(engine):
    setup_accounts(engine, "a")
    errors: list[BaseException] = []

    def recharge_many():
        try:
            for _ in range(15):
                accounts.post(engine, "op", "a", "recharge", MICRO)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=recharge_many) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert balances(engine) == {"a": 60 * MICRO}
    assert ledger.check(engine) == (1, [])


# -- random sequences of operations -----------------------------------------------------------------------

amounts = st.integers(1, 50 * MICRO)
operations = st.lists(
    st.one_of(
        st.tuples(st.just("create"), st.sampled_from(["extension", "company", "gateway"]), st.booleans()),
        st.tuples(st.sampled_from(["recharge", "refund"]), st.integers(0, 9), amounts),
        st.tuples(st.just("adjustment"), st.integers(0, 9), st.integers(-50 * MICRO, 50 * MICRO)),
        st.tuples(st.just("call"), st.integers(0, 9), st.integers(-50 * MICRO, 0)),
        st.tuples(st.sampled_from(["freeze", "unfreeze", "close"]), st.integers(0, 9), st.none()),
        st.tuples(st.just("generate"), st.integers(1, 4), amounts),
        st.tuples(st.sampled_from(["card recharge", "card delete"]), st.integers(0, 9), amounts),
    ),
    min_size=1,
    max_size=12,
)


class Model:
    """What the balances must be, from the operations that succeeded."""

    def __init__(self, engine):
        self.engine = engine
        self.balances = balances(engine)
        self.serial = len(self.balances)

    def names(self, kind_is_card: bool) -> list[str]:
        with self.engine.begin() as conn:
            return sorted(conn.execute(select(Account.name).where((Account.kind == "card") == kind_is_card)).scalars())

    def company(self) -> str | None:
        with self.engine.begin() as conn:
            return conn.execute(select(Account.name).where(Account.kind == "company").order_by(Account.id)).scalar()

    def pick(self, index: int, card: bool = False) -> str | None:
        names = self.names(card)
        return names[index % len(names)] if names else None

    def apply(self, op: str, arg, amount) -> None:
        if op == "create":
            self.serial += 1
            parent = self.company() if arg != "company" and amount else None
            made = accounts.create(
                self.engine,
                "op",
                NewAccount(arg, f"{arg}{self.serial}", parent=parent, tariff="retail", credit_limit=MICRO),
            )
            self.balances[made.name] = 0
        elif op in ("recharge", "refund", "adjustment", "call"):
            name = self.pick(arg)
            if name:
                accounts.post(self.engine, "op", name, op, amount, reference="r")
                self.balances[name] += amount
        elif op in ("freeze", "unfreeze", "close"):
            if name := self.pick(arg):
                accounts.change_status(self.engine, "op", name, op)
        elif op == "generate":
            _, made = card_batches.generate(self.engine, SECRET, "op", card_batches.BatchSpec(arg, amount, "retail"))
            self.balances.update({card.number: amount for card in made})
        elif op == "card recharge" and (number := self.pick(arg, card=True)):
            cards.recharge(self.engine, "op", number, amount)
            self.balances[number] += amount
        elif op == "card delete" and (number := self.pick(arg, card=True)):
            cards.delete(self.engine, "op", [number])
            self.balances[number] = 0


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(operations)
def test_ledger_invariant_after_random_operations(engine, snapshot, ops):
    if not tariffs.list_tariffs(engine):  # the first example on this database
        tariffs.create_tariff(engine, "tester", "retail", "USD", 1, "UTC")
    model = Model(engine)
    for op, arg, amount in ops:
        before = snapshot()
        try:
            model.apply(op, arg, amount)
            event(f"{op}: done")
        except UserError:
            event(f"{op}: refused")
            assert snapshot() == before, f"refused {op} changed the database"
    assert balances(engine) == model.balances
    assert ledger.check(engine)[1] == []
