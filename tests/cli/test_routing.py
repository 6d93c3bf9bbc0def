"""`routing ...` (routing groups, binding, `routing explain`) through the real command, on every backend."""

import json
from datetime import UTC, datetime

import pytest
from sqlalchemy import insert, select

from asteriskbill.store.models import Account, AuditEntry, Reservation, Trunk
from tests.cli.test_vendors import one_line_error

SELL = "prefix,destination,price,increments\n44,UK,0.10,60/6\n"
# Cheap at night, dear in peak hours (09:00-18:00 on weekdays, the vendor's clock: UTC).
NIGHT = """\
prefix,destination,price,increments,weekdays,time_from,time_to
44,UK peak,0.06,60/1,mon-fri,09:00,18:00
44,UK,0.02,60/1,,,
"""
FLAT = "prefix,destination,price,increments\n44,UK,0.04,60/1\n"
DEAR = "prefix,destination,price,increments\n44,UK,0.20,60/1\n"
TUESDAY = "2026-12-01"  # in Europe/London in December: UTC


def vendor(cli, tmp_path, name: str, rates: str, *flags: str) -> str:
    """A vendor with its rates and one trunk, t-NAME."""
    cli("vendors", "add", name, "--currency", "USD", *flags)
    (tmp_path / f"{name}.csv").write_text(rates)
    cli("vendor-rates", "import", name, tmp_path / f"{name}.csv")
    cli("trunks", "add", name, f"t-{name}", "--dial", f"PJSIP/${{NUMBER}}@{name}")
    return f"t-{name}"


@pytest.fixture
def shop(cli, tmp_path):
    """Company acme (tariff retail, Europe/London) with extension acme-0001, and two vendors, night and flat
    (prepaid, recharged), whose trunks are in the LCR group cheapest, bound to acme."""
    cli("tariff", "create", "retail", "--currency", "USD", "--timezone", "Europe/London")
    (tmp_path / "sell.csv").write_text(SELL)
    cli("rates", "import", "retail", tmp_path / "sell.csv")
    cli("accounts", "create", "company", "acme", "--tariff", "retail")
    cli("accounts", "create", "extension", "acme-0001", "--parent", "acme", "--extension", "101")
    vendor(cli, tmp_path, "night", NIGHT)
    vendor(cli, tmp_path, "flat", FLAT, "--prepaid")
    cli("vendors", "recharge", "flat", "100")
    cli("routing", "add", "cheapest", "--policy", "lcr")
    cli("routing", "add-trunk", "cheapest", "t-night")
    cli("routing", "add-trunk", "cheapest", "t-flat", "--priority", "2")
    cli("routing", "bind", "cheapest", "--account", "acme")
    return cli


def explained(cli, at: str, account: str = "acme-0001") -> dict:
    return json.loads(cli("routing", "explain", account, "00442071234567", "--at", at, "--json").stdout)


def order(data: dict) -> list[tuple]:
    """The candidates: the usable ones in the order tried, then the skipped ones (in no order: sorted)."""
    said = [(c["position"], c["trunk"], c["buy"], c["why"]) for c in data["candidates"]]
    return [c for c in said if c[0]] + sorted(c for c in said if not c[0])


