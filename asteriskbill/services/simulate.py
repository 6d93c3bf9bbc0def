"""`calls simulate`: place a call on the running FastAGI server exactly as Asterisk would.

The fake Asterisk (agi/peer.py) sends the channel's environment, types the DTMF, answers every command
like Asterisk, and records the exchange; with ``talk_seconds`` the call is then settled as answered for
that long, as the ARI listener would after a real call (useful to try a tariff or a booth without a phone).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from sqlalchemy import Engine

from asteriskbill.agi.peer import Call, Outcome, call_fastagi
from asteriskbill.billing.settle import CallResult
from asteriskbill.errors import UserError
from asteriskbill.services.lifecycle import settle
from asteriskbill.services.settlement import Settled


@dataclass(frozen=True)
class Simulation:
    outcome: Outcome
    settled: Settled | None


def card_call(card: str | None, pin: str | None, dial: str, callerid: str) -> Call:
    """The card IVR: card number and PIN (unless the caller ID is registered to a card), then the number."""
    if (card is None) != (pin is None):
        raise UserError("give --card and --pin together (or neither, to log in by --callerid)")
    keys = ([f"{card}#", f"{pin}#"] if card else []) + [f"{dial}#"]
    return Call(script="card", keys=keys, callerid=callerid)


def extension_call(extension: str | None, accountcode: str, dial: str) -> Call:
    return Call(script="ext", args=[dial], callerid=extension or "unknown", accountcode=accountcode)


def incoming_call(called: str, callerid: str) -> Call:
    """A call from ``callerid`` to our number ``called``, as the asteriskbill-in context hands it to the AGI."""
    return Call(script="in", args=[called], callerid=callerid or "unknown", extension=called, dnid=called)


def simulate(
    engine: Engine, call: Call, host: str, port: int, talk_seconds: int | None, failed: tuple[str, ...] = ()
) -> Simulation:
    """Place ``call``; with ``talk_seconds``, settle it as answered for that long by the route after those that
    ``failed`` (their Dial statuses, in order)."""
    outcome = asyncio.run(asyncio.wait_for(call_fastagi(call, host, port), 60))
    if outcome.agistatus == "FAILURE" and not outcome.commands:  # as Asterisk: the connection was refused
        raise UserError(f"no FastAGI server answers on {host}:{port}: start it with `asteriskbill serve`")
    session = outcome.variables.get("BILL_SESSION")
    if talk_seconds is None or outcome.variables.get("BILL_STATUS") != "OK" or not session:
        return Simulation(outcome, None)
    result = CallResult(
        session,
        "ANSWER",
        talk_seconds * 1000,
        uniqueid=call.uniqueid,
        callerid=call.callerid,
        source="simulate",
        attempts=(*failed, "ANSWER"),
    )
    return Simulation(outcome, settle(engine, result))
