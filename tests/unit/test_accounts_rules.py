"""Account standing (a company stops its children), status changes, and which postings the ledger refuses."""

import pytest

from asteriskbill.billing import accounts, ledger
from asteriskbill.billing.accounts import ACTIVE, CLOSED, FROZEN, AccountError, AccountState
from asteriskbill.billing.ledger import LedgerError


def account(status=ACTIVE, tariff_id=None, kind="extension", name="acme-1", currency="USD"):
    return AccountState(name, kind, status, tariff_id, currency)


def company(status=ACTIVE, tariff_id=1, currency="USD"):
    return AccountState("acme", "company", status, tariff_id, currency)


@pytest.mark.parametrize(
    "own, parent, status, reason",
    [
        (ACTIVE, None, ACTIVE, ""),
        (FROZEN, None, FROZEN, "extension acme-1 is frozen"),
        (ACTIVE, ACTIVE, ACTIVE, ""),
        (ACTIVE, FROZEN, FROZEN, "company acme is frozen"),
        (ACTIVE, CLOSED, CLOSED, "company acme is closed"),
        (FROZEN, ACTIVE, FROZEN, "extension acme-1 is frozen"),
        (CLOSED, FROZEN, CLOSED, "extension acme-1 is closed"),
    ],
)
def test_standing_is_the_worse_status(own, parent, status, reason):
    result = accounts.standing(account(own), company(parent) if parent else None)
    assert (result.status, result.reason, result.usable) == (status, reason, status == ACTIVE)


def test_standing_tariff_own_else_company():
    assert accounts.standing(account(tariff_id=7), company(tariff_id=1)).tariff_id == 7
    assert accounts.standing(account(), company(tariff_id=1)).tariff_id == 1
    assert accounts.standing(account()).tariff_id is None


def test_next_status():
    assert accounts.next_status(account(), "freeze") == FROZEN
    assert accounts.next_status(account(FROZEN), "unfreeze") == ACTIVE
    assert accounts.next_status(account(FROZEN), "close") == CLOSED
    for status, action in [(FROZEN, "freeze"), (ACTIVE, "unfreeze"), (CLOSED, "unfreeze"), (CLOSED, "close")]:
        with pytest.raises(AccountError, match=f"cannot {action} extension acme-1: it is {status}"):
            accounts.next_status(account(status), action)


def test_parent_and_currency_rules():
    accounts.check_parent("extension", company())
    accounts.check_parent("gateway", None)
    with pytest.raises(AccountError, match="a company account cannot belong"):
        accounts.check_parent("company", company())
    with pytest.raises(AccountError, match=r"acme-1 is not a company \(extension account\)"):
        accounts.check_parent("extension", account())
    with pytest.raises(AccountError, match="company acme is closed"):
        accounts.check_parent("extension", company(CLOSED))
    accounts.check_currencies("x", "USD", company(), ("retail", "USD"))
    with pytest.raises(AccountError, match="x is in EUR but company acme is in USD"):
        accounts.check_currencies("x", "EUR", company(), None)
    with pytest.raises(AccountError, match="tariff retail is in USD, account x is in CRD"):
        accounts.check_currencies("x", "CRD", None, ("retail", "USD"))
    with pytest.raises(AccountError, match="unknown account kind 'booth'"):
        accounts.check_kind("booth")


def test_pool_rules():
    accounts.check_pool("acme-1", "company", company(), (5, None))
    accounts.check_pool("acme-1", "own", company(), (None, None))
    with pytest.raises(AccountError, match="unknown pool 'shared'"):
        accounts.check_pool("acme-1", "shared", company(), (None, None))
    with pytest.raises(AccountError, match="acme-1 belongs to no company"):
        accounts.check_pool("acme-1", "company", None, (None, None))
    with pytest.raises(AccountError, match="acme-1 spends its own balance"):
        accounts.check_pool("acme-1", "own", company(), (None, 5))
    with pytest.raises(AccountError, match="cannot be below 0"):
        accounts.check_pool("acme-1", "company", company(), (-1, None))


@pytest.mark.parametrize(
    "kind, amount",
    [("recharge", 1), ("face_value", 5), ("refund", 1), ("adjustment", -3), ("adjustment", 3), ("call", -1)],
)
def test_postings_accepted(kind, amount):
    ledger.check_posting(kind, amount, "a", ACTIVE)
    ledger.check_posting(kind, amount, "a", FROZEN)


@pytest.mark.parametrize(
    "kind, amount, message",
    [
        ("recharge", 0, "must be more than 0"),
        ("recharge", -1, "must be more than 0"),
        ("call", 1, "must be less than 0"),
        ("adjustment", 0, "other than 0"),
        ("refund", -5, "more than 0"),
    ],
)
def test_postings_of_the_wrong_sign_refused(kind, amount, message):
    with pytest.raises(LedgerError, match=message):
        ledger.check_posting(kind, amount, "a", ACTIVE)


def test_closed_accounts_take_only_call_charges():
    ledger.check_posting("call", -5, "a", CLOSED)  # the call happened: it is charged
    for kind in ("recharge", "refund", "adjustment", "face_value"):
        with pytest.raises(LedgerError, match="account a is closed: no"):
            ledger.check_posting(kind, 5, "a", CLOSED)
    with pytest.raises(ValueError, match="unknown ledger entry kind"):
        ledger.check_posting("bonus", 5, "a", ACTIVE)
    with pytest.raises(TypeError):
        ledger.check_posting("recharge", 1.5, "a", ACTIVE)
