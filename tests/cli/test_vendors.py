"""`vendors`, `vendor-rates` and `trunks` through the real command, on every backend."""

import json

import pytest
from sqlalchemy import select

from asteriskbill.store.models import AuditEntry, Tariff, Vendor, VendorLedgerEntry

CARRIER_RATES = """\
prefix,destination,price,increments,weekdays,time_from,time_to
44,UK peak,0.06,60/1,mon-fri,09:00,18:00
44,UK,0.02,60/1,,,
4420,London,0.015,1/1,,,
"""


def one_line_error(result) -> str:
    """The refusal: exit status 1 and one line on stderr."""
    assert result.exit_code == 1, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    return lines[0]


def actions(engine) -> list[tuple[str, str]]:
    with engine.begin() as conn:
        return [
            tuple(row) for row in conn.execute(select(AuditEntry.action, AuditEntry.subject).order_by(AuditEntry.id))
        ]


@pytest.fixture
def carrier(cli):
    cli("vendors", "add", "carrier1", "--currency", "usd", "--prepaid")
    return "carrier1"


def test_add_list_show_vendor_with_its_own_tariff(cli, engine, carrier):
    assert cli("vendors", "add", "carrier2", "--currency", "EUR", "--timezone", "Europe/Sofia").stdout == (
        "vendor carrier2 added (EUR, postpaid; its rates: tariff vendor:carrier2)\n"
    )
    with engine.begin() as conn:
        tariffs = conn.execute(select(Tariff.name, Tariff.currency, Tariff.timezone).order_by(Tariff.name)).all()
        vendors = conn.execute(select(Vendor.name, Vendor.tariff_id, Vendor.prepaid).order_by(Vendor.name)).all()
    assert [tuple(t) for t in tariffs] == [
        ("vendor:carrier1", "USD", "UTC"),
        ("vendor:carrier2", "EUR", "Europe/Sofia"),
    ]
    assert [(v.name, v.prepaid) for v in vendors] == [("carrier1", True), ("carrier2", False)]
    listed = json.loads(cli("vendors", "list", "--json").stdout)
    assert [(v["name"], v["currency"], v["balance"], v["rates"]) for v in listed] == [
        ("carrier1", "USD", "0.00", 0),
        ("carrier2", "EUR", None, 0),
    ]
    shown = cli("vendors", "show", carrier).stdout
    assert "balance:  0.00" in shown and "tariff:   vendor:carrier1" in shown and "trunks:   (none)" in shown
    assert ("vendor.add", "carrier2") in actions(engine)


def test_bad_vendors_change_nothing(cli, snapshot, carrier):
    before = snapshot()
    assert one_line_error(cli("vendors", "add", carrier, "--currency", "USD", ok=False)).endswith(
        "vendor 'carrier1' exists already"
    )
    assert "three letters" in one_line_error(cli("vendors", "add", "c3", "--currency", "DOLLARS", ok=False))
    assert "unknown time zone" in one_line_error(
        cli("vendors", "add", "c3", "--currency", "USD", "--timezone", "Mars/Olympus", ok=False)
    )
    assert "longer than 57" in one_line_error(cli("vendors", "add", "x" * 58, "--currency", "USD", ok=False))
    assert "no vendor named 'nope'" in one_line_error(cli("vendors", "show", "nope", ok=False))
    assert "no vendor named 'nope'" in one_line_error(cli("vendors", "recharge", "nope", "10", ok=False))
    assert snapshot() == before


def test_a_vendors_rates_are_not_sold_to_accounts(cli, snapshot, carrier):
    before = snapshot()
    refusal = "tariff vendor:carrier1 is the rates of vendor carrier1: give a tariff that accounts call on"
    created = cli("accounts", "create", "company", "acme", "--tariff", "vendor:carrier1", ok=False)
    assert one_line_error(created).endswith(refusal)
    cards = cli("cards", "generate", "--count", "1", "--value", "5", "--tariff", "vendor:carrier1", ok=False)
    assert one_line_error(cards).endswith(refusal)
    assert snapshot() == before


