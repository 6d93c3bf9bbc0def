"""The packaged dialplan, read as Asterisk's pbx_config reads it, checked against the contract in
asteriskbill/dialplan.py (the names the AGI, the listener and the Master.csv reader use), and that contract's
reading of the UserEvent; tests/fixtures/asterisk/callee-answer/ shows the file running on a real Asterisk."""

import csv
import json
import re

import pytest

from asteriskbill import dialplan
from asteriskbill.agi.apps import APP_NAMES
from asteriskbill.billing.routing import FAILOVER
from tests.helpers import ASTERISK

CAPTURES = ASTERISK / "callee-answer"
APPLICATIONS = {"ExecIf", "Set", "AGI", "GotoIf", "Dial", "Hangup", "Progress", "Playback", "Congestion"}
APPLICATIONS |= {"UserEvent", "Return", "Gosub"}
LINE = re.compile(r"^(?:exten => (?P<exten>[^,]+),1|\s*same => n)(?:\((?P<label>\w+)\))?,(?P<app>\w+)\((?P<args>.*)\)$")
IN_CONTEXTS = (dialplan.IN_CONTEXT, dialplan.IN_STDIO_CONTEXT)
CALL_CONTEXTS = (
    dialplan.CARD_CONTEXT,
    dialplan.EXT_CONTEXT,
    dialplan.CARD_STDIO_CONTEXT,
    dialplan.EXT_STDIO_CONTEXT,
    *IN_CONTEXTS,
)
UNBILLED_DIAL = f"${{{dialplan.DIAL}}},60"  # an incoming call not billed: as it is, no limit


def contexts() -> dict[str, list[dict]]:
    found: dict[str, list[dict]] = {}
    current = None
    for raw in dialplan.text().splitlines():
        line = raw.split(";", 1)[0].rstrip()
        if not line.strip():
            continue
        if line.startswith("["):
            current = found.setdefault(line.strip("[]"), [])
            continue
        match = LINE.match(line)
        assert match, f"not a dialplan line: {raw!r}"
        assert current is not None, "a line before any context"
        current.append(match.groupdict())
    return found


def apps(context: str, name: str) -> list[str]:
    return [line["args"] for line in contexts()[context] if line["app"] == name]


def test_every_line_is_well_formed_and_every_context_of_the_contract_is_there():
    found = contexts()
    assert tuple(found) == dialplan.CONTEXTS
    for name, lines in found.items():
        assert lines and lines[0]["exten"], f"[{name}] must start with an exten => ...,1 line"
        labels = {line["label"] for line in lines if line["label"]}
        for line in lines:
            assert line["app"] in APPLICATIONS, line
            assert line["args"].count("(") == line["args"].count(")"), line
            assert line["args"].count("${") == line["args"].count("}"), line
            for target in re.findall(r"\?(\w+)\]?\)?$", line["args"]) if line["app"] == "GotoIf" else []:
                assert target in labels, f"GotoIf to a missing label {target} in [{name}]"


def test_it_reads_only_what_the_agi_sets_and_what_it_sets_itself():
    text = dialplan.text()
    own = {*dialplan.AGI_VARIABLES, *dialplan.DIALPLAN_VARIABLES, dialplan.dial_variable(1)}
    assert set(re.findall(r"\$\{(BILL_\w+)\}", text)) <= own
    assert set(re.findall(r"\$\{(BILL_\w+)\$", text)) == {dialplan.DIAL_NTH.format("")}  # ${BILL_DIAL_${BILL_ROUTE}}
    assert apps(dialplan.ANSWERED_CONTEXT, "Set") == [
        f"SHARED({dialplan.ANSWERED_AT_VARIABLE},${{ARG1}})=${{STRFTIME(,,%s.%3q)}}"
    ]
    assert f"${{SHARED({dialplan.ANSWERED_AT_VARIABLE})}}" in apps(dialplan.HANGUP_CONTEXT, "Set")[1]


