import json
from datetime import timedelta

import pytest

from asteriskbill.ari.events import GenericEvent, parse_event
from asteriskbill.ari.reports import EVENT_GAP, MISSED_START, NO_FINAL_DIALSTATUS, IncompleteCall
from asteriskbill.ari.tracker import NOT_DIALED, CallTracker, replay
from tests.helpers.captures import CALLS, all_frames, check, expected, frames, jumble, later_copy

EXPECTED = expected()


def events(frame_list):
    return [parse_event(frame) for frame in frame_list]


@pytest.mark.parametrize("call", CALLS)
def test_each_capture_gives_the_readme_outcome_and_milliseconds(call):
    (report,) = replay(events(frames(call)))
    check(call, report)
    want = EXPECTED[call]
    assert report.linkedid == want.linkedid
    assert (report.asterisk_id, report.caller_number, report.max_ms) == ("02:fc:00:00:00:01", "5551000", 5000)
    assert (report.context, report.exten, report.dialstring) == ("prepaid", call, f"{call}@carrier")
    assert report.channel.endswith(";2") and report.hangup_cause == 16
    assert report.created_at < report.dial_started_at <= report.ended_at
    if want.outcome == "ANSWER":
        assert report.dial_started_at < report.answered_at < report.talk_ended_at <= report.ended_at
        assert abs(report.billable_ms - report.asterisk_answered_ms) <= 10  # Asterisk's own ANSWEREDTIME_MS
    else:
        assert (report.answered_at, report.talk_ended_at, report.billable_ms) == (None, None, 0)


def test_exact_figures_of_the_captures():
    reports = {r.session: r for r in replay(events(all_frames()))}
    assert [reports[EXPECTED[c].session].billable_ms for c in CALLS] == [3505, 5004, 0, 0, 0, 0, 2003, 2003]


def test_a_call_cut_by_L_overshoots_and_capped_ms_says_the_maximum():
    (report,) = replay(events(frames("2002")))
    assert (report.billable_ms, report.max_ms, report.capped_ms) == (5004, 5000, 5000)


def test_calls_settle_as_later_events_arrive_and_the_last_one_at_flush():
    tracker = CallTracker()
    fed = [report for event in events(all_frames()) for report in tracker.feed(event)]
    assert [r.session for r in fed] == [EXPECTED[c].session for c in CALLS[:-1]]
    (last,) = tracker.flush()
    check("2008", last)
    assert tracker.flush() == []


def test_nothing_settles_inside_the_settle_window():
    tracker = CallTracker(settle_ms=1000)
    assert [r for e in events(frames("2003")) for r in tracker.feed(e)] == []
    (report,) = tracker.flush()
    check("2003", report)


@pytest.mark.parametrize("retention_ms", [60_000, 1000])
def test_the_frame_set_replayed_twice_reports_each_call_once(retention_ms):
    reports = replay(events(all_frames() * 2), CallTracker(retention_ms=retention_ms))
    assert len(reports) == 8
    for call, report in zip(CALLS, reports, strict=True):
        check(call, report)


def test_every_frame_twice_in_a_row_changes_nothing():
    doubled = [frame for frame in all_frames() for _ in range(2)]
    assert replay(events(doubled)) == replay(events(all_frames()))


@pytest.mark.parametrize("seed", range(25))
def test_shuffled_within_a_few_ms_with_duplicates(seed):
    reports = {r.session: r for r in replay(events(jumble(all_frames() * 2, seed)))}
    assert len(reports) == 8
    for call in CALLS:
        check(call, reports[EXPECTED[call].session])


@pytest.mark.parametrize("seed", range(25))
def test_each_call_shuffled_harder(seed):
    for call in CALLS:
        (report,) = replay(events(jumble(frames(call), seed, window_ms=5, duplicates=0.5)))
        check(call, report)


@pytest.mark.parametrize("call", CALLS)
def test_a_listener_started_mid_call_never_invents_a_bill(call):
    """Cut the capture at every frame: before BILL_SESSION the call is fully billed; after it, the tracker
    reports only an IncompleteCall (MISSED_START, session from the h-exten UserEvent) or nothing at all."""
    frame_list = frames(call)
    parsed = [json.loads(f) for f in frame_list]
    session_at = next(i for i, e in enumerate(parsed) if e.get("variable") == "BILL_SESSION")
    userevent_at = next(i for i, e in enumerate(parsed) if e["type"] == "ChannelUserevent")
    for cut in range(len(frame_list) + 1):
        reports = replay(events(frame_list[cut:]))
        if cut <= session_at:
            (report,) = reports
            check(call, report)
        elif cut <= userevent_at:
            assert (
                reports
                == [
                    IncompleteCall(
                        EXPECTED[call].session,
                        MISSED_START,
                        "02:fc:00:00:00:01",
                        EXPECTED[call].uniqueid,
                        reports[0].channel,
                        reports[0].ended_at,
                        EXPECTED[call].outcome,
                        reports[0].asterisk_answered_ms,
                        None,  # this dialplan's UserEvent has no answered_at
                        _older_talk_ms(call, frame_list[cut:]),
                    )
                ]
            )
            assert reports[0].ended_at is not None
        else:
            assert reports == []


