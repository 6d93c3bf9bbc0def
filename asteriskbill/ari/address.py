"""ARI base URLs, checked without importing the ARI client (the agi-bin scripts read the servers table)."""

from __future__ import annotations

from urllib.parse import SplitResult, urlsplit

from asteriskbill.settings import SettingsError, masked


def split_ari_url(url: str) -> SplitResult:
    """The parts of an ARI base URL (http[s]://host[:port][/prefix]); SettingsError when it is not one."""
    parts = urlsplit(url.strip().rstrip("/"))
    try:
        port_ok = parts.port != 0
    except ValueError:  # not a number, or out of range
        port_ok = False
    if parts.scheme not in ("http", "https") or not parts.hostname or not port_ok or parts.query or parts.fragment:
        raise SettingsError(f"ari_url {masked(repr(url))} must look like http://127.0.0.1:8088")
    return parts
