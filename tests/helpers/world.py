"""A small billing world built through the real commands: a tariff, rates, a route, a card, a company."""

from __future__ import annotations

import asyncio
import csv
from dataclasses import dataclass
from pathlib import Path

from asteriskbill.agi.apps import BillingApps
from asteriskbill.agi.peer import Call, Outcome, call_fastagi
from asteriskbill.agi.server import start_server
from asteriskbill.settings import Settings, load

RATES = """prefix,destination,price,increments
44,UK,0.60,60/6
1,USA,0.10,1/1
"""


@dataclass
class World:
    settings: Settings
    card: str
    pin: str


def make_world(cli, tmp_path: Path, *, card_value: str = "1.00", card_args: tuple[str, ...] = ()) -> World:
    """Tariff `retail` (UK 0.60/min 60/6, USA 0.10/min), a default route, one card, company acme with
    extension 201 (accountcode acme-201, balance 10.00)."""
    cli("tariff", "create", "retail", "--currency", "USD")
    (tmp_path / "rates.csv").write_text(RATES)
    cli("rates", "import", "retail", tmp_path / "rates.csv")
    cli("routes", "add", "", "PJSIP/${NUMBER}@carrier")
    out = tmp_path / "cards.csv"
    cli(
        "cards",
        "generate",
        "--count",
        "1",
        "--value",
        card_value,
        "--tariff",
        "retail",
        "--max-calls",
        "2",
        *card_args,
        "-o",
        out,
    )
    card = next(csv.DictReader(out.open()))
    cli("accounts", "create", "company", "acme", "--tariff", "retail", "--currency", "USD")
    cli(
        "accounts",
        "create",
        "extension",
        "acme-201",
        "--parent",
        "acme",
        "--extension",
        "201",
        "--accountcode",
        "acme-201",
    )
    cli("accounts", "recharge", "acme-201", "10")
    return World(load(db=cli.db), card["number"], card["pin"])


TOLL_FREE = "18005550100"
# What calls TO an account cost it, by the caller's number: 447... (UK mobiles) 0.20/min by the second.
INCOMING_RATES = """prefix,destination,price,increments
1,North America,0.02,60/60
44,United Kingdom,0.10,1/1
447,UK mobile,0.20,1/1
"""


def toll_free(cli, tmp_path: Path, account: str = "acme-201", number: str = TOLL_FREE) -> None:
    """Tariff `tollfree` (INCOMING_RATES) as ``account``'s incoming tariff, and DID ``number`` ringing it."""
    cli("tariff", "create", "tollfree", "--currency", "USD")
    (tmp_path / "incoming.csv").write_text(INCOMING_RATES)
    cli("rates", "import", "tollfree", tmp_path / "incoming.csv")
    cli("accounts", "edit", account, "--incoming-tariff", "tollfree")
    cli("dids", "add", number, account)


def place(engine, settings: Settings, *calls: Call) -> list[Outcome]:
    """Place calls through a FastAGI server running the billing apps on an ephemeral port."""

    async def main():
        async with await start_server(BillingApps(engine, settings).apps, port=0) as server:
            return await asyncio.gather(*(call_fastagi(call, *server.address) for call in calls))

    return asyncio.run(asyncio.wait_for(main(), 60))


def extension_account_id(engine, extension: str) -> int:
    """The id of the account an extension number names (as the ext AGI finds it)."""
    from asteriskbill.services.calls import extension_account

    with engine.begin() as conn:
        account_id = extension_account(conn, extension, "").account_id
    assert account_id is not None, f"no account for extension {extension}"
    return account_id
