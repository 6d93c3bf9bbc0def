"""Card numbers (Luhn), PINs and their keyed hash, and the card status decision."""

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from asteriskbill.billing import cards
from asteriskbill.billing.cards import (
    ACTIVE,
    DELETED,
    DISABLED,
    EXPIRED,
    FIRST_USE,
    MANUAL,
    NEW,
    NOW,
    CardError,
    CardState,
)

T0 = datetime(2026, 6, 1, 12, tzinfo=UTC)


@pytest.mark.parametrize("number", ["79927398713", "4111111111111111", "5500005555555559", "18"])
def test_luhn_accepts_known_numbers(number):
    assert cards.luhn_valid(number)
    assert cards.luhn_check_digit(number[:-1]) == number[-1]


@pytest.mark.parametrize("number", ["79927398710", "4111111111111112", "1", "", "7992739871x"])
def test_luhn_refuses(number):
    assert not cards.luhn_valid(number)


@given(st.text("0123456789", min_size=1, max_size=18), st.data())
def test_luhn_catches_every_single_digit_mistake(payload, data):
    number = payload + cards.luhn_check_digit(payload)
    position = data.draw(st.integers(0, len(number) - 1))
    wrong = data.draw(st.sampled_from([d for d in "0123456789" if d != number[position]]))
    assert cards.luhn_valid(number)
    assert not cards.luhn_valid(number[:position] + wrong + number[position + 1 :])


def test_parse_number_refuses_mistyped_before_lookup():
    assert cards.parse_number("7992 7398-713") == "79927398713"
    with pytest.raises(CardError, match="fails its check digit"):
        cards.parse_number("79927398714")
    with pytest.raises(CardError, match="must be digits"):
        cards.parse_number("7992x398713")


def test_new_numbers_and_pins():
    numbers = {cards.new_number(12) for _ in range(2000)}
    assert len(numbers) == 2000  # 9 * 10**10 possible numbers: a repeat here would mean a broken generator
    assert all(len(n) == 12 and n[0] != "0" and cards.luhn_valid(n) for n in numbers)
    pins = [cards.new_pin(6) for _ in range(2000)]
    assert all(len(p) == 6 and p.isdigit() for p in pins)
    assert any(p.startswith("0") for p in pins)  # leading zeros are PINs too (1 in 10)


def test_sizes_refused():
    cards.check_sizes(12, 6, 1000)
    with pytest.raises(CardError, match="8 to 19 digits"):
        cards.check_sizes(7, 6, 1)
    with pytest.raises(CardError, match="4 to 12 digits"):
        cards.check_sizes(12, 3, 1)
    assert cards.number_space(8) == 9_000_000
    cards.check_sizes(8, 4, 9_000)
    with pytest.raises(CardError, match="easy to guess"):
        cards.check_sizes(8, 4, 9_001)


def test_pin_hash_is_keyed_bound_to_the_number_and_verified():
    secret = b"s" * 32
    digest = cards.pin_hash(secret, "79927398713", "123456")
    assert len(digest) == 64 and "123456" not in digest
    assert cards.verify_pin(secret, "79927398713", "123456", digest)
    assert not cards.verify_pin(secret, "79927398713", "123457", digest)
    assert not cards.verify_pin(b"t" * 32, "79927398713", "123456", digest)  # another installation
    assert cards.pin_hash(secret, "4111111111111111", "123456") != digest  # same PIN, other card


def state(status=ACTIVE, activation=NOW, valid_days=None, expires_at=None, activated_at=None):
    return CardState("79927398713", status, activation, valid_days, expires_at, activated_at)


@pytest.mark.parametrize(
    "card, status, usable, activates, reason",
    [
        (state(), ACTIVE, True, False, ""),
        (state(expires_at=T0 + timedelta(seconds=1)), ACTIVE, True, False, ""),
        (state(expires_at=T0), EXPIRED, False, False, "expired on 2026-06-01 12:00 UTC"),
        (state(NEW, FIRST_USE, valid_days=30), NEW, True, True, ""),
        (state(NEW, FIRST_USE, expires_at=T0 - timedelta(days=1)), EXPIRED, False, False, "expired on 2026-05-31"),
        (state(NEW, MANUAL), NEW, False, False, "is not activated yet"),
        (state(DISABLED), DISABLED, False, False, "is disabled"),
        (state(DISABLED, expires_at=T0 - timedelta(days=1)), DISABLED, False, False, "is disabled"),
        (state(DELETED), DELETED, False, False, "is deleted"),
    ],
)
def test_decide(card, status, usable, activates, reason):
    decision = cards.decide(card, T0)
    assert (decision.status, decision.usable, decision.activates) == (status, usable, activates)
    assert reason in decision.reason and bool(reason) == bool(decision.reason)


def test_activation_starts_the_validity():
    assert cards.activation(state(NEW, FIRST_USE, valid_days=183), T0) == (T0, T0 + timedelta(days=183))
    fixed = T0 + timedelta(days=10)
    assert cards.activation(state(NEW, MANUAL, expires_at=fixed), T0) == (T0, fixed)
    assert cards.activation(state(NEW, MANUAL), T0) == (T0, None)
    with pytest.raises(CardError, match="is active, not new"):
        cards.activation(state(), T0)
    with pytest.raises(CardError, match="expired"):
        cards.activation(state(NEW, MANUAL, expires_at=T0), T0)


def test_enable_disable_delete_rules():
    assert cards.disabling(state(NEW, MANUAL)) == DISABLED
    assert cards.disabling(state()) == DISABLED
    with pytest.raises(CardError, match="disabled already"):
        cards.disabling(state(DISABLED))
    assert cards.enabling(state(DISABLED, activated_at=T0)) == ACTIVE
    assert cards.enabling(state(DISABLED)) == NEW
    with pytest.raises(CardError, match="not disabled"):
        cards.enabling(state())
    cards.check_deletable(state(), None, 0)
    with pytest.raises(CardError, match="was used on 2026-06-01: disable it instead"):
        cards.check_deletable(state(), T0, 0)
    with pytest.raises(CardError, match="recharged or charged"):
        cards.check_deletable(state(), None, 1)
    with pytest.raises(CardError, match="deleted already"):
        cards.check_deletable(state(DELETED), None, 0)
