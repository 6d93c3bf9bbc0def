"""The console's search box (services/search.py) on every backend: an account by a part of its name, a card by its
number or the start of it, either by a caller ID, an extension or an accountcode; each hit says why it matched."""

from __future__ import annotations

import csv

import pytest
from sqlalchemy import update

from asteriskbill.billing.cards import luhn_check_digit
from asteriskbill.money import parse_amount as m
from asteriskbill.services import accounts, cards, search
from asteriskbill.store.models import Account, Card


def numbered(payload: str) -> str:
    return payload + luhn_check_digit(payload)


# the cards' numbers: "4199999999" is a prefix of the first two only (a prefix ending in 9s bounds at "42")
NUMBERS = [numbered("41999999999"), numbered("41999999998"), numbered("42000000000")]


@pytest.fixture
def world(cli, engine, tmp_path):
    """Company "Acme Trading" with extension acme-201 (extension 201, accountcode ACME-201), extension solo
    (extension 300), the three cards of NUMBERS (the first with caller ID 35988123456)."""
    cli("tariff", "create", "retail", "--currency", "USD")
    cli("accounts", "create", "company", "Acme Trading", "--tariff", "retail")
    new = accounts.NewAccount("extension", "acme-201", parent="Acme Trading", extension="201", accountcode="ACME-201")
    accounts.create(engine, "tester", new)
    accounts.create(engine, "tester", accounts.NewAccount("extension", "solo", tariff="retail", extension="300"))
    cli("cards", "generate", "--count", "3", "--value", "5", "--tariff", "retail", "-o", tmp_path / "cards.csv")
    generated = [row["number"] for row in csv.DictReader((tmp_path / "cards.csv").open())]
    with engine.begin() as conn:  # known numbers, so that prefixes are known too
        for old, new_number in zip(generated, NUMBERS, strict=True):
            conn.execute(update(Account).where(Account.name == old).values(name=new_number))
            conn.execute(update(Card).where(Card.number == old).values(number=new_number))
    cards.add_callerid(engine, "tester", NUMBERS[0], "35988123456")
    return cli


def hits(engine, text: str, limit: int = 20) -> list[tuple[str, str, str]]:
    return [(found.kind, found.key, found.why) for found in search.find(engine, text, limit)]


def test_an_account_by_a_part_of_its_name_in_any_case(world, engine):
    assert hits(engine, "acme") == [("account", "Acme Trading", "name"), ("account", "acme-201", "name")]
    assert hits(engine, "TRADING") == [("account", "Acme Trading", "name")]


def test_a_hit_says_what_the_operator_needs_to_see(world, engine):
    [company, extension] = search.find(engine, "acme")
    assert (company.label, company.status, company.balance, company.currency) == ("company", "active", 0, "USD")
    assert extension.label == "extension of Acme Trading"
    [card] = search.find(engine, NUMBERS[2])
    assert (card.kind, card.status, card.balance, card.currency) == ("card", "active", m("5"), "USD")
    assert card.label.startswith("card of batch ")


def test_a_card_by_its_number_or_the_start_of_it_never_as_an_account(world, engine):
    assert hits(engine, NUMBERS[0]) == [("card", NUMBERS[0], "number")]
    assert hits(engine, f" {NUMBERS[1][:4]} {NUMBERS[1][4:8]}-{NUMBERS[1][8:]} ") == [("card", NUMBERS[1], "number")]
    assert hits(engine, "4199999999") == [("card", NUMBERS[1], "number"), ("card", NUMBERS[0], "number")]
    assert hits(engine, "42") == [("card", NUMBERS[2], "number")]
    assert hits(engine, "4") == [("card", number, "number") for number in sorted(NUMBERS)]


def test_a_card_by_its_caller_id_or_the_start_of_it(world, engine):
    assert hits(engine, "35988123456") == [("card", NUMBERS[0], "callerid")]
    assert hits(engine, "+359881") == [("card", NUMBERS[0], "callerid")]


def test_an_account_by_its_extension_or_accountcode(world, engine):
    # 201 is in acme-201's name too: one hit, by the extension (exact, so first)
    assert hits(engine, "201") == [("account", "acme-201", "extension")]
    assert hits(engine, "300") == [("account", "solo", "extension")]
    assert hits(engine, "ACME-201") == [("account", "acme-201", "accountcode")]


def test_the_limit_and_what_finds_nothing(world, engine):
    assert hits(engine, "acme", limit=1) == [("account", "Acme Trading", "name")]
    assert len(hits(engine, "4", limit=2)) == 2
    assert hits(engine, "   ") == []
    assert hits(engine, "%") == []  # typed text, not a pattern
    assert hits(engine, "_") == []
    assert hits(engine, "5") == []
