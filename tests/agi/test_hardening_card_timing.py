"""Issue 10 item 9: an unknown card number costs the same work as a known card with a wrong PIN, so the time of the
answer does not tell a guesser which numbers exist. No timing is measured (that would be a flaky test): the
work that made the difference is counted instead: the keyed PIN hash, and a transaction that writes and so
commits to disk (SQLite FULL: an fsync, ~4 ms here, against ~0.2 ms for a read-only answer)."""

from __future__ import annotations

import hashlib

import pytest
from sqlalchemy import event

from asteriskbill.billing import cards as card_rules
from asteriskbill.billing.authorize import BillStatus
from asteriskbill.billing.cards import luhn_check_digit
from asteriskbill.services import calls
from tests.helpers.world import make_world

PIN_HASH = card_rules.pin_hash


@pytest.fixture
def world(cli, tmp_path):
    return make_world(cli, tmp_path)


def unknown_number(card: str) -> str:
    """A number with a valid check digit that no card has."""
    payload = card[:-2] + str((int(card[-2]) + 1) % 10)
    return payload + luhn_check_digit(payload)


def work(engine, monkeypatch, settings, number: str, pin: str) -> tuple[BillStatus, list, int]:
    """(status, the PIN hashes computed as (key fingerprint, length hashed), statements that wrote) for one login."""
    hashed: list = []
    writes: list[str] = []

    def counting(secret: bytes, number: str, pin: str) -> str:
        hashed.append((hashlib.sha256(secret).hexdigest()[:8], len(f"{number}:{pin}")))
        return PIN_HASH(secret, number, pin)

    def statement(conn, cursor, sql: str, *args) -> None:
        if sql.lstrip().upper().startswith(("INSERT", "UPDATE", "DELETE")):
            writes.append(sql)

    monkeypatch.setattr(card_rules, "pin_hash", counting)
    event.listen(engine, "before_cursor_execute", statement)
    try:
        login = calls.card_login(engine, settings, number, pin)
    finally:
        event.remove(engine, "before_cursor_execute", statement)
    return login.status, hashed, len(writes)


def test_an_unknown_card_does_the_work_of_a_wrong_pin(engine, world, monkeypatch):
    wrong_pin = "0000" if world.pin != "0000" else "1111"
    unknown = work(engine, monkeypatch, world.settings, unknown_number(world.card), wrong_pin)
    known = work(engine, monkeypatch, world.settings, world.card, wrong_pin)
    assert (unknown[0], known[0]) == (BillStatus.UNKNOWN_CARD, BillStatus.WRONG_PIN)
    assert unknown[1] == known[1] and len(known[1]) == 1  # one HMAC, same key, same length of input
    assert unknown[2] >= 1 and known[2] >= 1  # both answers commit a write (the attempt is audited)


def test_a_locked_card_does_the_same_hash_work(cli, engine, world, monkeypatch):
    """A locked card sounds like a wrong PIN to the caller: it must not answer faster either."""
    wrong_pin = "0000" if world.pin != "0000" else "1111"
    for _ in range(world.settings.pin_max_failures):
        calls.card_login(engine, world.settings, world.card, wrong_pin)
    locked = work(engine, monkeypatch, world.settings, world.card, wrong_pin)
    unknown = work(engine, monkeypatch, world.settings, unknown_number(world.card), wrong_pin)
    assert locked[0] is BillStatus.LOCKED
    assert locked[1] == unknown[1] and len(locked[1]) == 1
    assert locked[2] >= 1 and unknown[2] >= 1