def test_group_commands(shop, engine):
    cli = shop
    shown = json.loads(cli("routing", "show", "cheapest", "--json").stdout)
    assert shown == {
        "name": "cheapest",
        "policy": "lcr",
        "allow_loss": False,
        "entries": [
            {"trunk": "t-night", "vendor": "night", "prefix": "", "priority": 1, "weight": 1},
            {"trunk": "t-flat", "vendor": "flat", "prefix": "", "priority": 2, "weight": 1},
        ],
        "accounts": ["acme"],
        "tariffs": [],
    }
    text = cli("routing", "show", "cheapest").stdout
    assert "t-flat   flat    (every number)  2" in text and "bound to accounts: acme" in text
    assert cli("routing", "edit", "cheapest", "--policy", "priority", "--allow-loss").stdout == (
        "routing group cheapest (priority, may sell at a loss, 2 trunks) now\n"
    )
    cli("routing", "add-trunk", "cheapest", "t-flat", "--prefix", "4420", "--weight", "3")
    cli("routing", "remove-trunk", "cheapest", "t-night")
    cli("routing", "unbind", "--account", "acme")
    cli("routing", "bind", "cheapest", "--tariff", "retail")
    listed = json.loads(cli("routing", "list", "--json").stdout)
    assert [(g["name"], g["policy"], len(g["entries"]), g["accounts"], g["tariffs"]) for g in listed] == [
        ("cheapest", "priority", 2, [], ["retail"])
    ]
    assert "cheapest  priority  yes" in cli("routing", "list").stdout
    with engine.begin() as conn:
        audited = conn.execute(
            select(AuditEntry.action, AuditEntry.detail).where(AuditEntry.subject == "cheapest").order_by(AuditEntry.id)
        ).all()
    assert [a.action for a in audited] == [
        "routing.add",
        "routing.add-trunk",
        "routing.add-trunk",
        "routing.bind",
        "routing.edit",
        "routing.add-trunk",
        "routing.remove-trunk",
        "routing.unbind",
        "routing.bind",
    ]
    assert json.loads(audited[-1].detail) == {"account": None, "tariff": "retail"}


def test_bad_routing_input_changes_nothing(shop, snapshot):
    cli = shop
    before = snapshot()
    refusals = {
        ("routing", "add", "other", "--policy", "cheapest"): (
            "Error: unknown routing policy 'cheapest': use one of lcr, priority, weighted"
        ),
        ("routing", "add", "cheapest", "--policy", "lcr"): "Error: routing group 'cheapest' exists already",
        ("routing", "edit", "cheapest", "--policy", "random"): "unknown routing policy 'random'",
        ("routing", "edit", "nope", "--allow-loss"): "no routing group named 'nope'",
        ("routing", "edit", "cheapest"): "nothing to change",
        ("routing", "add-trunk", "cheapest", "t-nope"): "no trunk named 't-nope'",
        ("routing", "add-trunk", "cheapest", "t-flat"): (
            "Error: trunk t-flat is in routing group cheapest for every number already"
        ),
        ("routing", "add-trunk", "cheapest", "t-flat", "--prefix", "44x"): "must be up to 32 digits",
        ("routing", "remove-trunk", "cheapest", "t-flat", "--prefix", "44"): "not in routing group cheapest",
        ("routing", "bind", "cheapest", "--account", "nobody"): "no account named 'nobody'",
        ("routing", "bind", "cheapest", "--tariff", "nope"): "no tariff named 'nope'",
        ("routing", "bind", "cheapest", "--tariff", "vendor:flat"): "is the rates of vendor flat",
        ("routing", "bind", "cheapest"): "give exactly one of --account or --tariff",
        ("routing", "bind", "nope", "--account", "acme"): "no routing group named 'nope'",
        ("routing", "unbind", "--account", "acme-0001"): "account acme-0001 has no routing group",
        ("routing", "explain", "nobody", "0044207"): "no account named 'nobody'",
    }
    for args, said in refusals.items():
        assert said in one_line_error(cli(*args, ok=False)), args
    assert snapshot() == before


def test_explain_orders_by_the_buy_price_at_the_call_start(shop):
    before_peak = explained(shop, f"{TUESDAY} 08:59")
    assert {k: before_peak[k] for k in ("number", "group", "bound_by", "policy", "sell", "currency")} == {
        "number": "442071234567",
        "group": "cheapest",
        "bound_by": "company acme",
        "policy": "lcr",
        "sell": "0.10",
        "currency": "USD",
    }
    assert order(before_peak) == [
        (1, "t-night", "0.02", "buys at 0.02 a minute"),
        (2, "t-flat", "0.04", "buys at 0.04 a minute"),
    ]
    assert before_peak["candidates"][0]["dial"] == "PJSIP/442071234567@night"
    assert order(explained(shop, f"{TUESDAY}T09:00:00+00:00")) == [
        (1, "t-flat", "0.04", "buys at 0.04 a minute"),
        (2, "t-night", "0.06", "buys at 0.06 a minute"),
    ]
    text = shop("routing", "explain", "acme-0001", "00442071234567", "--at", f"{TUESDAY} 09:00").stdout
    assert text.splitlines()[:3] == [
        "00442071234567 -> 442071234567 (international) -> prefix 44 UK at 2026-12-01T09:00:00+00:00",
        "the first minute sells at 0.10 USD (tariff retail)",
        "routing group cheapest (policy lcr; bound to company acme)",
    ]
    assert text.splitlines()[4].split() == ["1", "t-flat", "flat", "0.04", "PJSIP/442071234567@flat", "buys", "at",
                                            "0.04", "a", "minute"]  # fmt: skip


