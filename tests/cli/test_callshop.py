"""`callshop ...` through the real command on every backend: booths authorized by the real FastAGI app, their
calls settled as the ARI listener settles them, receipts that add up, balances back at zero."""

from __future__ import annotations

import json
import re

import pytest
from sqlalchemy import select

from asteriskbill.agi.peer import Call
from asteriskbill.billing.settle import CallResult
from asteriskbill.money import format_amount, parse_amount
from asteriskbill.services.lifecycle import settle
from asteriskbill.store.models import Account, AuditEntry, LedgerEntry, Reservation
from tests.helpers.world import make_world, place

UK, USA = "00442071234567", "0015551234"  # retail: UK 0.60/min billed 60/6, USA 0.10/min per second
BOOTH = "booth-301"


@pytest.fixture
def shop(cli, tmp_path):
    """make_world's tariff, route and company acme (extension 201), and booth-301 on extension 301."""
    world = make_world(cli, tmp_path)
    cli("accounts", "create", "extension", BOOTH, "--tariff", "retail", "--extension", "301", "--booth")
    return world


def dial(engine, shop, number: str, extension: str = "301") -> dict:
    """The ext AGI over FastAGI, as the dialplan runs it for a call from ``extension``."""
    [out] = place(engine, shop.settings, Call(script="ext", args=[number], callerid=extension))
    return out.variables


def talk(engine, shop, number: str, ms: int) -> dict:
    """A call authorized, answered and settled after ``ms`` of talk, as the ARI listener would."""
    variables = dial(engine, shop, number)
    assert variables["BILL_STATUS"] == "OK", variables
    assert settle(engine, CallResult(variables["BILL_SESSION"], "ANSWER", ms)).new
    return variables


def booth_money(engine) -> tuple[int, int, list[tuple[str, int]]]:
    """(balance, credit limit, [(kind, amount)] oldest first) of the booth."""
    with engine.begin() as conn:
        account = conn.execute(
            select(Account.id, Account.balance, Account.credit_limit).where(Account.name == BOOTH)
        ).one()
        entries = conn.execute(
            select(LedgerEntry.kind, LedgerEntry.amount)
            .where(LedgerEntry.account_id == account.id)
            .order_by(LedgerEntry.id)
        ).all()
    return account.balance, account.credit_limit, [tuple(e) for e in entries]


def pairs(text: str, *labels: str) -> dict[str, str]:
    """The receipt's "label      value" lines of these labels, as {label: value}."""
    found = (re.fullmatch(r"(\S.*?) {2,}(\S.*)", line) for line in text.splitlines())
    return {m.group(1): m.group(2) for m in found if m and m.group(1) in labels}


def audit_actions(engine) -> list[str]:
    with engine.begin() as conn:
        return [
            a
            for (a,) in conn.execute(
                select(AuditEntry.action).where(AuditEntry.action.like("callshop.%")).order_by(AuditEntry.id)
            )
        ]


def test_a_booth_is_an_extension_account_marked_as_one(shop, cli):
    shown = json.loads(cli("accounts", "show", BOOTH, "--json").stdout)
    assert (shown["kind"], shown["booth"], shown["credit_limit"]) == ("extension", True, "0.00")
    assert "booth:" in cli("accounts", "show", BOOTH).stdout
    assert "booth:" not in cli("accounts", "show", "acme-201").stdout
    assert re.search(rf"^{BOOTH} .* booth$", cli("accounts", "list").stdout, re.M)