def test_each_call_context_reaches_the_agi_through_a_global_with_its_default():
    for context, (agi, default) in {
        dialplan.CARD_CONTEXT: ("agi://${ASTERISKBILL_FASTAGI}/card", dialplan.FASTAGI_DEFAULT),
        dialplan.EXT_CONTEXT: ("agi://${ASTERISKBILL_FASTAGI}/ext,${EXTEN}", dialplan.FASTAGI_DEFAULT),
        dialplan.CARD_STDIO_CONTEXT: ("${ASTERISKBILL_AGI_BIN}/asteriskbill-card", dialplan.AGI_BIN_DEFAULT),
        dialplan.EXT_STDIO_CONTEXT: ("${ASTERISKBILL_AGI_BIN}/asteriskbill-ext,${EXTEN}", dialplan.AGI_BIN_DEFAULT),
        dialplan.IN_CONTEXT: ("agi://${ASTERISKBILL_FASTAGI}/in,${EXTEN}", dialplan.FASTAGI_DEFAULT),
        dialplan.IN_STDIO_CONTEXT: ("${ASTERISKBILL_AGI_BIN}/asteriskbill-in,${EXTEN}", dialplan.AGI_BIN_DEFAULT),
    }.items():
        lines = contexts()[context]
        name = dialplan.FASTAGI_GLOBAL if "FASTAGI" in agi else dialplan.AGI_BIN_GLOBAL
        assert lines[0]["app"] == "ExecIf"  # the default, set before anything reads the global
        assert lines[0]["args"] == f'$["${{{name}}}" = ""]?Set({name}={default})'
        assert apps(context, "AGI") == [agi]
        target = re.fullmatch(r"(?:agi://\$\{\w+\}/(\w+)|\$\{\w+\}/([\w-]+))(?:,.*)?", agi)
        assert target is not None and (target[1] in APP_NAMES or target[2] in dialplan.AGI_SCRIPTS)
        assert apps(context, "Set")[0] == f"CHANNEL(hangup_handler_push)={dialplan.HANGUP_CONTEXT},s,1"


def test_every_call_context_dials_through_the_one_dial_loop():
    for context in CALL_CONTEXTS:
        assert apps(context, "Dial") == ([UNBILLED_DIAL] if context in IN_CONTEXTS else [])
        assert apps(context, "Gosub") == [f"{dialplan.DIAL_CONTEXT},s,1"]
        lines = [line["app"] for line in contexts()[context]]
        assert lines[lines.index("Gosub") + 1] == "Hangup"  # BUSY, NOANSWER or the last route failed: the call ends
    limited = [args for context in dialplan.CONTEXTS for args in apps(context, "Dial") if args != UNBILLED_DIAL]
    assert len(limited) == 1 and "L(" in limited[0]  # every billed call: the dial loop's Dial, with its limit


def test_an_incoming_call_is_billed_only_with_a_session_and_only_then_reported_at_its_end():
    for context in IN_CONTEXTS:
        steps = [(line["label"], line["app"], line["args"]) for line in contexts()[context]]
        start = [app for _, app, _ in steps].index("AGI")
        assert steps[start + 1 :] == [
            (None, "GotoIf", f'$["${{{dialplan.STATUS}}}" != "OK"]?refused'),
            (None, "GotoIf", f'$["${{{dialplan.SESSION}}}" = ""]?unbilled'),  # no incoming tariff: nothing held
            (None, "Set", f"CHANNEL(hangup_handler_push)={dialplan.HANGUP_CONTEXT},s,1"),
            (None, "Gosub", f"{dialplan.DIAL_CONTEXT},s,1"),
            (None, "Hangup", ""),
            ("unbilled", "Dial", UNBILLED_DIAL),  # no U(), no L(), no UserEvent: as if asteriskbill were not there
            (None, "Hangup", ""),
            ("refused", "Progress", ""),
            (None, "Playback", "ss-noservice,noanswer"),
            (None, "Congestion", "5"),
        ]


def test_every_attempt_is_limited_and_records_the_callee_answer():
    route = dialplan.DIAL_NTH.format(f"${{{dialplan.ROUTE_VARIABLE}}}")
    assert apps(dialplan.DIAL_CONTEXT, "Dial") == [
        f"${{{route}}},60,L(${{{dialplan.MAX_MS}}}:60000:30000)U({dialplan.ANSWERED_CONTEXT}^${{CHANNEL}})"
    ]


