"""Asterisk's own CDR file (cdr_csv Master.csv) read for recovery (pure: text in, call results out).

The call's outcome is on the record whose lastapp is Dial (uniqueid = the caller channel, which is the
AGI's agi_uniqueid kept with the reservation); the last such record when the call tried several routes (Asterisk
writes one for all its attempts, or one per attempt, the last ending as the call did). The hangup handler writes
the fields of its UserEvent into the CDR: our BILL_SESSION and the talk time from the callee's answer (talk_ms,
asteriskbill/dialplan.py), the very figure the ARI listener bills from that UserEvent. They are in the caller's
last record's userfield (loguserfield=yes: its Dial record, or the one after it when the dialplan went on), and in
the lastdata of the handler's own record when cdr.conf makes one (endbeforehexten=no). The Dial status of each
route tried (route, attempts: dialplan.event_attempts) comes after lastdata's 79 characters: it is read from the
userfield. Without them (a dialplan older than talk_ms) the Dial record's billsec is billed: whole seconds,
truncated by Asterisk, but counted from the CALLER's answer, so IVR time included for a calling card.

A file is read only when every record looks like one cdr_csv writes: its 16 columns, then uniqueid
(loguniqueid=yes), userfield (loguserfield=yes) and peeraccount, linkedid, sequence (newcdrcolumns=yes), with
dates, durations and dispositions as it writes them; a first line naming such columns (in any order) is taken
as a header. Anything else is refused naming its line, before recovery settles or flags anything: a wrong file
must not release held calls. uniqueid is required: without it no record can be tied to a call. The dates are
the Asterisk server's local time, or UTC with usegmtime=yes: the caller says which (``zone``).
"""

from __future__ import annotations

import csv
import functools
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from asteriskbill import dialplan
from asteriskbill.billing.settle import CallResult
from asteriskbill.errors import UserError

BASE_COLUMNS = (
    "accountcode",
    "src",
    "dst",
    "dcontext",
    "clid",
    "channel",
    "dstchannel",
    "lastapp",
    "lastdata",
    "start",
    "answer",
    "end",
    "duration",
    "billsec",
    "disposition",
    "amaflags",
)
NEW_COLUMNS = ("peeraccount", "linkedid", "sequence")
# Every column list cdr_csv writes, one per combination of its options (see the module's docstring).
LAYOUTS = tuple(
    BASE_COLUMNS + uniqueid + userfield + new
    for uniqueid in ((), ("uniqueid",))
    for userfield in ((), ("userfield",))
    for new in ((), NEW_COLUMNS)
)
COLUMNS = frozenset(name for layout in LAYOUTS for name in layout)
_NEEDED = ("src", "lastapp", "lastdata", "start", "answer", "end", "billsec", "disposition")  # a header needs them
DISPOSITIONS = ("ANSWERED", "NO ANSWER", "BUSY", "FAILED", "CONGESTION", "UNKNOWN")  # ast_cdr_disp2str
OUTCOMES = {
    "ANSWERED": "ANSWER",
    "BUSY": "BUSY",
    "NO ANSWER": "NOANSWER",
    "CONGESTION": "CONGESTION",
    "FAILED": "CHANUNAVAIL",
}
_SESSION = re.compile(r"[0-9a-f-]{36}")
_UNIQUEID = re.compile(r"(?:.+-)?\d+\.\d+", re.ASCII)  # [systemname-]epoch.sequence
_DATE = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", re.ASCII)  # cdr_csv's "%Y-%m-%d %T"


class _NotCdr(Exception):
    """Why a record is not one cdr_csv writes."""


class _NoUniqueid(_NotCdr):
    pass


@dataclass(frozen=True)
class Dial:
    """The caller channel's Dial record: what the call came to (times in the file's zone, unzoned)."""

    src: str
    start: datetime | None
    answer: datetime | None
    end: datetime | None
    billsec: int
    disposition: str
    linkedid: str