def test_prepaid_booth(shop, cli, engine):
    assert "prepaid 5.00 USD" in cli("callshop", "start", BOOTH, "--prepaid", "5.00").stdout
    first = talk(engine, shop, UK, 95_000)  # 5.00 pays 498 s; 95 s is billed 96 s at 60/6: 0.96
    assert first["BILL_MAX_MS"] == "498000"
    second = talk(engine, shop, USA, 42_000)  # 42 s at 0.10/min: 0.07
    assert second["BILL_MAX_MS"] == "2424000"  # what the 4.04 left pays
    out = cli("callshop", "stop", BOOTH).stdout
    assert pairs(out, "Booth", "Time zone", "Calls", "Total", "Paid", "Change", "Amount due") == {
        "Booth": "booth-301 (ext 301)",
        "Time zone": "UTC",
        "Calls": "2",
        "Total": "1.03 USD",
        "Paid": "5.00 USD",
        "Change": "3.97 USD",
    }
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", pairs(out, "Stopped")["Stopped"])
    lines = out.splitlines()
    at = lines.index(next(line for line in lines if line.endswith("442071234567                1:35")))
    assert lines[at + 1].split() == ["UK", "0.96"]
    assert lines[at + 2].split()[1:] == ["15551234", "0:42"] and lines[at + 3].split() == ["USA", "0.07"]
    assert max(map(len, lines)) == 42  # an 80 mm receipt printer's line
    assert booth_money(engine) == (
        0,
        0,
        [("booth_payment", 5_000_000), ("call", -960_000), ("call", -70_000), ("booth_change", -3_970_000)],
    )
    assert audit_actions(engine) == ["callshop.start", "callshop.payment", "callshop.change", "callshop.stop"]
    cli("check")
    assert cli("callshop", "receipt", BOOTH).stdout == out  # a second copy, identical


def test_postpaid_booth_on_the_default_credit_limit(shop, cli, engine):
    cli("callshop", "preferences", "set", "--default-credit-limit", "20")
    assert "postpaid, credit limit 20.00 USD" in cli("callshop", "start", BOOTH).stdout
    talk(engine, shop, UK, 95_000)
    [status] = json.loads(cli("callshop", "status", "--json").stdout)
    assert {k: status[k] for k in ("state", "mode", "total", "remaining")} == {
        "state": "started",
        "mode": "postpaid",
        "total": "0.96",
        "remaining": "19.04",
    }
    receipt = json.loads(cli("callshop", "stop", BOOTH, "--json").stdout)
    assert {k: receipt[k] for k in ("mode", "total", "paid", "change", "due")} == {
        "mode": "postpaid",
        "total": "0.96",
        "paid": "0.00",
        "change": "0.00",
        "due": "0.96",
    }
    assert [(c["number"], c["destination"], c["billed_seconds"], c["cost"]) for c in receipt["calls"]] == [
        ("442071234567", "UK", 95, "0.96")
    ]
    assert booth_money(engine) == (0, 0, [("call", -960_000), ("booth_payment", 960_000)])
    assert pairs(cli("callshop", "receipt", BOOTH).stdout, "Paid", "Amount due", "Change") == {"Amount due": "0.96 USD"}
    cli("check")


@pytest.mark.parametrize("credit_limit, second_max_ms", [("0", "204000"), ("0.20", "324000")])
def test_booth_runs_out_of_money_mid_session(shop, cli, engine, credit_limit, second_max_ms):
    cli("callshop", "start", BOOTH, "--prepaid", "1.00", "--credit-limit", credit_limit)
    talk(engine, shop, UK, 61_000)  # billed 66 s: 0.66, leaves 0.34 (+ the credit limit)
    # the second call may last only what is left: 0.34 (0.54) pays 204 s (324 s) to the USA
    second = dial(engine, shop, USA)
    assert second["BILL_MAX_MS"] == second_max_ms
    # Dial's L() cuts the bridge a few ms after the maximum: those ms were never paid for
    settle(engine, CallResult(second["BILL_SESSION"], "ANSWER", int(second_max_ms) + 4))
    limit = parse_amount(credit_limit)
    assert booth_money(engine)[0] == -limit  # down to -credit limit, never below
    assert dial(engine, shop, USA) == {"BILL_STATUS": "NO_CREDIT"}
    receipt = json.loads(cli("callshop", "stop", BOOTH, "--json").stdout)
    assert (receipt["total"], receipt["paid"], receipt["change"], receipt["due"]) == (
        format_amount(1_000_000 + limit),
        "1.00",
        "0.00",
        format_amount(limit),
    )
    assert booth_money(engine)[:2] == (0, 0)
    cli("check")