def _older_talk_ms(call: str, seen: list[str]) -> int | None:
    """These captures' UserEvent predates talk_ms: its ANSWEREDTIME_MS is billed only if a Dial event showed the
    caller still ringing (then the Dial answered it); an unanswered call costs nothing."""
    if EXPECTED[call].outcome != "ANSWER":
        return 0
    parsed = [json.loads(frame) for frame in seen]
    rang = any(e["type"] == "Dial" and e.get("caller", {}).get("state") == "Ring" for e in parsed)
    (userevent,) = [e["userevent"] for e in parsed if e["type"] == "ChannelUserevent"]
    return int(userevent["answeredtime_ms"]) if rang else None


def test_no_state_is_left_behind():
    tracker = CallTracker(retention_ms=60_000)
    replay(events(all_frames()), tracker)
    assert tracker.tracked_channels == 32
    last = parse_event(all_frames()[-1])
    tracker.feed(
        GenericEvent(
            type="DeviceStateChanged", timestamp=last.timestamp + timedelta(seconds=61), asterisk_id=last.asterisk_id
        )
    )
    assert tracker.tracked_channels == 0 and tracker.in_progress() == []


def _unbilled(frame: str) -> str | None:
    """The frame as if no AGI had set BILL_SESSION (None: the frame would not exist)."""
    event = json.loads(frame)
    if event.get("variable") in ("BILL_SESSION", "BILL_MAX_MS"):
        return None
    if event["type"] == "ChannelUserevent":
        event["userevent"]["session"] = ""  # ${BILL_SESSION} is empty then
    return json.dumps(event)


def test_channels_that_never_carry_bill_session_are_forgotten():
    tracker = CallTracker(retention_ms=2000)
    unbilled = [f for f in map(_unbilled, all_frames()) if f is not None]
    for n in range(50):
        for frame in later_copy(unbilled, n):
            assert tracker.feed(parse_event(frame)) == []
        assert tracker.tracked_channels <= 32  # bounded: the channels of the last minute only
    assert tracker.flush() == []


def test_in_progress_and_overdue():
    tracker = CallTracker()
    frame_list = events(frames("2002"))
    answer = next(i for i, e in enumerate(frame_list) if e.type == "Dial" and e.caller and e.dialstatus == "ANSWER")
    for event in frame_list[:answer]:
        tracker.feed(event)
    (ringing,) = tracker.in_progress()
    assert (ringing.session, ringing.answered_at, ringing.max_ms) == (EXPECTED["2002"].session, None, 5000)
    assert ringing.deadline(2000) is None
    tracker.feed(frame_list[answer])
    (up,) = tracker.in_progress()
    assert up.channel_id == EXPECTED["2002"].uniqueid and up.answered_at == frame_list[answer].timestamp
    assert up.deadline(2000) == up.answered_at + timedelta(milliseconds=7000)
    assert tracker.overdue(up.deadline(2000), 2000) == []
    assert tracker.overdue(up.deadline(2000) + timedelta(milliseconds=1), 2000) == [up]
    for event in frame_list[answer + 1 :]:
        tracker.feed(event)
    assert tracker.in_progress() == []


def _split_at_answer(call):
    frame_list = events(frames(call))
    answer = next(i for i, e in enumerate(frame_list) if e.type == "Dial" and e.caller and e.dialstatus == "ANSWER")
    return frame_list[: answer + 1], frame_list[answer + 1 :]


def test_a_call_up_across_a_reconnection_goes_to_recovery():
    before, after = _split_at_answer("2001")
    tracker = CallTracker()
    replay(before, tracker)
    assert tracker.resync({EXPECTED["2001"].uniqueid, "other"}) == []
    (report,) = replay(after, tracker)
    assert isinstance(report, IncompleteCall)
    assert (report.session, report.reason, report.asterisk_dialstatus, report.asterisk_answered_ms) == (
        EXPECTED["2001"].session,
        EVENT_GAP,
        "ANSWER",
        3506,
    )


def test_a_call_that_ended_during_a_reconnection_is_reported_at_resync():
    before, after = _split_at_answer("2007")
    tracker = CallTracker()
    replay(before, tracker)
    (lost,) = tracker.resync(set())
    assert (lost.session, lost.reason, lost.ended_at, lost.uniqueid) == (
        EXPECTED["2007"].session,
        EVENT_GAP,
        None,
        EXPECTED["2007"].uniqueid,
    )
    assert tracker.tracked_channels == 0
    assert replay(after, tracker) == []  # its late frames change nothing


def test_resync_without_a_channel_list_only_flags():
    before, after = _split_at_answer("2008")
    tracker = CallTracker()
    replay(before, tracker)
    assert tracker.resync(None) == []
    (report,) = replay(after, tracker)
    assert report.reason == EVENT_GAP


def test_a_call_never_dialled():
    caller = EXPECTED["2003"].uniqueid
    kept = [f for f in frames("2003") if json.loads(f).get("channel", {}).get("id") == caller]
    (report,) = replay(events(kept))
    assert (report.outcome, report.billable_ms, report.dial_started_at, report.dialstring) == (NOT_DIALED, 0, None, "")
    assert report.session == EXPECTED["2003"].session


def test_a_dial_without_final_status_is_incomplete():
    kept = [f for f in frames("2001") if not ('"type":"Dial"' in f and '"dialstatus":"ANSWER"' in f)]
    (report,) = replay(events(kept))
    assert isinstance(report, IncompleteCall) and report.reason == NO_FINAL_DIALSTATUS
