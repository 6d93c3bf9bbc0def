"""Asterisk's own CDR file (cdr_csv Master.csv) read for recovery (pure: text in, call results out).

The call's outcome is on the record whose lastapp is Dial (uniqueid = the caller channel, which is the
AGI's agi_uniqueid kept with the reservation); the hangup handler's UserEvent record carries our
BILL_SESSION in lastdata. billsec is whole seconds, truncated by Asterisk, so a call settled from
this file is billed at most the seconds Asterisk counted.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from asteriskbill.billing.settle import CallResult

# cdr_csv column positions (loguniqueid=yes; newcdrcolumns adds peeraccount, linkedid, sequence)
SRC, CHANNEL, LASTAPP, LASTDATA, START, ANSWER, END, BILLSEC, DISPOSITION, UNIQUEID, LINKEDID = (
    1,
    5,
    7,
    8,
    9,
    10,
    11,
    13,
    14,
    16,
    19,
)
OUTCOMES = {
    "ANSWERED": "ANSWER",
    "BUSY": "BUSY",
    "NO ANSWER": "NOANSWER",
    "CONGESTION": "CONGESTION",
    "FAILED": "CHANUNAVAIL",
}
_SESSION = re.compile(r"session: ([0-9a-f-]{36})")


@dataclass(frozen=True)
class MasterCsv:
    """Dial records by caller uniqueid, and the caller uniqueid of each session seen."""

    dials: dict[str, list[str]]
    sessions: dict[str, str]

    def result(self, session: str, uniqueid: str, zone: ZoneInfo) -> CallResult | None:
        """What Asterisk recorded for the call, or None when it is not in the file."""
        uniqueid = self.sessions.get(session, uniqueid)
        row = self.dials.get(uniqueid)
        if row is None:
            return CallResult(session, "NOTDIALED", source="master.csv") if session in self.sessions else None
        outcome = OUTCOMES.get(row[DISPOSITION], "CHANUNAVAIL")
        return CallResult(
            session,
            outcome,
            int(row[BILLSEC] or 0) * 1000 if outcome == "ANSWER" else 0,
            started_at=_time(row[START], zone),
            answered_at=_time(row[ANSWER], zone),
            ended_at=_time(row[END], zone),
            uniqueid=uniqueid,
            linkedid=row[LINKEDID] if len(row) > LINKEDID else "",
            callerid=row[SRC],
            source="master.csv",
        )


def read(lines: Iterable[str]) -> MasterCsv:
    dials: dict[str, list[str]] = {}
    sessions: dict[str, str] = {}
    for row in csv.reader(lines):
        if len(row) <= UNIQUEID:
            continue
        if row[LASTAPP] == "Dial":
            dials[row[UNIQUEID]] = row
        elif (match := _SESSION.search(row[LASTDATA])) is not None:
            sessions[match.group(1)] = row[UNIQUEID]
    return MasterCsv(dials, sessions)


def _time(text: str, zone: ZoneInfo) -> datetime | None:
    return datetime.fromisoformat(text).replace(tzinfo=zone) if text else None
