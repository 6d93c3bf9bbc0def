"""The contract between asteriskbill and Asterisk's dialplan, defined once (pure, no I/O but reading the packaged file).

The packaged dialplan (asteriskbill/dialplan/extensions_asteriskbill.conf, printed by `asteriskbill dialplan`)
speaks these names; tests/unit/test_dialplan.py checks the file against them. The AGI sets the ``BILL_*``
variables; the dialplan records the callee's answer and emits the ``asteriskbill`` UserEvent from the caller's
hangup handler, which the ARI listener (ari/tracker.py) and Asterisk's Master.csv (billing/master_csv.py) read.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from importlib import resources

from asteriskbill.billing.numbers import is_digits
from asteriskbill.billing.settle import ANSWER

# Channel variables the AGI sets for the dialplan.
STATUS = "BILL_STATUS"  # OK, or why not (billing.authorize.BillStatus)
SESSION = "BILL_SESSION"  # our id of the call
MAX_MS = "BILL_MAX_MS"  # the longest the call may last: Dial's L()
DIAL = "BILL_DIAL"  # the Dial() target of the first route (what a dialplan older than BILL_ROUTES dials)
ROUTES = "BILL_ROUTES"  # how many routes: BILL_DIAL_1 .. BILL_DIAL_<BILL_ROUTES>, tried in that order
DIAL_NTH = "BILL_DIAL_{}"  # the Dial() target of route n (1, 2, ...): DIAL_NTH.format(n)
NUMBER = "BILL_NUMBER"  # the normalised number
AGI_VARIABLES = (STATUS, SESSION, MAX_MS, DIAL, ROUTES, NUMBER)  # and DIAL_NTH of each route
# The caller channel's hard limit, set by the AGI to the slice held and moved by `serve` (over AMI) as the hold
# grows: Asterisk hangs the channel up that many seconds (fractions taken) after it is set.
HARD_LIMIT = "TIMEOUT(absolute)"

# Set by the dialplan itself: the callee's answer, stored on the caller's channel (SHARED) by Dial's U().
ANSWERED_AT_VARIABLE = "BILL_ANSWERED_AT"
# ... and by the dial loop ([asteriskbill-dial]), on the caller's channel: the position of the route being tried
# (the last one once it is done), and the Dial statuses of the attempts that returned, joined by "/".
ROUTE_VARIABLE = "BILL_ROUTE"
ATTEMPTS_VARIABLE = "BILL_ATTEMPTS"
ATTEMPTS_SEPARATOR = "/"  # not a comma: the UserEvent's fields are comma separated
DIALPLAN_VARIABLES = (ANSWERED_AT_VARIABLE, ROUTE_VARIABLE, ATTEMPTS_VARIABLE)

# The hangup handler's UserEvent(asteriskbill, ...), in the order of its fields. Its Return() repeats them for
# Master.csv (a CDR keeps its last application's data, in lastdata), which keeps only their first 79 characters:
# the session and the talk time come first so that they always fit.
USER_EVENT = "asteriskbill"
EVENT_SESSION = "session"
EVENT_TALK_MS = "talk_ms"  # ended_at - answered_at in ms, 0 when the callee never answered
EVENT_ANSWERED_AT = "answered_at"  # the callee's answer, epoch seconds with ms ("" if never answered)
EVENT_ENDED_AT = "ended_at"  # when the hangup handler ran, epoch seconds with ms
EVENT_DIALSTATUS = "dialstatus"
EVENT_ANSWEREDTIME_MS = "answeredtime_ms"  # Asterisk's ANSWEREDTIME_MS: from the CALLER's answer (IVR included)
EVENT_DIALEDTIME_MS = "dialedtime_ms"
EVENT_ROUTE = "route"  # ${BILL_ROUTE}: the route being tried, or the last one tried ("" if none was)
EVENT_ATTEMPTS = "attempts"  # ${BILL_ATTEMPTS}: the statuses of the attempts whose Dial returned, e.g. CHANUNAVAIL
USER_EVENT_FIELDS = (
    EVENT_SESSION,
    EVENT_TALK_MS,
    EVENT_ANSWERED_AT,
    EVENT_ENDED_AT,
    EVENT_DIALSTATUS,
    EVENT_ANSWEREDTIME_MS,
    EVENT_DIALEDTIME_MS,
    EVENT_ROUTE,  # added with the routes: after the older fields, which keep their places (and lastdata's 79)
    EVENT_ATTEMPTS,
)
CDR_LASTDATA_CHARS = 79  # cdr_csv's lastdata: struct ast_cdr's char lastdata[80]
# CDR(userfield) keeps 255 (char userfield[AST_MAX_USER_FIELD]): all the fields, but for the attempts of a call
# that tried many routes (about four failed ones, with a long talk), which are then cut off and not known.
CDR_USERFIELD_CHARS = 255

# Contexts.
CARD_CONTEXT = "asteriskbill-card"
EXT_CONTEXT = "asteriskbill-ext"
CARD_STDIO_CONTEXT = "asteriskbill-card-stdio"
EXT_STDIO_CONTEXT = "asteriskbill-ext-stdio"
IN_CONTEXT = "asteriskbill-in"  # incoming calls to our numbers (DIDs, extensions), paid by the account called
IN_STDIO_CONTEXT = "asteriskbill-in-stdio"
DIAL_CONTEXT = "asteriskbill-dial"  # the dial loop over the routes, a Gosub of the six contexts above
ANSWERED_CONTEXT = "asteriskbill-answered"  # Dial's U() on the callee's channel
HANGUP_CONTEXT = "asteriskbill-hangup"  # the caller's hangup handler
CONTEXTS = (
    CARD_CONTEXT,
    EXT_CONTEXT,
    CARD_STDIO_CONTEXT,
    EXT_STDIO_CONTEXT,
    IN_CONTEXT,
    IN_STDIO_CONTEXT,
    DIAL_CONTEXT,
    ANSWERED_CONTEXT,
    HANGUP_CONTEXT,
)

# Dialplan globals, each with the default the contexts fall back to when it is unset.
FASTAGI_GLOBAL = "ASTERISKBILL_FASTAGI"  # host:port of `serve`'s FastAGI
FASTAGI_DEFAULT = "127.0.0.1:4573"
AGI_BIN_GLOBAL = "ASTERISKBILL_AGI_BIN"  # folder of the asteriskbill-card / -ext / -in scripts
AGI_BIN_DEFAULT = "/usr/local/bin"
AGI_SCRIPTS = ("asteriskbill-card", "asteriskbill-ext", "asteriskbill-in")

FILE_NAME = "extensions_asteriskbill.conf"

_EPOCH_MS = re.compile(r"(\d+)\.(\d{3})", re.ASCII)  # ${STRFTIME(,,%s.%3q)}
_PAIR = re.compile(r"([a-z_]+): ([^,]*)")


@dataclass(frozen=True)
class Talk:
    """What the caller's UserEvent says of the talk."""

    answered_at: datetime | None  # the callee's answer
    ended_at: datetime | None
    ms: int | None  # None: the event does not tell


