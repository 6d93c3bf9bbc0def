"""The routes a call tried reach its settlement: the hangup handler's UserEvent says each attempt's Dial status
(route, attempts), the tracker reports them with the call (finished, or seen in part) and call_result hands them to
the settlement as CallResult.attempts. The frames are the real ext-answered capture (tests/fixtures/asterisk/
callee-answer/), its UserEvent given the fields of the dial loop over two routes."""

import json

import pytest

from asteriskbill.ari.events import parse_event
from asteriskbill.ari.reports import MISSED_START, FinishedCall, IncompleteCall
from asteriskbill.ari.results import call_result
from asteriskbill.ari.tracker import replay
from tests.helpers import ASTERISK

CAPTURE = ASTERISK / "callee-answer" / "ext-answered.jsonl"


def with_routes(fields: dict[str, str]) -> list[str]:
    """The capture's frames, its UserEvent carrying ``fields`` too (as the dialplan with routes sends them)."""
    out = []
    for frame in CAPTURE.read_text().splitlines():
        event = json.loads(frame)
        if event["type"] == "ChannelUserevent":
            event["userevent"] |= fields
            frame = json.dumps(event)
        out.append(frame)
    return out


def after_session(frame_list: list[str]) -> list[str]:
    """What a listener started just after the AGI set BILL_SESSION sees."""
    at = next(i for i, f in enumerate(frame_list) if '"variable":"BILL_SESSION"' in f and '"value":""' not in f)
    return frame_list[at + 1 :]


# the caller hung up talking over route 2: that Dial never returned, so attempts holds only route 1's status
OVER_ROUTE_2 = {"route": "2", "attempts": "CHANUNAVAIL"}


def test_a_call_answered_over_its_second_route_reports_both_attempts():
    (report,) = replay(parse_event(frame) for frame in with_routes(OVER_ROUTE_2))
    assert isinstance(report, FinishedCall) and report.outcome == "ANSWER"
    assert report.attempts == ("CHANUNAVAIL", "ANSWER")
    result = call_result(report, "")
    assert result is not None and result.attempts == ("CHANUNAVAIL", "ANSWER")
    assert (result.outcome, result.billable_ms) == ("ANSWER", report.billable_ms)


def test_a_call_seen_in_part_reports_its_attempts_from_the_userevent():
    (report,) = replay(parse_event(frame) for frame in after_session(with_routes(OVER_ROUTE_2)))
    assert isinstance(report, IncompleteCall) and report.reason == MISSED_START
    result = call_result(report, "")
    assert result is not None and result.source == "userevent"
    assert result.attempts == ("CHANUNAVAIL", "ANSWER")


@pytest.mark.parametrize(
    ("fields", "attempts"),
    [
        ({"route": "1", "attempts": ""}, ("ANSWER",)),  # the first route carried it
        ({}, ()),  # a dialplan older than the routes: not known, the settlement takes the first route
    ],
)
def test_one_route_or_an_older_dialplan(fields, attempts):
    (report,) = replay(parse_event(frame) for frame in with_routes(fields))
    result = call_result(report, "")
    assert result is not None and result.attempts == attempts