def test_the_dial_loop_tries_the_next_route_only_when_the_route_failed():
    lines = contexts()[dialplan.DIAL_CONTEXT]
    steps = [(line["label"], line["app"], line["args"]) for line in lines]
    routes, route, attempts = dialplan.ROUTES, dialplan.ROUTE_VARIABLE, dialplan.ATTEMPTS_VARIABLE
    failed = " | ".join(f'"${{DIALSTATUS}}" = "{status}"' for status in FAILOVER)
    dial = steps[5]
    assert steps == [
        (None, "ExecIf", f'$["${{{routes}}}" = ""]?Set({routes}=1)'),  # an AGI older than BILL_ROUTES: one route,
        (None, "ExecIf", f'$["${{{dialplan.dial_variable(1)}}}" = ""]?Set({dialplan.dial_variable(1)}=${{BILL_DIAL}})'),
        (None, "Set", f"{route}=0"),
        ("next", "Set", "DIALSTATUS="),  # a hang-up before the next Dial leaves no stale status for it
        (None, "Set", f"{route}=$[${{{route}}} + 1]"),
        dial,
        (
            None,
            "Set",
            f"{attempts}=${{{attempts}}}${{IF($[${{{route}}} > 1]?{dialplan.ATTEMPTS_SEPARATOR})}}${{DIALSTATUS}}",
        ),
        (None, "GotoIf", f"$[$[{failed}] & ${{{route}}} < ${{{routes}}}]?next"),
        (None, "Return", ""),
    ]
    assert dial[1] == "Dial"
    assert FAILOVER == ("CHANUNAVAIL", "CONGESTION")  # never BUSY, NOANSWER, ANSWER, CANCEL
    assert dialplan.ATTEMPTS_SEPARATOR != ","  # the UserEvent's fields are comma separated


def test_a_refused_call_is_never_answered():
    for context in CALL_CONTEXTS:
        lines = contexts()[context]
        refused = [line["app"] for line in lines[[line["label"] for line in lines].index("refused") :]]
        if "card" in context:  # the IVR answered: DTMF needs it; the AGI said why
            assert refused == ["Hangup"]
        else:
            assert refused == ["Progress", "Playback", "Congestion"]
            assert apps(context, "Playback") == ["ss-noservice,noanswer"]
    assert "Answer(" not in dialplan.text()
    for playback in re.findall(r"Playback\(([^)]*)\)", dialplan.text()):
        assert playback.endswith(",noanswer"), playback


def test_on_the_real_asterisk_refused_extension_calls_were_not_answered():
    rows = list(csv.reader((CAPTURES / "Master.csv").read_text().splitlines()))
    refused = [row for row in rows if row[2] in ("3003", "3006")]  # NO_CREDIT; the globals unset: no FastAGI
    assert len(refused) == 4  # the caller's two halves, each call
    assert {(row[10], row[14]) for row in refused} == {("", "CONGESTION")}  # no answer time, not ANSWERED


def test_the_hangup_handler_sends_the_contract_fields_in_the_userevent_and_to_the_cdr():
    (fields,) = [args for args in apps(dialplan.HANGUP_CONTEXT, "Set") if args.startswith("LOCAL(fields)=")]
    pairs = fields.removeprefix("LOCAL(fields)=").split(",")
    assert tuple(pair.split(": ")[0] for pair in pairs) == dialplan.USER_EVENT_FIELDS
    assert pairs[0] == "session: ${BILL_SESSION}"
    assert pairs[-2:] == [f"route: ${{{dialplan.ROUTE_VARIABLE}}}", f"attempts: ${{{dialplan.ATTEMPTS_VARIABLE}}}"]
    assert apps(dialplan.HANGUP_CONTEXT, "UserEvent") == [f"{dialplan.USER_EVENT},${{fields}}"]
    # the CDR keeps the data of the last application: Return() carries the same fields to Master.csv
    assert contexts()[dialplan.HANGUP_CONTEXT][-1] == {
        "exten": None,
        "label": None,
        "app": "Return",
        "args": f"{dialplan.USER_EVENT},${{fields}}",
    }


