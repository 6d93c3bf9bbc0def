"""Asterisk's Master.csv is recognised in every form cdr_csv writes, and anything else is refused by line."""

from __future__ import annotations

import csv
import io
from zoneinfo import ZoneInfo

import pytest

from asteriskbill.billing import master_csv
from asteriskbill.errors import UserError
from tests.helpers import ASTERISK
from tests.helpers.captures import expected

UTC = ZoneInfo("UTC")
# the real capture: loguniqueid, loguserfield and newcdrcolumns on (21 columns)
CAPTURE = (ASTERISK / "ari" / "prepaid-cdr.txt").read_text().splitlines()
REAL = list(csv.reader(line for line in CAPTURE if line.startswith('"')))
BASE, UNIQUEID, USERFIELD, NEW = slice(0, 16), slice(16, 17), slice(17, 18), slice(18, 21)
NAMES = [
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
    "uniqueid",
    "userfield",
    "peeraccount",
    "linkedid",
    "sequence",
]


def layout(row: list[str], *, uniqueid: bool, userfield: bool, new: bool) -> list[str]:
    """A real record as cdr_csv writes it with those options of cdr.conf's [csv] on or off."""
    return (
        row[BASE]
        + (row[UNIQUEID] if uniqueid else [])
        + (row[USERFIELD] if userfield else [])
        + (row[NEW] if new else [])
    )


def text(rows: list[list[str]]) -> list[str]:
    out = io.StringIO()
    csv.writer(out).writerows(rows)
    return out.getvalue().splitlines(keepends=True)


def results(lines: list[str]) -> dict[str, tuple]:
    master = master_csv.read(lines, "Master.csv")
    return {
        call: (r.outcome, r.billable_ms, r.uniqueid, r.started_at, r.answered_at, r.ended_at)
        for call, e in expected().items()
        if (r := master.result(e.session, e.uniqueid, UTC)) is not None
    }


def test_the_real_capture_gives_every_call():
    found = results(text(REAL))
    assert {call: found[call][:2] for call in found} == {
        "2001": ("ANSWER", 3000),  # billsec: Asterisk truncates 3506 ms
        "2002": ("ANSWER", 5000),
        "2003": ("BUSY", 0),
        "2004": ("NOANSWER", 0),
        "2005": ("CONGESTION", 0),
        "2006": ("NOANSWER", 0),
        "2007": ("ANSWER", 2000),
        "2008": ("ANSWER", 2000),
    }
    assert master_csv.read(text(REAL), "Master.csv").result(expected()["2001"].session, "", UTC).linkedid == (
        expected()["2001"].linkedid
    )


@pytest.mark.parametrize("userfield", [False, True])
@pytest.mark.parametrize("new", [False, True])
def test_every_form_with_uniqueid_gives_the_same_calls(userfield, new):
    rows = [layout(row, uniqueid=True, userfield=userfield, new=new) for row in REAL]
    assert len(rows[0]) == 17 + userfield + 3 * new
    assert results(text(rows)) == results(text(REAL))


def test_a_header_line_names_the_columns():
    rows = [layout(row, uniqueid=True, userfield=False, new=True) for row in REAL]
    header = [n for n in NAMES if n != "userfield"]
    assert results(text([header, *rows])) == results(text(REAL))


def test_utc_times_are_read_in_the_zone_given():
    session = expected()["2001"].session
    sofia = master_csv.read(text(REAL), "Master.csv").result(session, "", ZoneInfo("Europe/Sofia"))
    assert sofia is not None and sofia.started_at is not None
    assert sofia.started_at.astimezone(UTC).isoformat() == "2026-11-23T19:05:01+00:00"


@pytest.mark.parametrize("userfield", [False, True])
@pytest.mark.parametrize("new", [False, True])
def test_without_uniqueid_the_calls_cannot_be_matched(userfield, new):
    rows = [layout(row, uniqueid=False, userfield=userfield, new=new) for row in REAL]
    with pytest.raises(UserError, match=r"Master\.csv line 1 has no uniqueid column: set loguniqueid=yes"):
        master_csv.read(text(rows), "Master.csv")


def bad(rows: list[list[str]], line: int, why: str) -> None:
    with pytest.raises(UserError) as raised:
        master_csv.read(text(rows), "x.csv")
    message = str(raised.value)
    assert "\n" not in message
    assert message.startswith(f"x.csv line {line} does not look like Asterisk's Master.csv (cdr_csv): "), message
    assert why in message, message


