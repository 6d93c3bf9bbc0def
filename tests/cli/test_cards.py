"""`cards ...` through the real command, on every backend: generation, PIN files, status, ledger, refusals."""

import csv
import io
import json
import os
import stat
from datetime import UTC, datetime, timedelta

import openpyxl
import pytest
from sqlalchemy import func, select, update

from asteriskbill.billing import cards as rules
from asteriskbill.services import cards, ledger
from asteriskbill.store.models import AuditEntry, Card, LedgerEntry


@pytest.fixture
def retail(cli):
    cli("tariff", "create", "retail", "--currency", "USD", "--timezone", "Europe/Sofia")
    return cli


def read_csv(text: str) -> list[dict]:
    return list(csv.DictReader(io.StringIO(text)))


def generate(cli, tmp_path, *args, name="cards.csv") -> list[dict]:
    """Generate a batch into a CSV file; its rows."""
    path = tmp_path / name
    cli("cards", "generate", "--tariff", "retail", *args, "-o", path)
    return read_csv(path.read_text())


def card_list(cli, *args) -> list[dict]:
    return json.loads(cli("cards", "list", "--json", *args).stdout)


def test_generate_writes_pins_once_and_stores_only_their_hash(retail, engine, tmp_path, secret_file):
    rows = generate(
        retail,
        tmp_path,
        "--count",
        "20",
        "--value",
        "5",
        "--batch-name",
        "jan",
        "--activation",
        "first-use",
        "--valid-days",
        "183",
    )
    assert stat.S_IMODE(os.stat(tmp_path / "cards.csv").st_mode) == 0o600
    assert stat.S_IMODE(os.stat(secret_file).st_mode) == 0o600
    assert not list(tmp_path.glob(".*partial*"))
    numbers = [r["number"] for r in rows]
    assert len(set(numbers)) == 20 and all(len(n) == 12 and rules.luhn_valid(n) for n in numbers)
    assert {(r["value"], r["currency"], r["batch"], r["validity"]) for r in rows} == {
        ("5.00", "USD", "jan", "183 days from activation")
    }
    secret = secret_file.read_bytes().strip()
    with engine.begin() as conn:
        hashes = dict(conn.execute(select(Card.number, Card.pin_hash)).all())
        face = conn.execute(
            select(LedgerEntry.kind, LedgerEntry.amount, LedgerEntry.balance_after, LedgerEntry.reference)
        ).all()
        assert all(cards.pin_matches(conn, secret, r["number"], r["pin"]) for r in rows)
        assert not cards.pin_matches(conn, secret, rows[0]["number"], rows[1]["pin"] + "0")
    assert all(len(r["pin"]) == 6 and r["pin"] not in hashes[r["number"]] for r in rows)
    assert sorted(face) == [("face_value", 5_000_000, 5_000_000, "jan")] * 20
    listed = card_list(retail)
    assert [(c["number"], c["status"], c["balance"], c["batch"], c["expires_at"]) for c in listed] == [
        (n, "new", "5.00", "jan", "") for n in sorted(numbers)
    ]
    assert ledger.check(engine) == (20, [])


def test_generate_xlsx_reads_back_as_text(retail, tmp_path):
    path = tmp_path / "cards.xlsx"
    out = retail(
        "cards",
        "generate",
        "--count",
        "3",
        "--value",
        "2.5",
        "--tariff",
        "retail",
        "--number-digits",
        "16",
        "--pin-digits",
        "4",
        "--expires",
        "2099-12-31",
        "-o",
        path,
    ).stdout
    assert "3 cards of 2.50 USD" in out and f"PINs in {path}" in out
    sheet = openpyxl.load_workbook(path).active
    header, *rows = [[cell.value for cell in row] for row in sheet.iter_rows()]
    assert header == ["number", "pin", "value", "currency", "batch", "validity"]
    assert all(isinstance(n, str) and len(n) == 16 and rules.luhn_valid(n) and len(p) == 4 for n, p, *_ in rows)
    assert {tuple(r[2:]) for r in rows} == {(2.5, "USD", "batch-1", "until 2099-12-31T22:00:00+00:00")}  # a number