def test_session_and_talk_ms_always_fit_in_the_cdr_lastdata():
    longest = f"{dialplan.USER_EVENT},session: {'f' * 36},talk_ms: {10**8 - 1},"  # talk of 27 hours
    assert dialplan.USER_EVENT_FIELDS[:2] == (dialplan.EVENT_SESSION, dialplan.EVENT_TALK_MS)
    assert len(longest) <= dialplan.CDR_LASTDATA_CHARS


def test_the_real_asterisk_sent_the_contract_fields():
    sent = [
        json.loads(frame)["userevent"]
        for path in sorted(CAPTURES.glob("*.jsonl"))
        for frame in path.read_text().splitlines()
        if '"ChannelUserevent"' in frame
    ]
    assert len(sent) == len(list(CAPTURES.glob("*.jsonl")))
    for userevent in sent:  # recorded before the routes: route and attempts came after these, which keep their places
        assert ("eventname", *dialplan.USER_EVENT_FIELDS[:-2]) == tuple(userevent)
        assert dialplan.USER_EVENT_FIELDS[-2:] == (dialplan.EVENT_ROUTE, dialplan.EVENT_ATTEMPTS)
        assert userevent["eventname"] == dialplan.USER_EVENT
        assert dialplan.event_attempts(userevent) == ()


def test_the_globals_section():
    assert dialplan.globals_section("10.0.0.5:4573", "/opt/ab/bin") == (
        "[globals]\nASTERISKBILL_FASTAGI=10.0.0.5:4573\nASTERISKBILL_AGI_BIN=/opt/ab/bin\n"
    )


NEW = {"session": "s", "talk_ms": "3505", "answered_at": "1796058888.001", "ended_at": "1796058891.506"}
OLD = {"session": "s", "dialstatus": "ANSWER", "answeredtime_ms": "8017", "dialedtime_ms": "8022"}


@pytest.mark.parametrize(
    ("fields", "answered_by_dial", "ms"),
    [
        (NEW, False, 3505),
        (NEW | {"dialstatus": "ANSWER", "answeredtime_ms": "8017"}, True, 3505),  # never ANSWEREDTIME_MS
        ({**NEW, "talk_ms": "0", "answered_at": "", "dialstatus": "BUSY"}, False, 0),
        ({**NEW, "talk_ms": "3.5"}, False, None),
        (OLD, True, 8017),  # an older dialplan: the caller was answered by the Dial, so this is the talk
        (OLD, False, None),  # ... or it was answered before (a card IVR): unknown
        ({**OLD, "dialstatus": "BUSY", "answeredtime_ms": ""}, False, 0),
        ({"session": "s"}, True, None),
    ],
)
def test_event_talk(fields, answered_by_dial, ms):
    talk = dialplan.event_talk(fields, answered_by_dial=answered_by_dial)
    assert talk.ms == ms
    if fields.get("answered_at"):
        assert talk.answered_at is not None and talk.ended_at is not None
        assert talk.answered_at.isoformat() == "2026-11-30T17:14:48.001000+00:00"
        assert talk.ended_at.isoformat() == "2026-11-30T17:14:51.506000+00:00"


def test_lastdata_fields_drop_a_field_the_cdr_may_have_cut():
    full = "asteriskbill,session: 9f09d99e-2e4b-4a21-be80-bc831e42deb6,talk_ms: 3505,answer"
    assert len(full) == dialplan.CDR_LASTDATA_CHARS
    assert dialplan.lastdata_fields(full) == {"session": "9f09d99e-2e4b-4a21-be80-bc831e42deb6", "talk_ms": "3505"}
    cut = "asteriskbill,session: 9f09d99e-2e4b-4a21-be80-bc831e42deb6,a: 123456,talk_ms: 12345"
    assert cut[: dialplan.CDR_LASTDATA_CHARS].endswith(",talk_ms: 1")  # 1 ms is not what Asterisk wrote
    assert dialplan.lastdata_fields(cut[: dialplan.CDR_LASTDATA_CHARS]) == {
        "session": "9f09d99e-2e4b-4a21-be80-bc831e42deb6",
        "a": "123456",
    }
    assert dialplan.lastdata_fields("asteriskbill,session: x,talk_ms: 12") == {"session": "x", "talk_ms": "12"}
    assert dialplan.lastdata_fields("Local/2001@carrier,30,L(5000)") is None
    assert dialplan.lastdata_fields("") is None