def test_garbage_is_refused_naming_the_line():
    bad([["hello", "world"]], 1, "2 columns, where cdr_csv writes 16 to 21")
    bad([["prefix", "destination", "price"], ["44", "UK", "0.60"]], 1, "3 columns")
    wrong = list(REAL[1])
    wrong[14] = "MAYBE"
    bad([REAL[0], REAL[2], wrong], 3, "disposition 'MAYBE' is not one of ANSWERED, NO ANSWER, BUSY, FAILED")
    wrong = list(REAL[1])
    wrong[9] = "2026-13-45 10:00:00"
    bad([REAL[0], wrong], 2, "start '2026-13-45 10:00:00' is not a date and time like 2026-11-23 21:05:01")
    wrong = list(REAL[1])
    wrong[13] = "3.5"
    bad([wrong], 1, "billsec '3.5' is not a whole number of seconds")


def test_an_empty_file_is_refused():
    with pytest.raises(UserError, match=r"x\.csv has no CDR record"):
        master_csv.read(["\n", "\n"], "x.csv")


CALLEE_ANSWER = (ASTERISK / "callee-answer" / "Master.csv").read_text().splitlines(keepends=True)


def test_the_talk_time_is_the_userevent_records_not_the_dial_records_billsec():
    master = master_csv.read(CALLEE_ANSWER, "Master.csv")
    # the card call (callerid 4001): its hangup handler's record (lastapp Return) carries the UserEvent's fields
    (handler,) = [r for r in csv.reader(CALLEE_ANSWER) if r[1] == "4001" and r[7] == "Return"]
    assert handler[8] == "asteriskbill,session: 9f09d99e-2e4b-4a21-be80-bc831e42deb6,talk_ms: 3505,answer"
    result = master.result("9f09d99e-2e4b-4a21-be80-bc831e42deb6", "", UTC)
    assert result is not None and (result.outcome, result.billable_ms) == ("ANSWER", 3505)
    dial = master.dials[result.uniqueid]
    assert (dial.billsec, dial.answer.isoformat(), dial.end.isoformat()) == (
        8,  # from the IVR's answer
        "2026-11-30T17:14:43",
        "2026-11-30T17:14:51",
    )
    # the callee's answer: the Dial record's end less the talk (the events say 17:14:48.002)
    assert result.answered_at is not None and result.answered_at.isoformat() == "2026-11-30T17:14:47.495000+00:00"


def test_an_unanswered_call_of_the_new_dialplan_costs_nothing():
    master = master_csv.read(CALLEE_ANSWER, "Master.csv")
    result = master.result("b3b6ac65-4bcb-4698-b078-23711e148dd9", "", UTC)
    assert result is not None and (result.outcome, result.billable_ms, result.answered_at) == ("BUSY", 0, None)


def test_the_talk_time_in_the_dial_records_userfield_is_enough():
    # cdr.conf's default (endbeforehexten=yes) makes no record of the hangup handler: the fields then reach
    # Master.csv only as CDR(userfield), which lands on the caller's Dial record
    rows = list(csv.reader(CALLEE_ANSWER))
    (handler,) = [r for r in rows if r[1] == "4001" and r[7] == "Return"]
    (dial,) = [r for r in rows if r[1] == "4001" and r[7] == "Dial"]
    dial[NAMES.index("userfield")] = "asteriskbill,session: 9f09d99e-2e4b-4a21-be80-bc831e42deb6,talk_ms: 3505"
    master = master_csv.read(text([r for r in rows if r is not handler]), "Master.csv")
    result = master.result("9f09d99e-2e4b-4a21-be80-bc831e42deb6", "", UTC)
    assert result is not None and (result.outcome, result.billable_ms) == ("ANSWER", 3505)


def test_the_attempts_over_the_routes_come_from_the_userfield():
    # the lastdata of the handler's record is cut at 79 characters, long before route and attempts: the userfield,
    # which lands on the caller's (last) Dial record, keeps them
    rows = list(csv.reader(CALLEE_ANSWER))
    (handler,) = [r for r in rows if r[1] == "4001" and r[7] == "Return"]
    (dial,) = [r for r in rows if r[1] == "4001" and r[7] == "Dial"]
    dial[NAMES.index("userfield")] = (
        "asteriskbill,session: 9f09d99e-2e4b-4a21-be80-bc831e42deb6,talk_ms: 3505,answered_at: 1796058888.001,"
        "ended_at: 1796058891.506,dialstatus: ANSWER,answeredtime_ms: 8017,dialedtime_ms: 8022,route: 2,"
        "attempts: CHANUNAVAIL"
    )
    for lines in (text(rows), text([r for r in rows if r is not handler])):
        result = master_csv.read(lines, "Master.csv").result("9f09d99e-2e4b-4a21-be80-bc831e42deb6", "", UTC)
        assert result is not None and (result.outcome, result.billable_ms) == ("ANSWER", 3505)
        assert result.attempts == ("CHANUNAVAIL", "ANSWER")
    # a dialplan older than the routes: not known (the first route)
    result = master_csv.read(CALLEE_ANSWER, "Master.csv").result("9f09d99e-2e4b-4a21-be80-bc831e42deb6", "", UTC)
    assert result is not None and result.attempts == ()
