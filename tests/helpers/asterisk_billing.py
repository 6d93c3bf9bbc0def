"""The billing side of the real-Asterisk tests: a world made with the CLI, `asteriskbill serve` as a process
following the test Asterisk (ARI, AMI, Master.csv), and what a call left in the database.

Prices: UK (prefix 44) costs 0.60 a minute billed by the second, 0.01 a second, so a cost in cents is the
billed seconds. The route sends every number to the test Asterisk's called party.
"""

from __future__ import annotations

import csv
import math
import os
import signal
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from asteriskbill import dialplan
from asteriskbill.agi.apps import DEFAULT_PROMPTS
from asteriskbill.settings import Settings
from asteriskbill.store.engine import make_engine
from asteriskbill.store.models import Account, Cdr, LedgerEntry, Reservation
from tests.helpers.asterisk import SECRET, USER, Asterisk, Call, Row
from tests.helpers.cli import Cli
from tests.helpers.serve import READY
from tests.helpers.waiting import wait_for

CENT = 10_000  # micro-units
RATES = "prefix,destination,price,increments\n44,UK,0.60,1/1\n"
CALLEE_CONTEXT = "asteriskbill-test-callee"
EXTENSION, EXTENSION_ACCOUNT = "201", "acme-201"
SERVE = (sys.executable, "-m", "asteriskbill.cli")
CARD_CALLER_ID = '"Alice" <5551000>'  # registered to no card: the IVR asks for the number and the PIN


def talking(seconds: int) -> str:
    """The number of a called party that answers after 1 s of ringing and talks ``seconds`` s, as dialled."""
    return f"004420001{seconds:03d}"


BUSY, NO_ANSWER, CONGESTED = "004420002000", "004420003000", "004420004000"
DISPOSITIONS = {"BUSY": "BUSY", "NOANSWER": "NO ANSWER", "CONGESTION": "CONGESTION"}  # Master.csv's, by outcome


@dataclass
class World:
    """A billing database made with the CLI: extension 201 of company acme, and one calling card."""

    cli: Cli
    card: str
    pin: str

    def __post_init__(self) -> None:
        self.engine = make_engine(Settings(db=self.cli.db))

    def balance(self, account: str) -> int:
        with self.engine.connect() as conn:
            return conn.execute(select(Account.balance).where(Account.name == account)).scalar_one()

    def cdr(self, call: Call, seconds: float = 30) -> Cdr:
        """The CDR of ``call`` (by its caller channel's uniqueid), once `serve` wrote it."""
        wait_for(lambda: self._cdrs(call), f"the CDR of {call.caller}", seconds, interval=0.1)
        [cdr] = self._cdrs(call)
        return cdr

    def _cdrs(self, call: Call) -> list[Cdr]:
        with Session(self.engine) as session:
            return list(session.scalars(select(Cdr).where(Cdr.uniqueid == call.caller)))

    def cdrs(self) -> list[Cdr]:
        with Session(self.engine) as session:
            return list(session.scalars(select(Cdr)))

    def call_charges(self, session: str) -> list[int]:
        """The ledger's call entries of ``session`` (negative micro-units)."""
        with self.engine.connect() as conn:
            query = select(LedgerEntry.amount).where(LedgerEntry.kind == "call", LedgerEntry.reference == session)
            return list(conn.execute(query).scalars())

    def reservation(self, session: str) -> str:
        with self.engine.connect() as conn:
            return conn.execute(select(Reservation.status).where(Reservation.session == session)).scalar_one()

    def open_reservations(self) -> int:
        with self.engine.connect() as conn:
            return len(conn.execute(select(Reservation.id).where(Reservation.status == "open")).all())

    def checked(self) -> None:
        """`asteriskbill check`: every balance is the sum of its ledger."""
        self.cli("check")


def make_world(cli: Cli, folder: Path, *, extension_balance: str = "10", card_value: str = "1.00") -> World:
    cli("tariff", "create", "retail", "--currency", "USD")
    (folder / "rates.csv").write_text(RATES)
    cli("rates", "import", "retail", str(folder / "rates.csv"))
    cli("routes", "add", "", f"Local/${{NUMBER}}@{CALLEE_CONTEXT}")
    cards = folder / "cards.csv"
    batch = ("--count", "1", "--value", card_value, "--tariff", "retail", "--max-calls", "4")
    cli("cards", "generate", *batch, "-o", str(cards))
    card = next(csv.DictReader(cards.open()))
    cli("accounts", "create", "company", "acme", "--tariff", "retail", "--currency", "USD")
    cli("accounts", "create", "extension", EXTENSION_ACCOUNT, "--parent", "acme", "--extension", EXTENSION)
    if extension_balance != "0":
        cli("accounts", "recharge", EXTENSION_ACCOUNT, extension_balance)
    return World(cli, card["number"], card["pin"])


