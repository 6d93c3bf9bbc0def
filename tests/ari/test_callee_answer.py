"""Talk time from the callee's answer, on calls placed through the packaged dialplan on a real Asterisk
(tests/fixtures/asterisk/callee-answer/, README §7): the listener's events, the hangup handler's UserEvent
and Master.csv bill the same seconds, and the card IVR's time is never billed."""

import json
from datetime import UTC, datetime

import pytest

from asteriskbill.ari.events import parse_event
from asteriskbill.ari.reports import MISSED_START, FinishedCall, IncompleteCall
from asteriskbill.ari.results import call_result
from asteriskbill.ari.tracker import replay
from asteriskbill.billing import master_csv
from asteriskbill.billing.settle import billable_seconds
from tests.helpers import ASTERISK

DIR = ASTERISK / "callee-answer"
MASTER = master_csv.read((DIR / "Master.csv").read_text().splitlines(keepends=True), "Master.csv")
# capture: (outcome, talk ms from the events, the UserEvent's talk_ms, the caller's ANSWEREDTIME_MS, max seconds)
ANSWERED = {
    "ext-answered": ("ANSWER", 3492, 3505, 3492, 60),
    "card-answered-after-ivr": ("ANSWER", 3504, 3505, 8017, 60),  # the IVR answered 4.5 s before the callee
    "card-cut-by-L4000": ("ANSWER", 4004, 4006, 7513, 4),
    # authorized by a real `asteriskbill serve` (FastAGI) and asteriskbill-ext (agi-bin); the last one's serve
    # was killed 2 s into the talk and restarted: it settled the call from the UserEvent (README §7)
    "serve-ext-fastagi": ("ANSWER", 3491, 3502, 3491, 496),
    "serve-ext-agi-bin": ("ANSWER", 3493, 3505, 3493, 492),
    "serve-ext-killed-mid-call": ("ANSWER", 20512, 20524, 20511, 488),
}
UNANSWERED = {"ext-busy": "BUSY", "ext-cancel": "CANCEL"}
REFUSED = ("ext-refused", "card-refused", "ext-defaults-unset")


def frames(name: str) -> list[str]:
    return (DIR / f"{name}.jsonl").read_text().splitlines()


def events(frame_list: list[str]):
    return [parse_event(frame) for frame in frame_list]


def after_session(name: str) -> list[str]:
    """The frames a listener started just after the AGI set BILL_SESSION sees."""
    frame_list = frames(name)
    at = next(i for i, f in enumerate(frame_list) if '"variable":"BILL_SESSION"' in f and '"value":""' not in f)
    return frame_list[at + 1 :]


def seen_in_part(frame_list: list[str]) -> IncompleteCall:
    (report,) = replay(events(frame_list))
    assert isinstance(report, IncompleteCall) and report.reason == MISSED_START
    return report


@pytest.mark.parametrize("name", [*ANSWERED, *UNANSWERED])
def test_each_capture_replays_to_its_outcome(name):
    (report,) = replay(events(frames(name)))
    assert isinstance(report, FinishedCall)
    outcome, events_ms, *_ = ANSWERED.get(name) or (UNANSWERED[name], 0)
    assert (report.outcome, report.billable_ms) == (outcome, events_ms)


@pytest.mark.parametrize("name", REFUSED)
def test_refused_calls_are_no_calls(name):
    assert replay(events(frames(name))) == []  # no BILL_SESSION: nothing held, nothing to settle


@pytest.mark.parametrize("name", ANSWERED)
def test_events_userevent_and_master_csv_bill_the_same_seconds(name):
    _, events_ms, userevent_ms, answeredtime_ms, max_seconds = ANSWERED[name]
    (finished,) = replay(events(frames(name)))
    in_part = seen_in_part(after_session(name))
    assert (in_part.talk_ms, in_part.asterisk_answered_ms) == (userevent_ms, answeredtime_ms)
    from_csv = MASTER.result(finished.session, finished.uniqueid, UTC)
    results = [call_result(finished, ""), call_result(in_part, ""), from_csv]
    assert [r.billable_ms for r in results if r] == [events_ms, userevent_ms, userevent_ms]
    assert len({billable_seconds(r, max_seconds) for r in results if r}) == 1
    for result in results:
        assert result is not None and result.answered_at is not None
        assert abs((result.answered_at - finished.answered_at).total_seconds()) < 1


def test_the_card_ivr_time_is_billed_nowhere():
    (finished,) = replay(events(frames("card-answered-after-ivr")))
    in_part = seen_in_part(after_session("card-answered-after-ivr"))
    from_csv = MASTER.result(finished.session, finished.uniqueid, UTC)
    assert MASTER.dials[finished.uniqueid].billsec == 8  # the caller's Dial record counts from the IVR's answer
    assert [billable_seconds(r, 60) for r in (call_result(finished, ""), call_result(in_part, ""), from_csv)] == [
        4,
        4,
        4,
    ]


def test_a_call_seen_in_part_is_settled_from_the_userevent():
    in_part = seen_in_part(after_session("card-answered-after-ivr"))
    result = call_result(in_part, "asterisk-1")
    assert result is not None
    assert (result.outcome, result.billable_ms, result.source) == ("ANSWER", 3505, "userevent")
    assert result.answered_at == datetime.fromtimestamp(1796058888.001, UTC).replace(microsecond=1000)
    assert result.ended_at == in_part.ended_at and result.ended_at is not None
    assert (result.server, result.uniqueid) == (in_part.asterisk_id, in_part.uniqueid)


@pytest.mark.parametrize("name", UNANSWERED)
def test_an_unanswered_call_seen_in_part_costs_nothing(name):
    result = call_result(seen_in_part(after_session(name)), "")
    assert result is not None
    assert (result.outcome, result.billable_ms, result.answered_at) == (UNANSWERED[name], 0, None)


def older_dialplan(frame_list: list[str]) -> list[str]:
    """The frames as the dialplan before talk_ms sent them: a UserEvent without talk_ms, answered_at, ended_at."""
    out = []
    for frame in frame_list:
        event = json.loads(frame)
        if event["type"] == "ChannelUserevent":
            for name in ("talk_ms", "answered_at", "ended_at"):
                del event["userevent"][name]
            frame = json.dumps(event)
        out.append(frame)
    return out


def test_an_older_dialplan_userevent_is_billed_only_when_the_dial_answered_the_caller():
    ext = seen_in_part(older_dialplan(after_session("ext-answered")))
    assert (ext.talk_ms, ext.answered_at) == (3492, None)  # the caller rang until the callee answered
    assert call_result(ext, "") is not None
    card = seen_in_part(older_dialplan(after_session("card-answered-after-ivr")))
    assert card.talk_ms is None  # ANSWEREDTIME_MS (8017) would bill the IVR: left for recovery
    assert call_result(card, "") is None


def test_an_older_dialplan_userevent_seen_without_any_dial_is_left_for_recovery():
    frame_list = older_dialplan(after_session("ext-answered"))
    last_dial = max(i for i, f in enumerate(frame_list) if '"type":"Dial"' in f)
    assert seen_in_part(frame_list[last_dial + 1 :]).talk_ms is None  # was the caller answered before? unknown