@dataclass(frozen=True)
class MasterCsv:
    """Dial records by caller uniqueid, the caller uniqueid of each session seen, its talk ms and the Dial status
    of each route it tried (dialplan.event_attempts) when known."""

    dials: dict[str, Dial]
    sessions: dict[str, str]
    talks: dict[str, int]
    attempts: dict[str, tuple[str, ...]]

    def result(self, session: str, uniqueid: str, zone: ZoneInfo) -> CallResult | None:
        """What Asterisk recorded for the call, or None when it is not in the file."""
        uniqueid = self.sessions.get(session, uniqueid)
        dial = self.dials.get(uniqueid)
        if dial is None:
            return CallResult(session, "NOTDIALED", source="master.csv") if session in self.sessions else None
        outcome = OUTCOMES.get(dial.disposition, "CHANUNAVAIL")
        talk_ms = self.talks.get(session)
        answered = dial.answer  # the caller's answer: a card's IVR answered before the callee
        if talk_ms and dial.end is not None:  # the callee's, within the second the record's end truncates
            callee = dial.end - timedelta(milliseconds=talk_ms)
            answered = callee if answered is None else max(answered, callee)
        return CallResult(
            session,
            outcome,
            (dial.billsec * 1000 if talk_ms is None else talk_ms) if outcome == "ANSWER" else 0,
            started_at=_zoned(dial.start, zone),
            answered_at=_zoned(answered, zone),
            ended_at=_zoned(dial.end, zone),
            uniqueid=uniqueid,
            linkedid=dial.linkedid,
            callerid=dial.src,
            source="master.csv",
            attempts=self.attempts.get(session, ()),
        )


def read(lines: Iterable[str], source: str) -> MasterCsv:
    """The Dial records and sessions of a Master.csv; UserError naming the first line of ``source`` that is not."""
    dials: dict[str, Dial] = {}
    sessions: dict[str, str] = {}
    talks: dict[str, int] = {}
    attempts: dict[str, tuple[str, ...]] = {}
    reader = csv.reader(lines)
    header: tuple[str, ...] | None = None
    records = 0
    line = 1  # where the record read next starts: a quoted field may span lines
    try:
        for row in reader:
            if records == 0 and header is None and row and _is_header(row):
                header = _header(row)
            elif row:
                records += 1
                at = _checked(row, header)
                uniqueid = row[at["uniqueid"]]
                if row[at["lastapp"]] == "Dial":
                    dials[uniqueid] = _dial(row, at)
                for fields, whole in _ours(row, at):
                    session = fields.get(dialplan.EVENT_SESSION, "")
                    if _SESSION.fullmatch(session):
                        sessions[session] = uniqueid
                        talk = dialplan.event_talk(fields, answered_by_dial=False)
                        if talk.ms is not None:
                            talks[session] = talk.ms
                        tried = dialplan.event_attempts(fields)
                        if tried and (whole or session not in attempts):
                            attempts[session] = tried
            line = reader.line_num + 1
    except _NoUniqueid:
        raise UserError(
            f"{source} line {line} has no uniqueid column: set loguniqueid=yes in the [csv] section of "
            "Asterisk's cdr.conf (then `module reload cdr_csv`) so that its records name the calls' channels"
        ) from None
    except _NotCdr as exc:  # csv.Error (a quote left open: one huge field) is told by explain.py
        raise UserError(f"{source} line {line} does not look like Asterisk's Master.csv (cdr_csv): {exc}") from None
    if not records:
        raise UserError(f"{source} has no CDR record: is it Asterisk's Master.csv (e.g. /var/log/asterisk/cdr-csv/)?")
    return MasterCsv(dials, sessions, talks, attempts)


def _ours(row: list[str], at: dict[str, int]) -> list[tuple[dict[str, str], bool]]:
    """The hangup handler's fields in a record, each with whether they are whole: in its lastdata (the handler's
    own record, when cdr.conf's endbeforehexten=no makes one; cut at 79 characters), then its userfield
    (CDR(userfield), which lands on the caller's Dial record: whole, so preferred for the fields after the cut)."""
    found = [(dialplan.lastdata_fields(row[at["lastdata"]]), False)]
    if "userfield" in at:
        found.append((dialplan.userfield_fields(row[at["userfield"]]), True))
    return [(fields, whole) for fields, whole in found if fields is not None]


