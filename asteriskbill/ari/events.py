"""ARI websocket frames -> small typed events (pure: no I/O).

Only what billing reads is typed; every other event type becomes a ``GenericEvent`` with its JSON, so an
Asterisk upgrade that adds event types never breaks the listener. A frame that is not a JSON object with a
``type`` and a timestamp, or a known event missing a field billing needs, raises ``BadFrame``: the listener
logs it and goes on.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any


class BadFrame(ValueError):
    """A websocket frame that cannot be read as an ARI event."""


@dataclass(frozen=True, slots=True)
class Channel:
    """The channel snapshot an event carries (``uniqueid`` = ``id``)."""

    id: str
    name: str
    state: str
    caller_number: str
    context: str
    exten: str
    created_at: datetime | None


@dataclass(frozen=True, kw_only=True)
class Event:
    type: str
    timestamp: datetime  # aware UTC, millisecond precision as Asterisk sends it
    asterisk_id: str  # the Asterisk entity id (= GET /asterisk/info system.entity_id)


@dataclass(frozen=True, kw_only=True)
class ChannelEvent(Event):
    """Any channel event billing reads only the snapshot of (ChannelCreated, ChannelStateChange, ...)."""

    channel: Channel


@dataclass(frozen=True, kw_only=True)
class VarsetEvent(Event):
    """ChannelVarset; ``channel`` is None for a global variable."""

    channel: Channel | None
    variable: str
    value: str


@dataclass(frozen=True, kw_only=True)
class DialEvent(Event):
    """Dial; ``caller`` is None when the dial belongs to an originate (not a billed call)."""

    caller: Channel | None
    peer: Channel
    dialstatus: str
    dialstring: str
    forward: str


@dataclass(frozen=True, kw_only=True)
class HangupEvent(Event):
    """ChannelHangupRequest or ChannelDestroyed (the ``type`` tells which)."""

    channel: Channel
    cause: int
    cause_txt: str  # ChannelDestroyed only; "" on a hangup request
    soft: bool  # hangup request: the internal soft-hangup flag, not a Q.850 cause


@dataclass(frozen=True, kw_only=True)
class UserEvent(Event):
    """ChannelUserevent: ``userevent`` holds the UserEvent() key/value pairs as strings."""

    channel: Channel | None
    eventname: str
    userevent: Mapping[str, str]


@dataclass(frozen=True, kw_only=True)
class BridgeEvent(Event):
    """BridgeCreated/BridgeDestroyed (no channel) and ChannelEnteredBridge/ChannelLeftBridge."""

    bridge_id: str
    channel: Channel | None


@dataclass(frozen=True, kw_only=True)
class GenericEvent(Event):
    """Any other event type, kept whole."""

    data: Mapping[str, Any] = field(default_factory=dict)


def parse_timestamp(text: object) -> datetime:
    """``2026-11-23T21:05:01.629+0000`` -> aware UTC datetime; anything else (None, a number) is a BadFrame."""
    try:
        if not isinstance(text, str):
            raise ValueError(text)
        value = datetime.fromisoformat(text)
    except ValueError:
        raise BadFrame(f"bad timestamp {text!r}") from None
    if value.tzinfo is None:
        raise BadFrame(f"timestamp {text!r} has no UTC offset")
    return value.astimezone(UTC)


def parse_channel(data: Mapping[str, Any]) -> Channel:
    dialplan = data.get("dialplan") or {}
    created = data.get("creationtime")
    return Channel(
        id=str(data["id"]),
        name=str(data.get("name", "")),
        state=str(data.get("state", "")),
        caller_number=str((data.get("caller") or {}).get("number", "")),
        context=str(dialplan.get("context", "")),
        exten=str(dialplan.get("exten", "")),
        created_at=parse_timestamp(created) if created else None,
    )


def _optional_channel(data: Mapping[str, Any]) -> Channel | None:
    return parse_channel(data["channel"]) if data.get("channel") else None


def _varset(base: dict[str, Any], data: Mapping[str, Any]) -> Event:
    return VarsetEvent(
        **base, channel=_optional_channel(data), variable=str(data["variable"]), value=str(data.get("value", ""))
    )


def _dial(base: dict[str, Any], data: Mapping[str, Any]) -> Event:
    return DialEvent(
        **base,
        caller=parse_channel(data["caller"]) if data.get("caller") else None,
        peer=parse_channel(data["peer"]),
        dialstatus=str(data.get("dialstatus", "")),
        dialstring=str(data.get("dialstring", "")),
        forward=str(data.get("forward", "")),
    )


def _hangup(base: dict[str, Any], data: Mapping[str, Any]) -> Event:
    return HangupEvent(
        **base,
        channel=parse_channel(data["channel"]),
        cause=int(data.get("cause", 0)),
        cause_txt=str(data.get("cause_txt", "")),
        soft=bool(data.get("soft", False)),
    )


def _userevent(base: dict[str, Any], data: Mapping[str, Any]) -> Event:
    pairs = data.get("userevent") or {}
    return UserEvent(
        **base,
        channel=_optional_channel(data),
        eventname=str(data["eventname"]),
        userevent={str(k): str(v) for k, v in pairs.items()},
    )


def _bridge(base: dict[str, Any], data: Mapping[str, Any]) -> Event:
    return BridgeEvent(**base, bridge_id=str(data["bridge"]["id"]), channel=_optional_channel(data))


def _channel(base: dict[str, Any], data: Mapping[str, Any]) -> Event:
    return ChannelEvent(**base, channel=parse_channel(data["channel"]))


_PARSERS: dict[str, Callable[[dict[str, Any], Mapping[str, Any]], Event]] = {
    "ChannelVarset": _varset,
    "Dial": _dial,
    "ChannelHangupRequest": _hangup,
    "ChannelDestroyed": _hangup,
    "ChannelUserevent": _userevent,
    **dict.fromkeys(("BridgeCreated", "BridgeDestroyed", "ChannelEnteredBridge", "ChannelLeftBridge"), _bridge),
    **dict.fromkeys(
        ("ChannelCreated", "ChannelStateChange", "ChannelDialplan", "ChannelCallerId", "ChannelConnectedLine"), _channel
    ),
}


def parse_event(frame: str | bytes) -> Event:
    """One websocket text frame -> an event; raises ``BadFrame`` with the reason."""
    try:
        data = json.loads(frame)
    except ValueError as exc:
        raise BadFrame(f"not JSON: {exc}") from None
    if not isinstance(data, dict) or not isinstance(data.get("type"), str):
        raise BadFrame("not an ARI event (a JSON object with a 'type')")
    base = {
        "type": data["type"],
        "timestamp": parse_timestamp(data.get("timestamp")),
        "asterisk_id": str(data.get("asterisk_id", "")),
    }
    parser = _PARSERS.get(data["type"])
    if parser is None:
        return GenericEvent(**base, data=data)
    try:
        return parser(base, data)
    except BadFrame:
        raise
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise BadFrame(f"malformed {data['type']} event: {exc!r}") from None