class Serve:
    """`asteriskbill serve` following the test Asterisk, on its FastAGI port; started, killed, restarted."""

    def __init__(self, db: str, pbx: Asterisk, log: Path, **settings: str):
        self.db = db
        self.pbx = pbx
        self.log = log
        self.env = {
            **{k: v for k, v in os.environ.items() if k != "ASTERISKBILL_CONFIG"},
            "ASTERISKBILL_ARI_URL": pbx.ari_url,
            "ASTERISKBILL_ARI_USER": USER,
            "ASTERISKBILL_ARI_PASSWORD": SECRET,
            "ASTERISKBILL_AMI_URL": pbx.ami_url,
            "ASTERISKBILL_AMI_USER": USER,
            "ASTERISKBILL_AMI_SECRET": SECRET,
            "ASTERISKBILL_MASTER_CSV": str(pbx.master_csv),
            **{f"ASTERISKBILL_{name.upper()}": value for name, value in settings.items()},
        }
        self.process: subprocess.Popen[bytes] | None = None
        self.runs = 0

    def start(self) -> None:
        """Start it and wait until it listens and its ARI listener is connected (the app is registered)."""
        self.runs += 1
        with self.log.open("a") as stderr:
            stderr.write(f"--- run {self.runs}\n")
            stderr.flush()
            self.process = subprocess.Popen(
                [*SERVE, "--db", self.db, "serve", "-v", "--port", str(self.pbx.fastagi_port), "--web-port", "0"],
                env=self.env,
                stdout=subprocess.DEVNULL,
                stderr=stderr,
            )
        wait_for(self._ready, "serve to listen and follow the test Asterisk", seconds=30, interval=0.1)

    def _ready(self) -> bool:
        assert self.process is not None and self.process.poll() is None, f"serve exited: {self.output()}"
        this_run = self.output().rpartition(f"--- run {self.runs}\n")[2]
        return READY.search(this_run) is not None and "asteriskbill" in self.pbx.rx("ari show apps").stdout

    def kill(self) -> None:
        """SIGKILL: nothing of it runs any more, not even a cleanup."""
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait()
        wait_for(lambda: "asteriskbill" not in self.pbx.rx("ari show apps").stdout, "Asterisk to drop serve's app")

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def output(self) -> str:
        return self.log.read_text(errors="replace")


# -- calls and what they must leave ----------------------------------------------------------------------
def ext_call(pbx: Asterisk, dialled: str, context: str = dialplan.EXT_CONTEXT) -> Call:
    """Extension 201 dials ``dialled``."""
    return pbx.call(context, dialled, EXTENSION)


def card_call(pbx: Asterisk, world: World, dialled: str, pin: str = "", context: str = dialplan.CARD_CONTEXT) -> Call:
    """A caller rings the card access number and types the card number, the PIN and ``dialled``."""
    keys = {
        DEFAULT_PROMPTS["card_number"]: world.card + "#",
        DEFAULT_PROMPTS["pin"]: (pin or world.pin) + "#",
        DEFAULT_PROMPTS["destination"]: dialled + "#",
    }
    return pbx.call(context, "s", CARD_CALLER_ID, keys)


def caller_records(pbx: Asterisk, call: Call) -> list[Row]:
    """The caller channel's Master.csv records: its Dial, and what it ran after an unanswered Dial."""
    return [r for r in pbx.master_rows(call) if r["uniqueid"] == call.caller]


def dial_record(pbx: Asterisk, call: Call) -> Row:
    [row] = [r for r in caller_records(pbx, call) if r["lastapp"] == "Dial"]
    return row


def callee_record(pbx: Asterisk, call: Call) -> Row:
    """The called party's own Master.csv record: its billsec runs from its answer, the true talk time."""
    [row] = [r for r in pbx.master_rows(call, until=_callee) if _callee(r)]
    return row


def _callee(row: Row) -> bool:
    return row["dcontext"] == CALLEE_CONTEXT


def assert_billed_talk(
    world: World, pbx: Asterisk, call: Call, account: str, balance_before: int, seconds: float = 30
) -> None:
    """The call is billed once, its talk time from the callee's answer within the rating increment (1 s): the
    seconds Master.csv gives the callee (whole seconds, cut) and the UserEvent's talk_ms (rounded up); the ledger
    holds one debit of that cost and `check` passes."""
    cdr = world.cdr(call, seconds)
    billsec = int(callee_record(pbx, call)["billsec"])
    talk_ms = int(pbx.user_event(call)[dialplan.EVENT_TALK_MS])
    billed = f"billed {cdr.billed_seconds} s ({cdr.source}) for a talk of {talk_ms} ms (callee's billsec {billsec})"
    assert cdr.outcome == "ANSWER", cdr.outcome
    assert billsec - 1 <= cdr.billed_seconds <= billsec + 1, billed
    assert abs(cdr.billed_seconds - math.ceil(talk_ms / 1000)) <= 1, billed
    assert cdr.cost == cdr.billed_seconds * CENT
    assert world.call_charges(cdr.session) == [-cdr.cost]
    assert world.balance(account) == balance_before - cdr.cost
    assert world.reservation(cdr.session) == "settled"
    world.checked()


def assert_not_charged(
    world: World, pbx: Asterisk, call: Call, account: str, balance_before: int, outcome: str
) -> None:
    """A call not answered: a CDR of ``outcome`` at zero cost, no charge, and Master.csv says the same."""
    cdr = world.cdr(call)
    assert (cdr.outcome, cdr.billed_seconds, cdr.cost) == (outcome, 0, 0)
    assert world.call_charges(cdr.session) in ([], [0])
    assert world.balance(account) == balance_before
    assert world.reservation(cdr.session) != "open"
    dial = dial_record(pbx, call)
    assert (dial["answer"], dial["disposition"]) == ("", DISPOSITIONS[outcome])
    world.checked()
