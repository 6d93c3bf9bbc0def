"""Incoming calls on real SQLite and PostgreSQL: a call TO one of our numbers (a DID, an extension) is charged to the
account it reaches, by that account's incoming tariff and the caller's number, with the same hold, limits and
settlement as the account's own calls; its CDR says direction 'in', and `cdr stats --by direction` tells them
apart. An account without an incoming tariff is rung and not billed."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select

from asteriskbill.billing.authorize import BillStatus
from asteriskbill.billing.settle import CallResult
from asteriskbill.services import lifecycle, slices
from asteriskbill.services.calls import Caller
from asteriskbill.store.catalog import SQL_CATALOG
from asteriskbill.store.models import Account, Cdr, LedgerEntry, Reservation
from tests.helpers.world import TOLL_FREE, make_world, toll_free

UK_MOBILE = "00447700900123"  # normalised 447700900123: "UK mobile", 0.20/min by the second
T = datetime(2026, 12, 15, 10, 0, tzinfo=UTC)


@pytest.fixture
def world(cli, tmp_path):
    """make_world's (acme-201 on extension 201 with 10.00), a tariff `tollfree` for calls to it, and DID
    18005550100 ringing it."""
    made = make_world(cli, tmp_path)
    toll_free(cli, tmp_path)
    return made


def incoming(engine, world, called: str, caller_id: str, slice_seconds: int = 0):
    caller = Caller("PJSIP/trunk-00000001", "1796000000.1", caller_id)
    with engine.begin() as conn:
        return lifecycle.authorize_incoming_in(
            conn, SQL_CATALOG, world.settings, called, caller_id, caller, slice_seconds
        )


def account(engine, name: str):
    with engine.begin() as conn:
        return conn.execute(select(Account).where(Account.name == name)).one()


def reservations(engine) -> int:
    with engine.begin() as conn:
        return conn.execute(select(func.count()).select_from(Reservation)).scalar_one()


def test_a_call_to_a_toll_free_did_is_charged_to_the_called_account(cli, engine, world):
    called = account(engine, "acme-201")
    answer = incoming(engine, world, TOLL_FREE, UK_MOBILE)
    assert answer.status is BillStatus.OK, answer.reason
    assert (answer.dial, answer.dials, answer.number, answer.destination) == (
        "PJSIP/201",  # the incoming_dial setting rings the account's extension
        ("PJSIP/201",),
        "447700900123",  # rated by the caller's number
        "UK mobile",
    )
    assert (answer.max_seconds, answer.amount) == (3000, 10_000_000)  # 10.00 at 0.20/min, held whole (no slices)
    with engine.begin() as conn:
        held = conn.execute(select(Reservation).where(Reservation.session == answer.session)).one()
    assert (held.account_id, held.payer_id, held.direction, held.status) == (called.id, called.id, "in", "open")
    assert (held.dialled, held.number, held.callerid) == (TOLL_FREE, "447700900123", UK_MOBILE)
    settled = lifecycle.settle(engine, CallResult(answer.session, "ANSWER", 90_000, started_at=T))
    assert (settled.billed_seconds, settled.cost) == (90, 300_000)  # 90 s at 0.20/min
    with engine.begin() as conn:
        cdr = conn.execute(select(Cdr).where(Cdr.session == answer.session)).one()
        entry = conn.execute(select(LedgerEntry).where(LedgerEntry.reference == answer.session)).one()
    assert (cdr.direction, cdr.account_id, cdr.payer_id, cdr.cost) == ("in", called.id, called.id, 300_000)
    assert (cdr.dialled, cdr.number, cdr.callerid, cdr.destination) == (
        TOLL_FREE,
        "447700900123",
        UK_MOBILE,
        "UK mobile",
    )
    assert (entry.account_id, entry.amount, entry.note) == (called.id, -300_000, "from 447700900123 90 s")
    assert account(engine, "acme-201").balance == 10_000_000 - 300_000
    (listed,) = json.loads(cli("cdr", "list", "--direction", "in", "--json").stdout)
    assert (listed["direction"], listed["account"], listed["callerid"]) == ("in", "acme-201", UK_MOBILE)
    assert json.loads(cli("cdr", "list", "--direction", "out", "--json").stdout) == []


def test_a_call_to_an_extension_is_billed_as_one_to_its_did(engine, world):
    answer = incoming(engine, world, "201", "+1 (212) 555-0199")  # separators: a caller ID as some trunks send it
    assert (answer.status, answer.number, answer.destination) == (BillStatus.OK, "12125550199", "North America")
    lifecycle.release(engine, answer.session, "test")


@pytest.mark.parametrize("caller_id", ["", "Anonymous"])
def test_a_caller_without_a_number_is_priced_as_one_from_the_accounts_country(engine, world, caller_id):
    answer = incoming(engine, world, TOLL_FREE, caller_id)
    assert (answer.status, answer.number, answer.destination) == (BillStatus.OK, "1", "North America")
    settled = lifecycle.settle(engine, CallResult(answer.session, "ANSWER", 61_000))
    assert settled.cost == 40_000  # two started minutes at 0.02 (60/60)


def test_an_account_without_an_incoming_tariff_is_rung_and_not_charged(cli, engine, world):
    cli("accounts", "edit", "acme-201", "--incoming-tariff", "")
    answer = incoming(engine, world, TOLL_FREE, UK_MOBILE)
    assert (answer.status, answer.session, answer.dial, answer.amount) == (BillStatus.OK, "", "PJSIP/201", 0)
    assert reservations(engine) == 0  # nothing held, nothing to settle: no CDR, no charge
    assert account(engine, "acme-201").balance == 10_000_000


def test_no_credit_when_the_called_account_cannot_pay(cli, engine, world):
    cli("accounts", "create", "extension", "acme-202", "--parent", "acme", "--extension", "202")
    cli("accounts", "edit", "acme-202", "--incoming-tariff", "tollfree")
    cli("dids", "add", "18005550102", "acme-202")
    answer = incoming(engine, world, "18005550102", UK_MOBILE)
    assert answer.status is BillStatus.NO_CREDIT and "acme-202" in answer.reason
    assert reservations(engine) == 0


def test_a_pooled_extension_is_called_on_its_companys_balance(cli, engine, world):
    cli("accounts", "recharge", "acme", "1")
    cli("accounts", "create", "extension", "acme-203", "--parent", "acme", "--extension", "203", "--pool", "company")
    cli("accounts", "edit", "acme-203", "--incoming-tariff", "tollfree")
    answer = incoming(engine, world, "203", UK_MOBILE)
    assert (answer.status, answer.max_seconds) == (BillStatus.OK, 300)  # the company's 1.00 at 0.20/min
    lifecycle.settle(engine, CallResult(answer.session, "ANSWER", 30_000))
    assert (account(engine, "acme").balance, account(engine, "acme-203").balance) == (900_000, 0)


def test_calls_to_an_account_count_against_its_simultaneous_calls(cli, engine, world):
    cli("accounts", "edit", "acme-201", "--max-calls", "1")
    out = lifecycle.authorize(engine, world.settings, account(engine, "acme-201").id, "00442071234567")
    assert out.status is BillStatus.OK
    assert incoming(engine, world, TOLL_FREE, UK_MOBILE).status is BillStatus.TOO_MANY_CALLS
    lifecycle.release(engine, out.session, "test")
    answer = incoming(engine, world, TOLL_FREE, UK_MOBILE)
    assert answer.status is BillStatus.OK
    lifecycle.release(engine, answer.session, "test")


def test_refusals_name_why(cli, engine, world):
    assert incoming(engine, world, "18005559999", UK_MOBILE).status is BillStatus.UNKNOWN_ACCOUNT
    refused = incoming(engine, world, TOLL_FREE, "0033123456789")  # France: the tariff has no rate for it
    assert refused.status is BillStatus.NO_RATE and "33123456789" in refused.reason
    cli("accounts", "freeze", "acme-201")
    assert incoming(engine, world, TOLL_FREE, UK_MOBILE).status is BillStatus.FROZEN
    assert reservations(engine) == 0


def test_an_incoming_call_holds_slices_and_extends_them_on_its_account(engine, world):
    answer = incoming(engine, world, TOLL_FREE, UK_MOBILE, slice_seconds=60)
    assert (answer.held_seconds, answer.amount) == (60, 200_000)
    assert slices.extend(engine, answer.session, 60) is not None
    with engine.begin() as conn:
        held = conn.execute(select(Reservation).where(Reservation.session == answer.session)).one()
    assert (held.held_seconds, held.amount) == (120, 400_000)
    lifecycle.release(engine, answer.session, "test")


def test_cdr_stats_by_direction_separate_calls_made_and_received(cli, engine, world):
    made = lifecycle.authorize(engine, world.settings, account(engine, "acme-201").id, "00442071234567", now=T)
    lifecycle.settle(engine, CallResult(made.session, "ANSWER", 60_000, started_at=T))  # 0.60 out
    received = incoming(engine, world, TOLL_FREE, UK_MOBILE)
    lifecycle.settle(engine, CallResult(received.session, "ANSWER", 120_000, started_at=T))  # 0.40 in
    rows = json.loads(cli("cdr", "stats", "--by", "direction", "--since", "2026-12-15", "--json").stdout)
    totals = {row["key"]: (row["total"]["calls"], row["total"]["minutes"], row["total"]["cost"]) for row in rows}
    assert totals == {"in": (1, "2.00", "0.40"), "out": (1, "1.00", "0.60")}
    table = cli("cdr", "stats", "--by", "direction", "--since", "2026-12-15").stdout.splitlines()
    assert table[0].split()[:2] == ["key", "currency"] and [line.split()[0] for line in table[1:]] == ["in", "out"]


def test_dids_are_given_listed_and_taken_back_with_an_audit_entry(cli, engine, world):
    (listed,) = json.loads(cli("dids", "list", "--json").stdout)
    assert (listed["number"], listed["account"], listed["extension"], listed["incoming_tariff"]) == (
        TOLL_FREE,
        "acme-201",
        "201",
        "tollfree",
    )
    for args, why in [
        ((TOLL_FREE, "acme-201"), "belongs to an account already"),
        (("201", "acme-201"), "is the extension of account acme-201"),
        (("18005550111", "acme"), "has no extension to ring"),
        (("1-800-555", "acme-201"), "must be 2 to 32 digits"),
        (("18005550111", "nobody"), "no account named 'nobody'"),
    ]:
        refused = cli("dids", "add", *args, ok=False)
        assert why in refused.output and "Traceback" not in refused.output
    refused = cli("accounts", "edit", "acme", "--incoming-tariff", "tollfree", ok=False)
    assert "an incoming tariff is for extension accounts" in refused.output
    refused = cli("accounts", "create", "extension", "acme-209", "--parent", "acme", "--extension", TOLL_FREE, ok=False)
    assert f"{TOLL_FREE} is a DID" in refused.output
    assert cli("dids", "remove", TOLL_FREE).stdout == f"DID {TOLL_FREE} removed from acme-201\n"
    assert incoming(engine, world, TOLL_FREE, UK_MOBILE).status is BillStatus.UNKNOWN_ACCOUNT
    audit = cli("audit", "list", "--json")
    actions = [(e["action"], e["subject"]) for e in json.loads(audit.stdout) if e["action"].startswith("did.")]
    assert sorted(actions) == [("did.add", TOLL_FREE), ("did.remove", TOLL_FREE)]
    shown = json.loads(cli("accounts", "show", "acme-201", "--json").stdout)
    assert shown["incoming_tariff"] == "tollfree"
