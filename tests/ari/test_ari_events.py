from datetime import UTC, datetime

import pytest

from asteriskbill.ari.events import (
    BadFrame,
    BridgeEvent,
    ChannelEvent,
    DialEvent,
    GenericEvent,
    HangupEvent,
    UserEvent,
    VarsetEvent,
    parse_event,
)
from tests.helpers.captures import all_frames, frames


def _first(call, kind, **where):
    for frame in frames(call):
        event = parse_event(frame)
        if event.type == kind and all(getattr(event, k) == v for k, v in where.items()):
            return event
    raise AssertionError(f"no {kind} {where} in {call}")


def test_every_captured_frame_parses_to_its_type():
    events = [parse_event(frame) for frame in all_frames()]
    assert len(events) == 631
    assert {type(e).__name__ for e in events} == {
        "ChannelEvent",
        "VarsetEvent",
        "DialEvent",
        "HangupEvent",
        "UserEvent",
        "BridgeEvent",
        "GenericEvent",
    }
    assert {e.type for e in events if isinstance(e, GenericEvent)} == {"DeviceStateChanged"}
    assert {e.asterisk_id for e in events} == {"02:fc:00:00:00:01"}


def test_timestamp_is_aware_utc_with_milliseconds():
    event = parse_event(frames("2001")[0])
    assert isinstance(event, ChannelEvent)
    assert event.timestamp == datetime(2026, 11, 23, 21, 5, 1, 629000, tzinfo=UTC)
    assert event.channel.id == "1795467901.288" and event.channel.name == "Local/2001@prepaid-00000048;1"
    assert (event.channel.state, event.channel.context, event.channel.exten) == ("Down", "prepaid", "2001")
    assert event.channel.created_at == event.timestamp


def test_varset_carries_the_session():
    event = _first("2001", "ChannelVarset", variable="BILL_SESSION")
    assert isinstance(event, VarsetEvent)
    assert event.value == "32a74feb-c61f-40b0-9870-b06d85f4484d"
    assert event.channel.name == "Local/2001@prepaid-00000048;2"


def test_dial_with_and_without_caller():
    originate = _first("2001", "Dial")
    assert isinstance(originate, DialEvent) and originate.caller is None
    assert originate.peer.name == "Local/2001@prepaid-00000048;1"
    answer = _first("2001", "Dial", dialstatus="ANSWER")
    assert answer.caller.id == "1795467901.289" and answer.peer.id == "1795467901.290"
    assert answer.caller.caller_number == "5551000"
    began = _first("2001", "Dial", dialstring="2001@carrier")
    assert began.dialstatus == "" and began.caller.exten == "2001"


def test_userevent_and_hangup_causes():
    user = _first("2003", "ChannelUserevent")
    assert isinstance(user, UserEvent) and user.eventname == "asteriskbill"
    assert user.userevent == {
        "eventname": "asteriskbill",
        "session": "4e59da7b-55cb-4c70-9d53-e686245f4922",
        "dialstatus": "BUSY",
        "answeredtime_ms": "",
        "dialedtime_ms": "",
    }
    busy = _first("2003", "ChannelDestroyed", cause=17)
    assert isinstance(busy, HangupEvent) and busy.cause_txt == "User busy" and not busy.soft
    request = _first("2008", "ChannelHangupRequest", cause=32)
    assert request.soft and request.cause_txt == "" and request.channel.id == "1795467949.345"


def test_bridge_events():
    created = _first("2001", "BridgeCreated")
    assert isinstance(created, BridgeEvent) and created.channel is None
    left = _first("2001", "ChannelLeftBridge")
    assert left.bridge_id == created.bridge_id and left.channel.name == "Local/2001@carrier-00000049;1"


def test_unknown_types_are_kept_whole():
    event = parse_event(
        '{"type":"StasisStart","timestamp":"2026-11-23T21:05:01.629+0000","args":[],'
        '"asterisk_id":"x","application":"asteriskbill"}'
    )
    assert isinstance(event, GenericEvent) and event.data["args"] == []


@pytest.mark.parametrize(
    "frame, reason",
    [
        ("not json", "not JSON"),
        ('{"type":"Dial"', "not JSON"),
        ("[]", "not an ARI event"),
        ('{"timestamp":"2026-11-23T21:05:01.629+0000"}', "not an ARI event"),
        ('{"type":"Dial"}', "bad timestamp"),
        ('{"type":"Dial","timestamp":"yesterday"}', "bad timestamp"),
        ('{"type":"Dial","timestamp":"2026-11-23T21:05:01.629"}', "no UTC offset"),
        ('{"type":"Dial","timestamp":"2026-11-23T21:05:01.629+0000"}', "malformed Dial"),
        (
            '{"type":"ChannelDestroyed","timestamp":"2026-11-23T21:05:01.629+0000","channel":{"name":"x"}}',
            "malformed ChannelDestroyed",
        ),
        ('{"type":"ChannelVarset","timestamp":"2026-11-23T21:05:01.629+0000","channel":"oops"}', "malformed"),
    ],
)
def test_garbage_is_reported_not_fatal(frame, reason):
    with pytest.raises(BadFrame, match=reason):
        parse_event(frame)