def test_a_booth_calls_only_between_start_and_stop(shop, cli, engine, snapshot):
    assert dial(engine, shop, UK) == {"BILL_STATUS": "BOOTH_CLOSED"}
    assert dial(engine, shop, UK, extension="201")["BILL_STATUS"] == "OK"  # other extensions are not booths
    cli("callshop", "start", BOOTH, "--prepaid", "2")
    call = dial(engine, shop, UK)
    assert call["BILL_STATUS"] == "OK"
    [status] = json.loads(cli("callshop", "status", "--json").stdout)
    assert (status["state"], status["call_number"], status["remaining"]) == ("in a call", "442071234567", "2.00")
    before = snapshot()
    refused = cli("callshop", "stop", BOOTH, ok=False)
    assert (
        refused.stderr == "Error: booth booth-301 is in a call: stop it when the call has ended "
        "(see `asteriskbill callshop status`)\n"
    )
    assert snapshot() == before
    settle(engine, CallResult(call["BILL_SESSION"], "BUSY"))
    out = cli("callshop", "stop", BOOTH).stdout
    assert pairs(out, "Total", "Change") == {"Total": "0.00 USD", "Change": "2.00 USD"}
    assert " busy" in out  # tried, not charged
    assert dial(engine, shop, UK) == {"BILL_STATUS": "BOOTH_CLOSED"}
    with engine.begin() as conn:
        statuses = conn.execute(select(Reservation.status).order_by(Reservation.id)).scalars().all()
    assert statuses == ["open", "settled"]  # 201's call, the booth's
    [status] = json.loads(cli("callshop", "status", "--json").stdout)
    assert (status["state"], status["total"], status["remaining"]) == ("idle", "0.00", None)


def test_status_of_every_booth(shop, cli):
    cli("accounts", "create", "extension", "booth-302", "--tariff", "retail", "--extension", "302", "--booth")
    cli("callshop", "start", "booth-302", "--prepaid", "3", "--credit-limit", "1")
    rows = json.loads(cli("callshop", "status", "--json").stdout)
    assert [(r["booth"], r["state"], r["mode"], r["total"], r["remaining"], r["since"] is None) for r in rows] == [
        ("booth-301", "idle", None, "0.00", None, True),
        ("booth-302", "started", "prepaid", "0.00", "4.00", False),
    ]
    text = cli("callshop", "status").stdout
    assert re.search(r"^booth-302 +302 +started +\S+ +prepaid +0.00 USD +4.00 USD$", text, re.M)


def test_preferences_and_the_default_prepaid(shop, cli, engine):
    assert json.loads(cli("callshop", "preferences", "show", "--json").stdout) == {
        "default_prepaid": None,
        "default_credit_limit": None,
    }
    cli("callshop", "preferences", "set", "--default-prepaid", "5")
    cli("callshop", "preferences", "set", "--default-credit-limit", "20")
    assert json.loads(cli("callshop", "preferences", "show", "--json").stdout) == {
        "default_prepaid": "5.00",
        "default_credit_limit": "20.00",
    }
    assert "default_prepaid:      5.00" in cli("callshop", "preferences", "show").stdout
    assert "prepaid 5.00 USD" in cli("callshop", "start", BOOTH, "--use-default-prepaid").stdout
    assert booth_money(engine)[:2] == (5_000_000, 0)  # a prepaid booth takes no default credit limit


def test_receipt_files(shop, cli, engine, tmp_path):
    cli("callshop", "start", BOOTH, "--prepaid", "5")
    talk(engine, shop, UK, 95_000)
    text = cli("callshop", "stop", BOOTH, "-o", tmp_path / "receipt.txt").stdout
    assert (tmp_path / "receipt.txt").read_text() == text
    cli("callshop", "receipt", BOOTH, "-o", tmp_path / "receipt.pdf")
    pdf = (tmp_path / "receipt.pdf").read_bytes()
    assert {(tmp_path / name).stat().st_mode & 0o777 for name in ("receipt.txt", "receipt.pdf")} == {0o600}
    assert pdf.startswith(b"%PDF-1.4\n") and pdf.endswith(b"%%EOF\n")
    xref = int(pdf.rsplit(b"startxref\n", 1)[1].split()[0])
    offsets = [int(line[:10]) for line in pdf[xref:].split(b"\n")[3:8]]
    assert pdf[xref : xref + 4] == b"xref" and [pdf[o : o + 7] for o in offsets] == [
        b"%d 0 obj" % n for n in range(1, 6)
    ]
    length = int(re.search(rb"/Length (\d+) >>\nstream\n", pdf).group(1))
    stream = pdf.split(b"stream\n", 1)[1][:length]
    assert stream.endswith(b"ET") and re.search(rb"\(Change +4\.04 USD\) Tj", stream)