def test_generate_to_standard_output(retail):
    result = retail("cards", "generate", "--count", "2", "--value", "1", "--tariff", "retail")
    rows = read_csv(result.stdout)
    assert len(rows) == 2 and all(rules.luhn_valid(r["number"]) for r in rows)
    assert "PINs above, not stored" in result.stderr


def test_activation_modes(retail, engine, tmp_path):
    now_cards = generate(retail, tmp_path, "--count", "1", "--value", "1", "--valid-days", "30", name="a.csv")
    manual = generate(retail, tmp_path, "--count", "2", "--value", "1", "--activation", "manual", name="b.csv")
    first_use = generate(
        retail,
        tmp_path,
        "--count",
        "1",
        "--value",
        "1",
        "--activation",
        "first-use",
        "--valid-days",
        "183",
        name="c.csv",
    )
    shown = json.loads(retail("cards", "show", now_cards[0]["number"], "--json").stdout)
    activated = datetime.fromisoformat(shown["activated_at"])
    assert (shown["status"], datetime.fromisoformat(shown["expires_at"])) == ("active", activated + timedelta(days=30))

    number = manual[0]["number"]
    assert json.loads(retail("cards", "show", number, "--json").stdout)["reason"].endswith("is not activated yet")
    assert f"card {number} activated: active" in retail("cards", "activate", number).stdout
    assert "is active, not new" in retail("cards", "activate", number, ok=False).output

    number = first_use[0]["number"]
    use = datetime.now(UTC) + timedelta(days=2)
    with engine.begin() as conn:
        used = cards.record_use(conn, number, now=use)
    assert (used.status, used.activated_at, used.first_used_at, used.expires_at) == (
        "active",
        use,
        use,
        use + timedelta(days=183),
    )
    assert card_list(retail, "--batch", "batch-3")[0]["first_used_at"] == use.isoformat(timespec="seconds")


def test_expired_cards(retail, engine, tmp_path):
    rows = generate(retail, tmp_path, "--count", "3", "--value", "1", "--activation", "manual")
    past = datetime(2026, 1, 2, tzinfo=UTC)
    with engine.begin() as conn:
        conn.execute(update(Card).where(Card.number == rows[0]["number"]).values(expires_at=past))
        with pytest.raises(rules.CardError, match="expired on 2026-01-02"):
            cards.record_use(conn, rows[0]["number"])
    assert [c["number"] for c in card_list(retail, "--status", "expired")] == [rows[0]["number"]]
    shown = json.loads(retail("cards", "show", rows[0]["number"], "--json").stdout)
    assert (shown["status"], shown["reason"]) == (
        "expired",
        f"card {rows[0]['number']} expired on 2026-01-02 00:00 UTC",
    )
    assert "expired on 2026-01-02" in retail("cards", "activate", rows[0]["number"], ok=False).output


def test_list_status_filter_agrees_with_the_decision(retail, engine, tmp_path):
    active = [r["number"] for r in generate(retail, tmp_path, "--count", "4", "--value", "1", name="a.csv")]
    new = [
        r["number"]
        for r in generate(
            retail,
            tmp_path,
            "--count",
            "4",
            "--value",
            "1",
            "--activation",
            "manual",
            "--valid-days",
            "9",
            name="b.csv",
        )
    ]
    with engine.begin() as conn:
        conn.execute(
            update(Card)
            .where(Card.number.in_([active[0], new[0], active[1]]))
            .values(expires_at=datetime(2026, 1, 1, tzinfo=UTC))
        )
    retail("cards", "disable", active[1], new[1])  # a disabled card stays disabled once expired
    retail("cards", "delete", active[2])
    decided = {
        number: json.loads(retail("cards", "show", number, "--json").stdout)["status"] for number in active + new
    }
    assert decided == {
        active[0]: "expired",
        new[0]: "expired",
        active[1]: "disabled",
        new[1]: "disabled",
        active[2]: "deleted",
        active[3]: "active",
        new[2]: "new",
        new[3]: "new",
    }
    for status in rules.STATUSES:
        assert {c["number"] for c in card_list(retail, "--status", status)} == {
            n for n, s in decided.items() if s == status
        }