def event_talk(fields: Mapping[str, str], *, answered_by_dial: bool) -> Talk:
    """The talk the UserEvent's ``fields`` give: its talk_ms (ended_at - answered_at, from the callee's answer).
    An older dialplan's event has no talk_ms, only ANSWEREDTIME_MS, which counts from the CALLER's answer (IVR
    time included): it is taken only when ``answered_by_dial`` (the caller was answered by the Dial itself)."""
    answered, ended = epoch_ms(fields.get(EVENT_ANSWERED_AT)), epoch_ms(fields.get(EVENT_ENDED_AT))
    if EVENT_TALK_MS in fields:
        ms = _whole(fields[EVENT_TALK_MS])
    elif fields.get(EVENT_DIALSTATUS) not in (ANSWER, None):
        ms = 0
    else:
        ms = _whole(fields.get(EVENT_ANSWEREDTIME_MS)) if answered_by_dial else None
    return Talk(answered, ended, ms)


def event_attempts(fields: Mapping[str, str]) -> tuple[str, ...]:
    """The Dial statuses of the call's attempts over its routes, in order, from the UserEvent's ``fields``: the
    last one carried the call. ``attempts`` holds those whose Dial returned; a Dial the caller hung up during (a
    talk, a ring: Dial never returns) is the route in progress, its status the event's dialstatus. () for an
    event without them (a dialplan older than the routes, a CDR that cut them) or a call never dialled."""
    if EVENT_ROUTE not in fields or EVENT_ATTEMPTS not in fields:
        return ()
    done = tuple(status for status in fields[EVENT_ATTEMPTS].split(ATTEMPTS_SEPARATOR) if status)
    route = _whole(fields[EVENT_ROUTE]) or 0
    last = fields.get(EVENT_DIALSTATUS, "")
    if route > len(done) and last:  # the dial loop clears DIALSTATUS before each Dial: a stale one is not taken
        return (*done, last)
    return done


def dial_variable(route: int) -> str:
    """The channel variable of route ``route``'s Dial() target (1: the first)."""
    return DIAL_NTH.format(route)


def lastdata_fields(lastdata: str) -> dict[str, str] | None:
    """The fields of our UserEvent from a CDR's lastdata (None for anything else). Asterisk keeps only its first
    CDR_LASTDATA_CHARS characters: the last field of a text that long may be cut, so it is dropped."""
    return _fields(lastdata, cut=len(lastdata) >= CDR_LASTDATA_CHARS)


def userfield_fields(userfield: str) -> dict[str, str] | None:
    """The fields of our UserEvent from a CDR's userfield (None for anything else). It keeps
    CDR_USERFIELD_CHARS characters: the last field of a text that long may be cut, so it is dropped."""
    return _fields(userfield, cut=len(userfield) >= CDR_USERFIELD_CHARS)


def _fields(text: str, *, cut: bool) -> dict[str, str] | None:
    name, _, rest = text.partition(",")
    if name != USER_EVENT:
        return None
    pairs = rest.split(",")
    if cut:
        pairs.pop()
    return {match[1]: match[2] for pair in pairs if (match := _PAIR.fullmatch(pair))}


def epoch_ms(text: str | None) -> datetime | None:
    """``1795467942.336`` (epoch seconds with ms, as the dialplan writes them) -> aware UTC; else None."""
    match = _EPOCH_MS.fullmatch(text or "")
    return None if match is None else datetime.fromtimestamp(int(match[1]), UTC) + timedelta(milliseconds=int(match[2]))


def _whole(text: str | None) -> int | None:
    return int(text) if text and is_digits(text) else None


def text() -> str:
    """The packaged dialplan file."""
    return resources.files("asteriskbill").joinpath("dialplan", FILE_NAME).read_text(encoding="utf-8")


def globals_section(fastagi: str, agi_bin: str) -> str:
    """The [globals] lines that point the dialplan at this installation."""
    return f"[globals]\n{FASTAGI_GLOBAL}={fastagi}\n{AGI_BIN_GLOBAL}={agi_bin}\n"
