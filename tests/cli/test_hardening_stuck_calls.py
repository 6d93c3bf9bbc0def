"""Issue 10 item 13: an operator frees a call that never settles (`calls release`), sees and clears what recovery
flagged (`calls flagged`, `calls clear`), and `cdr reconcile` takes only a Master.csv.

The stuck calls are made as the issue found them: `calls simulate` without --talk against a real `serve` process
that follows no Asterisk, so nothing ever settles them.
"""

from __future__ import annotations

import csv
import io
import json
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from asteriskbill.agi.peer import Call
from asteriskbill.services import recovery
from asteriskbill.store.models import Cdr, Reservation
from asteriskbill.store.types import utcnow
from tests.helpers import ASTERISK
from tests.helpers.serve import serving
from tests.helpers.world import make_world, place

USA = "0015551234"
BOOTH = "booth-301"
MASTER = [line for line in (ASTERISK / "ari" / "prepaid-cdr.txt").read_text().splitlines() if line.startswith('"')]
ANSWERED = "1795467901.289"  # the caller leg of the capture's answered call 2001 (3 s billed)


@pytest.fixture
def served(cli, tmp_path):
    """make_world with a card of 100.00 that may make one call at a time, booth-301, and `serve` running."""
    world = make_world(cli, tmp_path, card_value="100", card_args=("--max-calls", "1"))
    cli("accounts", "create", "extension", BOOTH, "--tariff", "retail", "--extension", "301", "--booth")
    with serving(cli.db, tmp_path / "serve.log") as port:
        yield world, str(port)


def simulate(cli, port: str, *who: str, dial: str = USA) -> dict[str, str]:
    """`calls simulate` without --talk: the call is authorized and then nothing ever settles it."""
    out = json.loads(cli("calls", "simulate", *who, "--dial", dial, "--port", port, "--json").stdout)
    return out["variables"]


def money_rows(snapshot) -> tuple:
    taken = snapshot()
    return taken["accounts"], taken["ledger_entries"]


def reservation(engine, session: str):
    with engine.begin() as conn:
        return conn.execute(
            select(Reservation.status, Reservation.note, Reservation.closed_at).where(Reservation.session == session)
        ).one()


def audited(cli, action: str) -> list[dict]:
    return [e for e in json.loads(cli("audit", "list", "--json").stdout) if e["action"] == action]


def test_release_frees_a_card_held_by_a_call_that_never_settles(cli, engine, snapshot, served):
    world, port = served
    card = ("--card", world.card, "--pin", world.pin)
    first = simulate(cli, port, *card)
    assert first["BILL_STATUS"] == "OK"
    assert simulate(cli, port, *card) == {"BILL_STATUS": "TOO_MANY_CALLS"}
    session = first["BILL_SESSION"]
    assert session in cli("calls", "active").stdout  # the operator finds the session to release there
    money = money_rows(snapshot)

    out = cli("calls", "release", session, "--reason", "no ARI: the call was never up").stdout
    assert out == f"released call {session} of {world.card}: 18.00 USD no longer held\n"
    assert money_rows(snapshot) == money  # ledger-neutral: balances and ledger unchanged
    status, note, closed_at = reservation(engine, session)
    assert (status, note) == ("released", "released by tester: no ARI: the call was never up")
    assert closed_at is not None
    [entry] = audited(cli, "call.release")
    assert (entry["operator"], entry["subject"]) == ("tester", session)
    assert entry["detail"] == {
        "account": world.card,
        "held": "18.00",
        "currency": "USD",
        "reason": "no ARI: the call was never up",
    }
    assert json.loads(cli("calls", "active", "--json").stdout) == []
    assert simulate(cli, port, *card)["BILL_STATUS"] == "OK"  # the card calls again
    cli("check")


def test_release_lets_a_booth_be_stopped(cli, engine, snapshot, served):
    _world, port = served
    cli("callshop", "start", BOOTH, "--prepaid", "5")
    call = simulate(cli, port, "--extension", "301")
    assert call["BILL_STATUS"] == "OK"
    assert "is in a call" in cli("callshop", "stop", BOOTH, ok=False).stderr
    money = money_rows(snapshot)
    released = json.loads(cli("calls", "release", call["BILL_SESSION"], "--reason", "phone dead", "--json").stdout)
    assert released == {
        "session": call["BILL_SESSION"],
        "account": BOOTH,
        "held": "5.00",
        "currency": "USD",
        "reason": "phone dead",
    }
    assert money_rows(snapshot) == money
    receipt = json.loads(cli("callshop", "stop", BOOTH, "--json").stdout)
    assert (receipt["total"], receipt["change"]) == ("0.00", "5.00")
    cli("check")


def test_release_refuses_what_holds_nothing_with_one_line(cli, engine, snapshot, served):
    world, port = served
    session = simulate(cli, port, "--card", world.card, "--pin", world.pin)["BILL_SESSION"]
    cli("calls", "release", session, "--reason", "gone")
    before = snapshot()
    again = cli("calls", "release", session, "--reason", "twice", ok=False)
    assert again.stderr.startswith(f"Error: call {session} was released at ")
    assert again.stderr.endswith(" (released by tester: gone): it holds nothing\n")
    unknown = cli("calls", "release", "0" * 8, "--reason", "x", ok=False)
    assert unknown.stderr == f"Error: no call has session {'0' * 8} (`asteriskbill calls active` lists them)\n"
    assert "Missing option '--reason'" in cli("calls", "release", session, ok=False).stderr
    assert snapshot() == before