def _is_header(row: list[str]) -> bool:
    return {name.strip().lower() for name in row} <= COLUMNS


def _header(row: list[str]) -> tuple[str, ...]:
    names = tuple(name.strip().lower() for name in row)
    if "uniqueid" not in names:
        raise _NoUniqueid
    missing = [name for name in _NEEDED if name not in names]
    if missing or len(set(names)) < len(names):
        raise _NotCdr(f"a header without {', '.join(missing)}" if missing else "a header naming a column twice")
    return names


@functools.cache
def _where(names: tuple[str, ...]) -> dict[str, int]:
    """Each column's index in records of these columns (a file has one or a few layouts: computed once each)."""
    return {name: index for index, name in enumerate(names)}


def _checked(row: list[str], header: tuple[str, ...] | None) -> dict[str, int]:
    """Where the record's columns are, once it is checked to be as cdr_csv writes them (dates are checked
    for their form here, and as dates where they are read: in Dial records)."""
    if header is not None and len(row) != len(header):
        raise _NotCdr(f"{len(row)} columns, where its header names {len(header)}")
    at = _where(header or _layout(row))
    if "uniqueid" not in at:
        raise _NoUniqueid
    if _UNIQUEID.fullmatch(uniqueid := row[at["uniqueid"]]) is None:
        raise _NotCdr(f"uniqueid {uniqueid!r} is not an Asterisk uniqueid like 1795467901.289")
    if (disposition := row[at["disposition"]]) not in DISPOSITIONS:
        raise _NotCdr(f"disposition {disposition!r} is not one of {', '.join(DISPOSITIONS)}")
    for name in ("duration", "billsec"):
        if name in at and not ((seconds := row[at[name]]).isascii() and seconds.isdigit()):
            raise _NotCdr(f"{name} {seconds!r} is not a whole number of seconds")
    for name in ("start", "answer", "end"):
        if (text := row[at[name]]) and _DATE.fullmatch(text) is None:
            raise _NotCdr(_not_a_date(name, text))
    if not row[at["start"]]:
        raise _NotCdr("start is empty")
    return at


_BY_LENGTH = {length: [layout for layout in LAYOUTS if len(layout) == length] for length in map(len, LAYOUTS)}


def _layout(row: list[str]) -> tuple[str, ...]:
    forms = _BY_LENGTH.get(len(row))
    if forms is None:
        raise _NotCdr(f"{len(row)} columns, where cdr_csv writes {min(_BY_LENGTH)} to {max(_BY_LENGTH)}")
    if len(forms) > 1:  # 17 or 20 columns: uniqueid or userfield follows the 16; a uniqueid looks like one
        has_uniqueid = _UNIQUEID.fullmatch(row[len(BASE_COLUMNS)]) is not None
        return next(layout for layout in forms if ("uniqueid" in layout) == has_uniqueid)
    return forms[0]


def _not_a_date(name: str, text: str) -> str:
    return f"{name} {text!r} is not a date and time like 2026-11-23 21:05:01"


def _moment(row: list[str], at: dict[str, int], name: str) -> datetime | None:
    text = row[at[name]]
    try:
        return datetime.fromisoformat(text) if text else None
    except ValueError:  # the right form, but no such day or time (2026-13-45)
        raise _NotCdr(_not_a_date(name, text)) from None


def _dial(row: list[str], at: dict[str, int]) -> Dial:
    return Dial(
        row[at["src"]],
        _moment(row, at, "start"),
        _moment(row, at, "answer"),
        _moment(row, at, "end"),
        int(row[at["billsec"]]),
        row[at["disposition"]],
        row[at["linkedid"]] if "linkedid" in at else "",
    )


def _zoned(moment: datetime | None, zone: ZoneInfo) -> datetime | None:
    return None if moment is None else moment.replace(tzinfo=zone)