def test_recharge_and_adjust_write_ledger_rows(cli, engine, carrier):
    result = cli("vendors", "recharge", carrier, "150", "--reference", "INV-7")
    assert result.stdout == "recharged vendor carrier1 with 150.00 USD: balance 150.00 USD\n"
    cli("vendors", "adjust", carrier, "-12.50", "--note", "their November statement")
    with engine.begin() as conn:
        rows = conn.execute(
            select(
                VendorLedgerEntry.kind,
                VendorLedgerEntry.amount,
                VendorLedgerEntry.balance_after,
                VendorLedgerEntry.reference,
                VendorLedgerEntry.operator,
            ).order_by(VendorLedgerEntry.id)
        ).all()
        balance = conn.execute(select(Vendor.balance).where(Vendor.name == carrier)).scalar_one()
    assert [tuple(r) for r in rows] == [
        ("recharge", 150_000_000, 150_000_000, "INV-7", "tester"),
        ("adjust", -12_500_000, 137_500_000, None, "tester"),
    ]
    assert balance == 137_500_000
    assert [a for a in actions(engine) if a[0].startswith("vendor.")][-2:] == [
        ("vendor.recharge", carrier),
        ("vendor.adjust", carrier),
    ]
    history = json.loads(cli("vendors", "history", carrier, "--json").stdout)
    assert [(e["kind"], e["balance_after"]) for e in history["entries"]] == [
        ("adjust", "137.50"),
        ("recharge", "150.00"),
    ]


def test_refused_recharges_change_nothing(cli, snapshot, carrier):
    cli("vendors", "add", "postpaid", "--currency", "USD")
    before = snapshot()
    assert one_line_error(cli("vendors", "recharge", "postpaid", "10", ok=False)) == (
        "Error: vendor postpaid is not prepaid: it has no balance to recharge (`vendors edit --prepaid`)"
    )
    assert "max_amount" in one_line_error(cli("vendors", "recharge", carrier, "1000001", ok=False))
    assert "must be more than 0" in one_line_error(cli("vendors", "recharge", carrier, "0", ok=False))
    assert "other than 0" in one_line_error(cli("vendors", "adjust", carrier, "0", "--note", "x", ok=False))
    assert snapshot() == before


def test_edit_vendor(cli, engine, carrier, tmp_path):
    assert cli("vendors", "edit", carrier, "--currency", "EUR").stdout == "vendor carrier1 changed (EUR, prepaid)\n"
    cli("vendors", "edit", carrier, "--name", "carrier-one", "--postpaid")
    with engine.begin() as conn:
        assert conn.execute(select(Tariff.name, Tariff.currency)).one() == ("vendor:carrier-one", "EUR")
    cli("vendors", "edit", "carrier-one", "--prepaid")
    cli("vendors", "recharge", "carrier-one", "5")
    assert "adjust it to 0 first" in one_line_error(cli("vendors", "edit", "carrier-one", "--postpaid", ok=False))
    assert "ledger entries" in one_line_error(cli("vendors", "edit", "carrier-one", "--currency", "USD", ok=False))
    cli("vendors", "add", "rated", "--currency", "USD")
    (tmp_path / "r.csv").write_text(CARRIER_RATES)
    cli("vendor-rates", "import", "rated", tmp_path / "r.csv")
    assert "has rates in USD" in one_line_error(cli("vendors", "edit", "rated", "--currency", "EUR", ok=False))
    assert "nothing to change" in one_line_error(cli("vendors", "edit", "rated", ok=False))


def test_vendor_rates_import_and_list(cli, carrier, tmp_path):
    (tmp_path / "r.csv").write_text(CARRIER_RATES)
    assert cli("vendor-rates", "import", carrier, tmp_path / "r.csv").stdout == (
        "imported 3 rates into tariff vendor:carrier1\n"
    )
    listed = json.loads(cli("vendor-rates", "list", carrier, "4420", "--json").stdout)
    assert [(r["prefix"], r["price"]) for r in listed] == [("4420", "0.015")]
    table = cli("vendor-rates", "list", carrier).stdout
    assert "mon-fri, 09:00-18:00" in table and table.count("\n") == 4
    assert json.loads(cli("vendors", "show", carrier, "--json").stdout)["rates"] == 3


