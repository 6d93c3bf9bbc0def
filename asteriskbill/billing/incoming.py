"""Incoming calls (pure): a call TO one of our numbers, paid by the account it reaches.

A number reaches an account when it is the account's extension or one of its DIDs (a number of ours that rings
it, such as a toll-free number). The called account pays by its incoming tariff, priced by the CALLER's number:
what a toll-free line costs depends on where the call comes from. A caller ID is normalised by the called
account's number plan without its outside line (nobody dials that digit before calling us); a caller that sends
no usable number (withheld, or not a phone number) is priced as a caller from the account's own country: its
number is the plan's country code.
"""

from __future__ import annotations

import re
from dataclasses import replace

from asteriskbill.billing.numbers import CALL_CLASSES, Normalized, NumberError, NumberPlan, normalize
from asteriskbill.errors import UserError

OUT, IN = "out", "in"
DIRECTIONS = (OUT, IN)  # of a reservation and a CDR: a call made by the account, or a call it received
DIRECTION_CHECK = "direction IN ({})".format(", ".join(f"'{direction}'" for direction in DIRECTIONS))

NATIONAL = CALL_CLASSES[1]  # an unknown caller is counted as one of the account's own country
UNKNOWN_CALLER = "unknown caller"  # the rule that priced it (Normalized.rules)
EXTENSION_FIELD = "${EXTENSION}"  # in the incoming_dial setting: the called account's extension
_DID = re.compile(r"[0-9]{2,32}", re.ASCII)  # what the asteriskbill-in context's _X. pattern takes
_DIAL = re.compile(r"[^\s,;|]+")


def check_did(number: str) -> str:
    """A DID as Asterisk hands it to the inbound context (${EXTEN}): digits."""
    number = number.strip()
    if not _DID.fullmatch(number):
        raise UserError(f"DID {number!r} must be 2 to 32 digits, as the inbound context's ${{EXTEN}} shows it")
    return number


def check_incoming_dial(dial: str) -> str | None:
    """What is wrong with the incoming_dial setting, or None: a Dial() target with ${EXTENSION} in it and nothing
    that would split Dial()'s arguments."""
    if EXTENSION_FIELD not in dial or not _DIAL.fullmatch(dial):
        return "a Dial() target with ${EXTENSION} and no spaces, commas, ';' or '|', e.g. PJSIP/${EXTENSION}"
    return None


def dial_string(template: str, extension: str) -> str:
    """The Dial() target that rings ``extension`` (the incoming_dial setting filled in)."""
    return template.replace(EXTENSION_FIELD, extension)


def caller_number(caller: str, called: str, plan: NumberPlan) -> Normalized:
    """What an incoming call is rated by, its ``dialled`` being the number called: the caller's number
    normalised, else (no caller ID, or not a phone number) the plan's country code, a national call."""
    try:
        return replace(normalize(caller, replace(plan, outside_line="")), dialled=called)
    except NumberError:  # "" too: withheld
        return Normalized(called, plan.country_code, NATIONAL, (UNKNOWN_CALLER,))