ERRORS = [
    (("callshop", "start", "acme-201", "--prepaid", "5"), "acme-201 is not a booth"),
    (("callshop", "start", "nobody"), "no account named 'nobody'"),
    (("callshop", "start", BOOTH), "a postpaid booth needs a credit limit above 0"),
    (("callshop", "start", BOOTH, "--credit-limit", "0"), "a postpaid booth needs a credit limit above 0"),
    (("callshop", "start", BOOTH, "--prepaid", "0"), "a prepaid amount must be more than 0"),
    (("callshop", "start", BOOTH, "--prepaid", "-5"), "must not be negative"),
    (("callshop", "start", BOOTH, "--prepaid", "5.0000001"), "more than 6 decimals"),
    (("callshop", "start", BOOTH, "--use-default-prepaid"), "no default prepaid amount is set"),
    (("callshop", "start", BOOTH, "--prepaid", "5", "--use-default-prepaid"), "not both"),
    (("callshop", "start", "booth-302", "--prepaid", "5"), "and is not stopped yet"),
    (("callshop", "start", "booth-303", "--prepaid", "5"), "booth-303 has a balance of 1.00 USD"),
    (("callshop", "start", "booth-304", "--prepaid", "5"), "booth booth-304 is frozen"),
    (("callshop", "stop", BOOTH), "booth booth-301 is not started"),
    (("callshop", "stop", "acme-201"), "acme-201 is not a booth"),
    (("callshop", "stop", "booth-302", "-o", "receipt.csv"), "use a file ending in .txt or .pdf"),
    (("callshop", "stop", "booth-302", "-o", "missing/receipt.txt"), "does not exist or cannot be written"),
    (("callshop", "receipt", BOOTH), "has not been stopped yet"),
    (("callshop", "preferences", "set"), "give --default-prepaid AMOUNT, --default-credit-limit AMOUNT or both"),
    (("callshop", "preferences", "set", "--default-prepaid", "x"), "is not a decimal number"),
    (("accounts", "create", "company", "x", "--tariff", "retail", "--booth"), "--booth is for extension accounts"),
    (
        ("accounts", "create", "extension", "x", "--tariff", "retail", "--booth", "--credit-limit", "5"),
        "a booth's credit limit is set by `asteriskbill callshop start`",
    ),
]


@pytest.mark.parametrize("args, message", ERRORS, ids=[" ".join(a[1:3]) + f"-{i}" for i, (a, _) in enumerate(ERRORS)])
def test_bad_input_is_refused_and_changes_nothing(shop, cli, snapshot, tmp_path, monkeypatch, args, message):
    for name in ("booth-302", "booth-303", "booth-304"):
        cli("accounts", "create", "extension", name, "--tariff", "retail", "--booth")
    cli("callshop", "start", "booth-302", "--prepaid", "5")
    cli("accounts", "recharge", "booth-303", "1")
    cli("accounts", "freeze", "booth-304")
    (tmp_path / "work").mkdir()
    monkeypatch.chdir(tmp_path / "work")
    before = snapshot()
    result = cli(*args, ok=False)
    assert message in result.stderr
    assert snapshot() == before and not any((tmp_path / "work").iterdir())


def test_every_callshop_command_has_an_example(cli):
    for path in (("start",), ("stop",), ("receipt",), ("status",), ("preferences", "set"), ("preferences", "show")):
        assert "Example:\n\n      asteriskbill callshop " in cli("callshop", *path, "--help").stdout, path