@pytest.mark.parametrize(
    ("fields", "attempts"),
    [
        # the caller hung up while talking over route 2: its Dial never returned, BILL_ATTEMPTS lacks it
        ({**NEW, "dialstatus": "ANSWER", "route": "2", "attempts": "CHANUNAVAIL"}, ("CHANUNAVAIL", "ANSWER")),
        ({**NEW, "dialstatus": "ANSWER", "route": "1", "attempts": ""}, ("ANSWER",)),
        (
            {**NEW, "dialstatus": "CANCEL", "route": "3", "attempts": "CONGESTION/CHANUNAVAIL"},
            ("CONGESTION", "CHANUNAVAIL", "CANCEL"),
        ),
        # every Dial returned: the loop stopped (BUSY is no failover) or ran out of routes
        ({**NEW, "dialstatus": "BUSY", "route": "1", "attempts": "BUSY"}, ("BUSY",)),
        ({**NEW, "dialstatus": "BUSY", "route": "2", "attempts": "CONGESTION/BUSY"}, ("CONGESTION", "BUSY")),
        (
            {**NEW, "dialstatus": "CHANUNAVAIL", "route": "2", "attempts": "CHANUNAVAIL/CHANUNAVAIL"},
            ("CHANUNAVAIL",) * 2,
        ),
        # a hang-up between two attempts: the loop had cleared DIALSTATUS, no stale status is taken for route 2
        ({**NEW, "dialstatus": "", "route": "2", "attempts": "CHANUNAVAIL"}, ("CHANUNAVAIL",)),
        ({**NEW, "dialstatus": "", "route": "", "attempts": ""}, ()),  # hung up before the loop: never dialled
        (OLD, ()),  # a dialplan older than the routes
        ({**OLD, "route": "1"}, ()),  # a field cut off (Master.csv's lastdata)
    ],
)
def test_event_attempts(fields, attempts):
    assert dialplan.event_attempts(fields) == attempts


def test_event_attempts_of_the_cdr_userfield():
    userfield = (
        "asteriskbill,session: 9f09d99e-2e4b-4a21-be80-bc831e42deb6,talk_ms: 3505,answered_at: 1796058888.001,"
        "ended_at: 1796058891.506,dialstatus: ANSWER,answeredtime_ms: 3505,dialedtime_ms: 4512,route: 2,"
        "attempts: CONGESTION"
    )
    fields = dialplan.userfield_fields(userfield)  # the userfield keeps every field
    assert fields is not None and dialplan.event_attempts(fields) == ("CONGESTION", "ANSWER")
    assert dialplan.userfield_fields("Local/2001@carrier,30") is None
    # Asterisk keeps 255 characters of a userfield: the attempts of a call that tried many routes may be cut
    many = userfield.replace("route: 2,attempts: CONGESTION", f"route: 8,attempts: {'/'.join(['CHANUNAVAIL'] * 7)}")
    kept = dialplan.userfield_fields(many[: dialplan.CDR_USERFIELD_CHARS])
    assert len(many) > dialplan.CDR_USERFIELD_CHARS and kept is not None
    assert kept["route"] == "8" and dialplan.event_attempts(kept) == ()  # not known: never a cut status
    for lastdata in (userfield, userfield[: dialplan.CDR_LASTDATA_CHARS]):  # lastdata is cut at 79: no attempts
        cut = dialplan.lastdata_fields(lastdata)
        assert cut is not None and dialplan.event_attempts(cut) == ()