def test_recharge_reset_pin_enable_disable(retail, engine, tmp_path, secret_file):
    rows = generate(retail, tmp_path, "--count", "2", "--value", "5")
    number = rows[0]["number"]
    out = retail("cards", "recharge", number, "10", "--order", "A-17").stdout
    assert out.strip() == f"recharged card {number} with 10.00 USD (order A-17): balance 15.00 USD"
    pin = retail("cards", "reset-pin", number).stdout.split()[-1]
    secret = secret_file.read_bytes().strip()
    with engine.begin() as conn:
        assert cards.pin_matches(conn, secret, number, pin)
        assert pin == rows[0]["pin"] or not cards.pin_matches(conn, secret, number, rows[0]["pin"])
    assert "disabled: disabled" in retail("cards", "disable", *[r["number"] for r in rows]).stdout
    assert "disabled already" in retail("cards", "disable", number, ok=False).output
    assert f"card {number} enabled: active" in retail("cards", "enable", number).stdout
    shown = json.loads(retail("cards", "show", number, "--json").stdout)
    assert [(e["kind"], e["amount"], e["reference"]) for e in shown["entries"]] == [
        ("recharge", "10.00", "A-17"),
        ("face_value", "5.00", "batch-1"),
    ]
    with engine.begin() as conn:
        actions = conn.execute(
            select(AuditEntry.action, AuditEntry.subject, AuditEntry.operator).order_by(AuditEntry.id)
        ).all()
    assert [a for a, *_ in actions] == [
        "tariff.create",
        "batch.generate",
        "card.recharge",
        "card.reset-pin",
        "card.disable",
        "card.disable",
        "card.enable",
    ]
    assert {o for *_, o in actions} == {"tester"}
    assert pin not in str(actions)


def test_delete_only_unused_cards(retail, engine, tmp_path):
    rows = generate(retail, tmp_path, "--count", "4", "--value", "5")
    unused, used, recharged, other = (r["number"] for r in rows)
    with engine.begin() as conn:
        cards.record_use(conn, used)
    retail("cards", "recharge", recharged, "1")
    assert "was used on" in retail("cards", "delete", unused, used, ok=False).output
    assert "disable it instead" in retail("cards", "delete", recharged, ok=False).output
    assert card_list(retail, "--status", "deleted") == []  # all or nothing: the unused one is kept too
    assert f"card {unused} deleted: deleted" in retail("cards", "delete", unused).stdout
    assert unused not in [c["number"] for c in card_list(retail)]
    deleted = card_list(retail, "--status", "deleted")
    assert [(c["number"], c["balance"]) for c in deleted] == [(unused, "0.00")]
    history = json.loads(retail("accounts", "history", unused, "--json").stdout)["entries"]
    assert [(e["kind"], e["amount"], e["balance_after"]) for e in history] == [
        ("adjustment", "-5.00", "0.00"),
        ("face_value", "5.00", "5.00"),
    ]
    assert "deleted already" in retail("cards", "delete", unused, ok=False).output
    assert f"card {unused} is deleted" in retail("cards", "recharge", unused, "1", ok=False).output
    assert ledger.check(engine)[1] == []
    assert batch_row(retail)["used"] == 1 and batch_row(retail)["deleted"] == 1
    assert other


def batch_row(cli) -> dict:
    return json.loads(cli("batches", "show", "batch-1", "--json").stdout)


def test_list_search_and_export(retail, engine, tmp_path):
    first = generate(retail, tmp_path, "--count", "3", "--value", "5", "--batch-name", "one", name="1.csv")
    generate(retail, tmp_path, "--count", "2", "--value", "7", "--batch-name", "two", name="2.csv")
    assert len(card_list(retail, "--batch", "two")) == 2
    assert len(card_list(retail, "--batch", "1")) == 3  # by id
    digits = first[0]["number"][3:9]
    assert first[0]["number"] in [c["number"] for c in card_list(retail, "--search", digits)]
    text = retail("cards", "list", "--batch", "one").stdout
    assert "5.00 USD  one" in text
    path = tmp_path / "export.xlsx"
    assert "3 cards written" in retail("cards", "export", "--batch", "one", "-o", path).stdout
    header, *rows = [[c.value for c in r] for r in openpyxl.load_workbook(path).active.iter_rows()]
    assert "pin" not in header and header[:4] == ["number", "status", "balance", "currency"]
    assert sorted(r[0] for r in rows) == sorted(r["number"] for r in first)
    exported = read_csv(retail("cards", "export").stdout)
    assert len(exported) == 5 and all("pin" not in r for r in exported)
    with engine.begin() as conn:
        assert (
            conn.execute(
                select(func.count()).select_from(AuditEntry).where(AuditEntry.action == "card.export")
            ).scalar_one()
            == 2
        )


