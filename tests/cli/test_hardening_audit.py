"""Every operator action is audited: each command that changes the database leaves an audit entry naming the
operator, the action and its subject (the services write it with the change). The table below classifies
every command of `asteriskbill`; a new command fails `test_every_command_is_classified` until it is put in
one of the two tables (and, if it changes anything, audited)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import click
import pytest
from sqlalchemy import func, select, update

from asteriskbill.agi.peer import Call
from asteriskbill.billing.reservation import FLAGGED
from asteriskbill.cli import main
from asteriskbill.store.models import AuditEntry, Card, Reservation
from asteriskbill.store.types import utcnow
from tests.helpers import ASTERISK
from tests.helpers.world import make_world, place

USA = "0015551234"

# Commands that change nothing in the database (or are the engine, not an operator), and why.
NOT_AUDITED = {
    "accounts export": "reads",
    "accounts history": "reads",
    "accounts list": "reads",
    "accounts show": "reads",
    "audit list": "reads",
    "batches list": "reads",
    "batches show": "reads",
    "calls active": "reads",
    "calls flagged": "reads",
    "dialplan": "prints the dialplan file",
    "calls simulate": "a call as Asterisk places it: the engine authorizes and settles it, with its ledger",
    "callshop preferences show": "reads",
    "callshop receipt": "reads",
    "callshop status": "reads",
    "cards callerid list": "reads",
    "cards list": "reads",
    "cards show": "reads",
    "cdr backup": "copies the database and changes nothing in it",
    "cdr cost-report": "reads",
    "cdr export": "reads",
    "cdr list": "reads",
    "cdr stats": "reads",
    "check": "reads",
    "currency convert": "reads",
    "currency list": "reads",
    "init": "creates or upgrades the schema: there is no audit log before it",
    "numbers normalize": "reads",
    "numbers plan show": "reads",
    "quote": "reads",
    "rates export": "reads",
    "rates lookup": "reads",
    "routes list": "reads",
    "serve": "the engine: what its calls change is in the ledger and the CDRs",
    "servers list": "reads",
    "status": "reads",
    "tariff list": "reads",
    "users list": "reads",
    "users logins": "reads",
    "web": "the console: what its users change is audited by the same services",
    "tariff show": "reads",
    "routing explain": "reads",
    "routing list": "reads",
    "routing show": "reads",
    "trunks list": "reads",
    "vendor-rates list": "reads",
    "vendors history": "reads",
    "vendors list": "reads",
    "vendors show": "reads",
    "plans list": "reads",
    "plans show": "reads",
    "plans bundles": "reads",
    "dids list": "reads",
}

Setup = Callable[..., dict[str, str]]  # (cli, engine, world, tmp) -> more placeholders for the arguments


def _nothing(cli, engine, world, tmp: Path) -> dict[str, str]:
    return {}


def _booth(cli, engine, world, tmp: Path) -> dict[str, str]:
    cli("accounts", "create", "extension", "booth-1", "--tariff", "retail", "--extension", "301", "--booth")
    return {}


def _started_booth(cli, engine, world, tmp: Path) -> dict[str, str]:
    _booth(cli, engine, world, tmp)
    cli("callshop", "start", "booth-1", "--prepaid", "5")
    return {}


def _locked(cli, engine, world, tmp: Path) -> dict[str, str]:
    with engine.begin() as conn:
        conn.execute(update(Card).values(pin_failures=5, pin_locked_until=utcnow() + timedelta(hours=1)))
    return {}


def _frozen(cli, engine, world, tmp: Path) -> dict[str, str]:
    cli("accounts", "freeze", "acme-201")
    return {}


def _disabled(cli, engine, world, tmp: Path) -> dict[str, str]:
    cli("cards", "disable", world.card)
    return {}


def _manual_card(cli, engine, world, tmp: Path) -> dict[str, str]:
    cli(
        "cards",
        "generate",
        "--count",
        "1",
        "--value",
        "1",
        "--tariff",
        "retail",
        "--activation",
        "manual",
        "-o",
        tmp / "m.csv",
    )
    return {"card": (tmp / "m.csv").read_text().splitlines()[1].split(",")[0]}


def _callerid(cli, engine, world, tmp: Path) -> dict[str, str]:
    cli("cards", "callerid", "add", world.card, "5557000")
    return {}


def _server(cli, engine, world, tmp: Path) -> dict[str, str]:
    cli("servers", "add", "pbx9", "--ari-url", "http://127.0.0.1:1", "--ari-user", "u", "--ari-password", "p")
    return {}


def _files(cli, engine, world, tmp: Path) -> dict[str, str]:
    (tmp / "more.csv").write_text("prefix,destination,price\n49,Germany,0.20\n")
    (tmp / "accounts.csv").write_text("kind,name,parent\nextension,acme-202,acme\n")
    capture = (ASTERISK / "ari" / "prepaid-cdr.txt").read_text().splitlines()
    (tmp / "Master.csv").write_text("\n".join(line for line in capture if line.startswith('"')) + "\n")
    return {}


def _call_up(cli, engine, world, tmp: Path) -> dict[str, str]:
    """A card call authorized over FastAGI and never settled (no ARI here): its credit is held."""
    [out] = place(engine, world.settings, Call(script="card", keys=(world.card + "#", world.pin + "#", USA + "#")))
    return {"session": out.variables["BILL_SESSION"]}


def _flagged(cli, engine, world, tmp: Path) -> dict[str, str]:
    found = _call_up(cli, engine, world, tmp)
    with engine.begin() as conn:
        conn.execute(update(Reservation).values(status=FLAGGED, closed_at=utcnow(), note="gone"))
    return found


def _password(cli, engine, world, tmp: Path) -> dict[str, str]:
    return {"stdin": "a good password 1\n"}


def _user(cli, engine, world, tmp: Path) -> dict[str, str]:
    cli("users", "add", "olga", "--role", "operator", "--password-stdin", input="first password 1\n")
    return _password(cli, engine, world, tmp)


def _disabled_user(cli, engine, world, tmp: Path) -> dict[str, str]:
    found = _user(cli, engine, world, tmp)
    cli("users", "disable", "olga")
    return found


def _vendor(cli, engine, world, tmp: Path) -> dict[str, str]:
    cli("vendors", "add", "carrier1", "--currency", "USD", "--prepaid")
    (tmp / "buy.csv").write_text("prefix,destination,price,increments\n44,UK,0.02,60/1\n")
    return {}


def _trunk(cli, engine, world, tmp: Path) -> dict[str, str]:
    _vendor(cli, engine, world, tmp)
    cli("trunks", "add", "carrier1", "c1", "--dial", "PJSIP/${NUMBER}@c1")
    cli("routing", "add", "out", "--policy", "lcr")
    return {}


def _group_trunk(cli, engine, world, tmp: Path) -> dict[str, str]:
    _trunk(cli, engine, world, tmp)
    cli("routing", "add-trunk", "out", "c1")
    cli("routing", "bind", "out", "--account", "acme")
    return {}


def _plan(cli, engine, world, tmp: Path) -> dict[str, str]:
    cli("plans", "add", "basic", "--tariff", "retail", "--fee", "1")
    return {}


def _on_plan(cli, engine, world, tmp: Path) -> dict[str, str]:
    _plan(cli, engine, world, tmp)
    cli("accounts", "edit", "acme-201", "--plan", "basic")
    return {}


def _did(cli, engine, world, tmp: Path) -> dict[str, str]:
    cli("dids", "add", "18005550100", "acme-201")
    return {}


# command -> (its arguments, what is set up first, the audit action it records)
AUDITED: dict[str, tuple[tuple[str, ...], Setup, str]] = {
    "accounts adjust": (("acme-201", "-1", "--note", "goodwill"), _nothing, "account.adjustment"),
    "accounts close": (("acme-201",), _nothing, "account.close"),
    "accounts create": (("company", "globex", "--tariff", "retail"), _nothing, "account.create"),
    "accounts edit": (("acme-201", "--max-calls", "3"), _nothing, "account.edit"),
    "accounts freeze": (("acme-201",), _nothing, "account.freeze"),
    "accounts import": (("{tmp}/accounts.csv",), _files, "accounts.import"),
    "accounts recharge": (("acme-201", "5"), _nothing, "account.recharge"),
    "accounts unfreeze": (("acme-201",), _frozen, "account.unfreeze"),
    "calls clear": (("{session}", "--reason", "handled"), _flagged, "call.clear-flag"),
    "calls release": (("{session}", "--reason", "stuck"), _call_up, "call.release"),
    "callshop preferences set": (("--default-prepaid", "5"), _nothing, "callshop.preference"),
    "callshop start": (("booth-1", "--prepaid", "5"), _booth, "callshop.start"),
    "callshop stop": (("booth-1",), _started_booth, "callshop.stop"),
    "cards activate": (("{card}",), _manual_card, "card.activate"),
    "cards callerid add": (("{card}", "5557000"), _nothing, "card.callerid-add"),
    "cards callerid remove": (("5557000",), _callerid, "card.callerid-remove"),
    "cards delete": (("{card}",), _nothing, "card.delete"),
    "cards disable": (("{card}",), _nothing, "card.disable"),
    "cards enable": (("{card}",), _disabled, "card.enable"),
    "cards export": (("-o", "{tmp}/cards.xlsx"), _nothing, "card.export"),
    "cards generate": (
        ("--count", "1", "--value", "1", "--tariff", "retail", "-o", "{tmp}/new.csv"),
        _nothing,
        "batch.generate",
    ),
    "cards recharge": (("{card}", "2"), _nothing, "card.recharge"),
    "cards reset-pin": (("{card}",), _nothing, "card.reset-pin"),
    "cards unlock": (("{card}",), _locked, "card.unlock"),
    "cdr purge": (("--older-than", "1year", "--yes"), _nothing, "cdr.purge"),
    "cdr reconcile": (("{tmp}/Master.csv",), _files, "cdr.reconcile"),
    "currency set-rate": (("USD", "EUR", "0.92"), _nothing, "currency.rate"),
    "numbers plan set": (("--company", "acme", "--outside-line", "9"), _nothing, "numbers.plan-set"),
    "rates import": (("retail", "{tmp}/more.csv"), _files, "rates.import"),
    "routes add": (("49", "PJSIP/${{NUMBER}}@de"), _nothing, "route.add"),
    "routes remove": (("",), _nothing, "route.remove"),
    "servers add": (
        ("pbx9", "--ari-url", "http://127.0.0.1:1", "--ari-user", "u", "--ari-password", "p"),
        _nothing,
        "server.add",
    ),
    "servers remove": (("pbx9",), _server, "server.remove"),
    "tariff create": (("wholesale", "--currency", "USD"), _nothing, "tariff.create"),
    "tariff holiday add": (("retail", "2026-12-25"), _nothing, "tariff.holiday-add"),
    "users add": (("olga", "--role", "operator", "--password-stdin"), _password, "user.add"),
    "users disable": (("olga",), _user, "user.disable"),
    "users enable": (("olga",), _disabled_user, "user.enable"),
    "users passwd": (("olga", "--password-stdin"), _user, "user.passwd"),
    "vendors add": (("carrier9", "--currency", "USD"), _nothing, "vendor.add"),
    "vendors adjust": (("carrier1", "1", "--note", "credit note 7"), _vendor, "vendor.adjust"),
    "vendors edit": (("carrier1", "--postpaid"), _vendor, "vendor.edit"),
    "vendors recharge": (("carrier1", "5"), _vendor, "vendor.recharge"),
    "vendor-rates import": (("carrier1", "{tmp}/buy.csv"), _vendor, "rates.import"),
    "trunks add": (("carrier1", "c9", "--dial", "PJSIP/${{NUMBER}}@c9"), _vendor, "trunk.add"),
    "trunks edit": (("c1", "--disable"), _trunk, "trunk.edit"),
    "routing add": (("out9", "--policy", "lcr"), _nothing, "routing.add"),
    "routing edit": (("out", "--policy", "priority"), _trunk, "routing.edit"),
    "routing add-trunk": (("out", "c1"), _trunk, "routing.add-trunk"),
    "routing remove-trunk": (("out", "c1"), _group_trunk, "routing.remove-trunk"),
    "routing bind": (("out", "--account", "acme"), _trunk, "routing.bind"),
    "routing unbind": (("--account", "acme"), _group_trunk, "routing.unbind"),
    "plans add": (("basic", "--tariff", "retail", "--fee", "1"), _nothing, "plan.add"),
    "plans edit": (("basic", "--fee", "2"), _plan, "plan.edit"),
    "plans renew": ((), _on_plan, "plan.renew"),
    "dids add": (("18005550100", "acme-201"), _nothing, "did.add"),
    "dids remove": (("18005550100",), _did, "did.remove"),
}


def leaf_commands(group: click.Group = main, path: str = "") -> list[str]:
    found = []
    for name, command in group.commands.items():
        full = f"{path} {name}".strip()
        found += leaf_commands(command, full) if isinstance(command, click.Group) else [full]
    return sorted(found)


def test_every_command_is_classified():
    commands = set(leaf_commands())
    assert not set(AUDITED) & set(NOT_AUDITED)
    assert commands - set(AUDITED) - set(NOT_AUDITED) == set(), "a new command: audit it and put it in AUDITED"
    assert set(AUDITED) | set(NOT_AUDITED) == commands, "a command in the tables is gone: take it out"


@pytest.mark.parametrize("command", sorted(AUDITED))
def test_each_operator_action_leaves_an_audit_entry(cli, engine, tmp_path, command):
    args, setup, action = AUDITED[command]
    world = make_world(cli, tmp_path)
    given = {"card": world.card, "tmp": str(tmp_path), **setup(cli, engine, world, tmp_path)}
    with engine.begin() as conn:
        last = conn.execute(select(func.max(AuditEntry.id))).scalar_one()
    cli(*command.split(), *(a.format(**given) for a in args), input=given.get("stdin"))
    with engine.begin() as conn:
        rows = conn.execute(select(AuditEntry.__table__).where(AuditEntry.id > last).order_by(AuditEntry.id)).all()
    assert rows, f"`asteriskbill {command}` changed the database and left no audit entry"
    assert action in [r.action for r in rows] and all(r.operator == "tester" and r.subject for r in rows)