def test_vendor_rates_import_is_all_or_nothing(cli, snapshot, carrier, tmp_path):
    (tmp_path / "bad.csv").write_text("prefix,price\n44,0.01\n45,0.1234567\n")
    before = snapshot()
    result = cli("vendor-rates", "import", carrier, tmp_path / "bad.csv", ok=False)
    assert "line 3" in result.stderr and "more than 6" in result.stderr
    assert "no vendor named 'nope'" in one_line_error(
        cli("vendor-rates", "import", "nope", tmp_path / "bad.csv", ok=False)
    )
    assert snapshot() == before


def test_trunks_add_list_edit(cli, engine, carrier):
    result = cli(
        "trunks", "add", carrier, "c1-sofia", "--dial", "PJSIP/${NUMBER}@carrier1", "--strip", "2",
        "--add-prefix", "0011", "--channels", "30",
    )  # fmt: skip
    assert result.stdout == (
        "trunk c1-sofia of vendor carrier1: PJSIP/${NUMBER}@carrier1 (strip 2, add 0011, 30 channels) added\n"
    )
    cli("vendors", "add", "carrier2", "--currency", "USD")
    cli("trunks", "add", "carrier2", "c2", "--dial", "SIP/${NUMBER}@c2")
    assert [t["name"] for t in json.loads(cli("trunks", "list", "--json").stdout)] == ["c1-sofia", "c2"]
    only = json.loads(cli("trunks", "list", "--vendor", "carrier2", "--json").stdout)
    assert only == [
        {
            "name": "c2",
            "vendor": "carrier2",
            "dial": "SIP/${NUMBER}@c2",
            "strip": 0,
            "add_prefix": "",
            "channels": None,
            "enabled": True,
            "demoted": None,
        }
    ]
    assert cli("trunks", "edit", "c1-sofia", "--no-limit", "--disable", "--add-prefix", "").stdout == (
        "trunk c1-sofia of vendor carrier1: PJSIP/${NUMBER}@carrier1 (strip 2, no channel limit, disabled) now\n"
    )
    cli("trunks", "edit", "c1-sofia", "--enable", "--channels", "5", "--dial", "IAX2/c1/${NUMBER}")
    shown = json.loads(cli("trunks", "list", "--vendor", carrier, "--json").stdout)[0]
    assert (shown["dial"], shown["channels"], shown["enabled"]) == ("IAX2/c1/${NUMBER}", 5, True)
    assert "trunks:   c1-sofia" in cli("vendors", "show", carrier).stdout
    assert [a for a in actions(engine) if a[0].startswith("trunk.")] == [
        ("trunk.add", "c1-sofia"),
        ("trunk.add", "c2"),
        ("trunk.edit", "c1-sofia"),
        ("trunk.edit", "c1-sofia"),
    ]


def test_bad_trunks_change_nothing(cli, snapshot, carrier):
    cli("trunks", "add", carrier, "c1", "--dial", "PJSIP/${NUMBER}@carrier1")
    before = snapshot()
    assert "must contain ${NUMBER}" in one_line_error(cli("trunks", "add", carrier, "c9", "--dial", "SIP/x", ok=False))
    assert "no spaces, commas" in one_line_error(
        cli("trunks", "add", carrier, "c9", "--dial", "SIP/${NUMBER},30", ok=False)
    )
    assert one_line_error(cli("trunks", "add", carrier, "c1", "--dial", "SIP/${NUMBER}", ok=False)) == (
        "Error: a trunk named 'c1' exists already (trunk names are unique across vendors)"
    )
    assert "no vendor named 'nope'" in one_line_error(
        cli("trunks", "add", "nope", "c9", "--dial", "SIP/${NUMBER}", ok=False)
    )
    assert "up to 16 digits" in one_line_error(
        cli("trunks", "add", carrier, "c9", "--dial", "SIP/${NUMBER}", "--add-prefix", "9x", ok=False)
    )
    assert "not both" in one_line_error(cli("trunks", "edit", "c1", "--channels", "3", "--no-limit", ok=False))
    assert "must contain ${NUMBER}" in one_line_error(cli("trunks", "edit", "c1", "--dial", "SIP/1", ok=False))
    assert "no trunk named 'c9'" in one_line_error(cli("trunks", "edit", "c9", "--disable", ok=False))
    assert "nothing to change" in one_line_error(cli("trunks", "edit", "c1", ok=False))
    assert snapshot() == before