@pytest.mark.parametrize(
    "args, message",
    [
        (("recharge", "400012345679", "5"), "fails its check digit: mistyped?"),
        (("recharge", "{card}", "-5"), "must not be negative"),
        (("recharge", "{card}", "1.2.3"), "is not a decimal number"),
        (("show", "79927398713"), "no card numbered 79927398713"),
        (("disable", "{card}", "79927398713"), "no card numbered 79927398713"),
        (("delete", "{card}", "12"), "fails its check digit"),
        (("enable", "{card}"), "is active, not disabled"),
        (("reset-pin", "{card}", "--pin-digits", "3"), "PINs have 4 to 12 digits"),
        (("list", "--batch", "nope"), "no batch 'nope'"),
        (("list", "--search", "12ab"), "card numbers are digits"),
        (("generate", "--count", "0", "--value", "1", "--tariff", "retail"), "0 is not in the range x>=1"),
        (("generate", "--count", "1", "--value", "0", "--tariff", "retail"), "--value must be more than 0"),
        (("generate", "--count", "1", "--value", "-1", "--tariff", "retail"), "must not be negative"),
        (("generate", "--count", "1", "--value", "1", "--tariff", "nope"), "no tariff named 'nope'"),
        (
            ("generate", "--count", "1", "--value", "1", "--tariff", "retail", "--currency", "EUR"),
            "tariff retail is in USD, account these cards is in EUR",
        ),
        (
            (
                "generate",
                "--count",
                "1",
                "--value",
                "1",
                "--tariff",
                "retail",
                "--valid-days",
                "5",
                "--expires",
                "2099-01-01",
            ),
            "give --valid-days or --expires, not both",
        ),
        (("generate", "--count", "1", "--value", "1", "--tariff", "retail", "--expires", "2020-01-01"), "in the past"),
        (("generate", "--count", "1", "--value", "1", "--tariff", "retail", "--number-digits", "6"), "8 to 19 digits"),
        (
            ("generate", "--count", "10000", "--value", "1", "--tariff", "retail", "--number-digits", "8"),
            "easy to guess",
        ),
        (("generate", "--count", "1", "--value", "1", "--tariff", "retail", "--batch-name", "old"), "exists already"),
        (("generate", "--count", "1", "--value", "1", "--tariff", "retail", "--batch-name", "42"), "not only digits"),
        (("generate", "--count", "1", "--value", "1", "--tariff", "retail", "-o", "cards.txt"), "use a file ending in"),
        (
            ("generate", "--count", "1", "--value", "1", "--tariff", "retail", "-o", "{tmp}/missing/cards.csv"),
            "folder does not exist or is not writable",
        ),
        (("export", "-o", "{tmp}/missing/cards.xlsx"), "cannot write"),
    ],
)
def test_bad_input_is_refused_and_changes_nothing(retail, tmp_path, snapshot, args, message):
    card = generate(retail, tmp_path, "--count", "1", "--value", "1", "--batch-name", "old")[0]["number"]
    before, files = snapshot(), sorted(tmp_path.rglob("*"))
    result = retail("cards", *(a.format(card=card, tmp=tmp_path) for a in args), ok=False)
    assert message in result.output
    if result.exit_code == 1:
        assert result.stderr.count("\n") == 1
    assert snapshot() == before
    assert sorted(tmp_path.rglob("*")) == files  # no PIN file, no partial file left behind


def test_secret_must_stay_private(retail, secret_file, snapshot):
    secret_file.write_text("x" * 64)
    secret_file.chmod(0o644)
    before = snapshot()
    result = retail("cards", "generate", "--count", "1", "--value", "1", "--tariff", "retail", ok=False)
    assert f"installation secret {secret_file} is readable by others: chmod 600" in result.output
    assert snapshot() == before