def test_explain_shows_skipped_trunks_and_why(shop, engine, tmp_path):
    cli = shop
    vendor(cli, tmp_path, "dear", DEAR)
    cli("routing", "add-trunk", "cheapest", "t-dear")
    cli("trunks", "edit", "t-night", "--channels", "1")
    with engine.begin() as conn:
        account_id = conn.execute(select(Account.id).where(Account.name == "acme-0001")).scalar_one()
        trunk_id = conn.execute(select(Trunk.id).where(Trunk.name == "t-night")).scalar_one()
        now = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)
        conn.execute(
            insert(Reservation).values(
                session="call-on-t-night",
                account_id=account_id,
                status="open",
                amount=0,
                held_seconds=0,
                max_seconds=60,
                dialled="00442071234567",
                number="442071234567",
                call_class="international",
                prefix="44",
                priced_at=now,
                pricing="{}",
                trunk_id=trunk_id,
                created_at=now,
            )
        )
    data = explained(cli, f"{TUESDAY} 08:59")
    assert order(data) == [
        (1, "t-flat", "0.04", "buys at 0.04 a minute"),
        (None, "t-dear", "0.20", "skipped: buys at 0.20 a minute, sells at 0.10"),
        (None, "t-night", "0.02", "skipped: at its channel limit (1/1)"),
    ]
    text = cli("routing", "explain", "acme-0001", "00442071234567", "--at", f"{TUESDAY} 08:59").stdout
    assert "\n-         t-dear   dear    0.20" in text
    cli("routing", "edit", "cheapest", "--allow-loss")
    cli("vendors", "adjust", "flat", "-100", "--note", "spent")
    assert order(explained(cli, f"{TUESDAY} 08:59")) == [
        (1, "t-dear", "0.20", "buys at 0.20 a minute"),
        (None, "t-flat", "0.04", "skipped: vendor flat has no prepaid balance left"),
        (None, "t-night", "0.02", "skipped: at its channel limit (1/1)"),
    ]


def test_explain_by_the_tariffs_group_and_a_prefix_override(shop):
    cli = shop
    cli("routing", "unbind", "--account", "acme")
    cli("routing", "add", "by-priority", "--policy", "priority")
    cli("routing", "add-trunk", "by-priority", "t-night", "--priority", "5")
    cli("routing", "add-trunk", "by-priority", "t-flat", "--priority", "2")
    cli("routing", "add-trunk", "by-priority", "t-night", "--prefix", "4420")
    cli("routing", "bind", "by-priority", "--tariff", "retail")
    data = explained(cli, f"{TUESDAY} 09:00")
    assert (data["group"], data["bound_by"]) == ("by-priority", "tariff retail")
    assert [(c["position"], c["trunk"]) for c in data["candidates"]] == [(1, "t-night")]  # 4420 overrides ""
    other = json.loads(cli("routing", "explain", "acme-0001", "+447700900123", "--json").stdout)
    assert [(c["position"], c["trunk"]) for c in other["candidates"]] == [(1, "t-flat"), (2, "t-night")]


def test_explain_without_a_group_names_the_route(shop):
    cli = shop
    cli("routing", "unbind", "--account", "acme")
    text = cli("routing", "explain", "acme-0001", "00442071234567", "--at", f"{TUESDAY} 09:00").stdout
    assert "has no routing group (nor has its company or its tariff): the routes table routes it" in text
    assert text.endswith("no route for 442071234567 (see `asteriskbill routes list`): the call would be refused\n")
    cli("routes", "add", "44", "PJSIP/${NUMBER}@legacy")
    data = explained(cli, f"{TUESDAY} 09:00")
    assert (data["group"], data["candidates"], data["route"]) == (
        None,
        [],
        {"prefix": "44", "dial": "PJSIP/${NUMBER}@legacy", "name": ""},
    )
