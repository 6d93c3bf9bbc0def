"""The ami_url form, tcp://host:port: checked by the settings and `servers add`, read by the client.

Kept apart from the client so that loading the settings (once per call in agi-bin mode) imports no asyncio.
"""

from __future__ import annotations

from urllib.parse import urlsplit

DEFAULT_PORT = 5038  # manager.conf's default


def problem(url: str) -> str | None:
    """What is wrong with ``url`` as an AMI address, or None."""
    try:
        split(url)
    except ValueError as exc:
        return str(exc)
    return None


def split(url: str) -> tuple[str, int]:
    """(host, port) of tcp://host[:port]; ValueError saying what is wrong (never repeating a password)."""
    parts = urlsplit(url.strip())
    if "@" in parts.netloc:
        raise ValueError("holds credentials: give the URL without them, and them as the AMI user and secret")
    try:
        port = DEFAULT_PORT if parts.port is None else parts.port
    except ValueError:  # not a number, or out of range
        port = 0
    if (
        parts.scheme != "tcp"
        or not parts.hostname
        or not port
        or parts.path.strip("/")
        or parts.query
        or parts.fragment
    ):
        raise ValueError("not an AMI address like tcp://127.0.0.1:5038")
    return parts.hostname, port
