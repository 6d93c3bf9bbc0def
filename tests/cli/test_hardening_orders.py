"""Issue 10, item 14: an order number recharges an account once; a repeat is refused with the date of the first,
unless --allow-duplicate-order. Checked under the account's row lock, so two at once cannot both pass."""

from __future__ import annotations

import re
import threading

import pytest
from sqlalchemy import select

from asteriskbill.errors import UserError
from asteriskbill.money import MICRO
from asteriskbill.services import accounts
from asteriskbill.store.models import LedgerEntry

REFUSED = r"order INV-77 was already recharged on \d{4}-\d\d-\d\d \d\d:\d\d UTC \(ledger entry (\d+)\); " + (
    "--allow-duplicate-order to recharge again"
)


@pytest.fixture
def shop(cli, tmp_path):
    cli("tariff", "create", "t1", "--currency", "USD")
    cli("accounts", "create", "extension", "a1", "--tariff", "t1", "--extension", "100")
    cli("accounts", "create", "extension", "a2", "--tariff", "t1", "--extension", "101")
    cli("cards", "generate", "--count", "1", "--value", "1", "--tariff", "t1", "-o", tmp_path / "c.csv")
    cli.card = (tmp_path / "c.csv").read_text().splitlines()[1].split(",")[0]
    return cli


def recharges(engine, reference: str) -> list[tuple[int, int]]:
    with engine.connect() as conn:
        return [
            tuple(row)
            for row in conn.execute(
                select(LedgerEntry.id, LedgerEntry.amount)
                .where(LedgerEntry.reference == reference, LedgerEntry.kind == "recharge")
                .order_by(LedgerEntry.id)
            )
        ]


@pytest.mark.parametrize("command", ["cards", "accounts"])
def test_a_repeated_order_is_refused_with_the_first(shop, engine, snapshot, command):
    target = shop.card if command == "cards" else "a1"
    shop(command, "recharge", target, "3", "--order", "INV-77")
    ((first, _),) = recharges(engine, "INV-77")
    before = snapshot()
    result = shop(command, "recharge", target, "3", "--order", "INV-77", ok=False)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert re.search(REFUSED, lines[0]).group(1) == str(first), lines[0]
    assert snapshot() == before
    shop(command, "recharge", target, "3", "--order", "INV-77", "--allow-duplicate-order")
    assert [amount for _, amount in recharges(engine, "INV-77")] == [3 * MICRO, 3 * MICRO]


def test_an_order_number_is_unique_per_account_only(shop, engine):
    shop("accounts", "recharge", "a1", "3", "--order", "INV-77")
    shop("accounts", "recharge", "a2", "3", "--order", "INV-77")
    shop("cards", "recharge", shop.card, "3", "--order", "INV-77")
    shop("accounts", "recharge", "a1", "3", "--order", "INV-78")
    shop("accounts", "recharge", "a1", "3")  # no order: nothing to compare
    shop("accounts", "recharge", "a1", "3")
    assert len(recharges(engine, "INV-77")) == 3


def test_a_card_recharged_by_its_account_name_shares_its_orders(shop):
    """A card's account is named by its number: the two commands must see each other's orders."""
    shop("cards", "recharge", shop.card, "3", "--order", "INV-77")
    shop("accounts", "recharge", shop.card, "3", "--order", "INV-77", ok=False)


def test_simultaneous_recharges_with_one_order_pass_once(shop, engine):
    """Eight threads, released together, each recharging a1 with the same order: one passes."""
    workers = 8
    start = threading.Barrier(workers)
    outcomes: list[str] = []

    def recharge() -> None:
        start.wait()
        try:
            accounts.post(engine, "op", "a1", "recharge", MICRO, reference="INV-77")
            outcomes.append("ok")
        except UserError as exc:
            outcomes.append(str(exc))

    threads = [threading.Thread(target=recharge) for _ in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert outcomes.count("ok") == 1, outcomes
    assert all("was already recharged" in o for o in outcomes if o != "ok"), outcomes
    assert len(recharges(engine, "INV-77")) == 1