def authorize_overdue(engine, world, uniqueid: str) -> str:
    """A card call authorized through the real FastAGI app, then made four hours old (past its maximum)."""
    [out] = place(
        engine,
        world.settings,
        Call(script="card", uniqueid=uniqueid, keys=(world.card + "#", world.pin + "#", USA + "#")),
    )
    session = out.variables["BILL_SESSION"]
    with engine.begin() as conn:
        conn.execute(
            update(Reservation).where(Reservation.session == session).values(created_at=utcnow() - timedelta(hours=4))
        )
    return session


@pytest.fixture
def world(cli, tmp_path):
    return make_world(cli, tmp_path, card_value="100", card_args=("--max-calls", "5"))


def test_flagged_says_why_and_when_and_a_flag_is_cleared_once_handled(cli, engine, snapshot, world, tmp_path):
    sessions = [authorize_overdue(engine, world, f"1795460000.{n}") for n in range(3)]
    master = tmp_path / "Master.csv"
    master.write_text("\n".join(MASTER) + "\n")
    assert "flagged 3" in cli("cdr", "reconcile", master).stdout

    listed = cli("calls", "flagged", "--json")
    assert listed.stderr == ""
    calls = json.loads(listed.stdout)
    newest = calls[0]
    assert {c["session"] for c in calls} == set(sessions)
    assert newest["account"] == world.card and newest["number"] == "15551234" and newest["held"] == "18.00"
    assert newest["reason"] == f"overdue and not in {master}: check the call by hand"
    assert newest["flagged_at"] >= newest["authorized_at"]
    text = cli("calls", "flagged", "--limit", "2").stdout
    assert text.splitlines()[-1] == "2 of 3 flagged calls; --limit 0 shows all"
    assert f"not in {master}" in text
    short = cli("calls", "flagged", "--limit", "1", "--json")
    assert len(json.loads(short.stdout)) == 1 and short.stderr == "1 of 3 flagged calls; --limit 0 shows all\n"

    money = money_rows(snapshot)
    out = cli("calls", "clear", sessions[0], "--reason", "checked: never connected").stdout
    assert out == f"cleared the flag of call {sessions[0]}\n"
    assert money_rows(snapshot) == money
    assert sessions[0] not in cli("calls", "flagged").stdout
    status, note, _ = reservation(engine, sessions[0])
    assert (status, note) == ("released", "flag cleared by tester: checked: never connected")
    [entry] = audited(cli, "call.clear-flag")
    assert entry["subject"] == sessions[0]
    assert entry["detail"]["flag"] == f"overdue and not in {master}: check the call by hand"

    before = snapshot()
    assert "is not flagged" in cli("calls", "clear", sessions[0], "--reason", "again", ok=False).stderr
    refused = cli("calls", "release", sessions[1], "--reason", "x", ok=False).stderr
    assert refused.startswith(f"Error: call {sessions[1]} is flagged: its credit was given back at ")
    assert refused.endswith(f"`asteriskbill calls clear {sessions[1]}` once it is handled\n")
    assert snapshot() == before
    cli("check")


def test_serve_recovery_flags_say_why(engine, world, cli):
    session = authorize_overdue(engine, world, "1795460000.9")
    assert recovery.expire(engine, set(), 5).flagged == [session]
    [flagged] = json.loads(cli("calls", "flagged", "--json").stdout)
    assert flagged["reason"] == (
        "overdue, not up on any Asterisk server that answers, and not settled: "
        "check Asterisk's CDR (asteriskbill cdr reconcile)"
    )


GARBAGE = {
    "notes.csv": ("a,b,c\n1,2,3\n", "line 1"),
    "rates.csv": ("prefix,destination,price,increments\n44,UK,0.60,60/6\n", "line 1"),
    "empty.csv": ("", "has no CDR record"),
    "binary.csv": ("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\n", "line 1"),
    "broken.csv": ("\n".join([MASTER[0], MASTER[1], MASTER[2][:60], *MASTER[3:]]) + "\n", "line 3"),
}


@pytest.mark.parametrize("name", GARBAGE)
def test_reconcile_refuses_what_is_not_a_master_csv_and_changes_nothing(cli, engine, snapshot, world, tmp_path, name):
    session = authorize_overdue(engine, world, ANSWERED)
    content, where = GARBAGE[name]
    garbage = tmp_path / name
    garbage.write_text(content)
    before = snapshot()
    refused = cli("cdr", "reconcile", garbage, ok=False)
    assert refused.stderr.startswith(f"Error: {garbage}"), refused.stderr
    assert where in refused.stderr and refused.stderr.count("\n") == 1, refused.stderr
    assert snapshot() == before
    assert reservation(engine, session).status == "open"  # still held: nothing flagged, nothing released


def test_a_real_master_csv_still_reconciles_in_its_other_forms(cli, engine, world, tmp_path, monkeypatch):
    monkeypatch.setenv("ASTERISKBILL_TIMEZONE", "Europe/Sofia")
    session = authorize_overdue(engine, world, ANSWERED)
    master = tmp_path / "Master.csv"  # loguniqueid only: 17 columns, with a header line
    header = "accountcode,src,dst,dcontext,clid,channel,dstchannel,lastapp,lastdata,start,answer,end,duration,"
    rows = io.StringIO()
    csv.writer(rows).writerows(row[:17] for row in csv.reader(MASTER))
    master.write_text(header + "billsec,disposition,amaflags,uniqueid\n" + rows.getvalue())
    done = json.loads(cli("cdr", "reconcile", master, "--utc", "--json").stdout)
    assert done == {"settled": [session], "flagged": []}
    with engine.begin() as conn:
        started_at, cost = conn.execute(select(Cdr.started_at, Cdr.cost).where(Cdr.session == session)).one()
    assert (started_at.isoformat(), cost) == ("2026-11-23T21:05:01+00:00", 5_000)  # --utc: usegmtime=yes
    cli("check")
