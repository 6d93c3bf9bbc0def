"""The console's templates: one Jinja2 environment, with the filters pages share to show money and times."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import jinja2
from starlette.templating import Jinja2Templates

from asteriskbill import __version__
from asteriskbill.money import format_amount

TEMPLATES = Path(__file__).parent / "templates"
# The navigation: (label, path, role). A link is shown to the roles that may follow it; the routes check anyway.
NAV = (
    ("Dashboard", "/", "operator"),
    ("Find", "/find", "operator"),
    ("Callshop", "/callshop", "operator"),
    ("Calls", "/calls", "operator"),
    ("Tariffs", "/tariffs", "admin"),
    ("Cards", "/batches", "admin"),
    ("Accounts", "/accounts", "admin"),
    ("Routes", "/routes", "admin"),
    ("Routing", "/routing", "admin"),
    ("Servers", "/servers", "admin"),
    ("Currency", "/currency", "admin"),
    ("Statistics", "/stats", "admin"),
    ("Users", "/users", "admin"),
    ("Audit", "/audit", "admin"),
    ("System", "/system", "admin"),
)
RANK = {"operator": 1, "admin": 2}


def templates(zone: ZoneInfo) -> Jinja2Templates:
    """Autoescaped templates from the package, times shown in ``zone`` (the timezone setting)."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=True, undefined=jinja2.StrictUndefined
    )
    env.filters["money"] = money
    env.filters["amount"] = format_amount
    env.filters["when"] = lambda moment: when(moment, zone)
    env.filters["duration"] = duration
    env.globals["version"] = __version__
    env.globals["zone"] = zone.key
    env.globals["nav"] = lambda role: [(label, path) for label, path, needed in NAV if RANK[role] >= RANK[needed]]
    return Jinja2Templates(env=env)


def money(amount: int | None, currency: str = "") -> str:
    """Micro-units as people read them: "12.50 USD"."""
    if amount is None:
        return ""
    return f"{format_amount(amount)} {currency}".strip()


def when(moment: datetime | None, zone: ZoneInfo) -> str:
    """A moment on the operator's clock (the timezone setting), to the second."""
    return "" if moment is None else moment.astimezone(zone).strftime("%Y-%m-%d %H:%M:%S")


def duration(seconds: int | None) -> str:
    """Seconds as a call's length: "1:05" or "1:02:03"."""
    if seconds is None:
        return ""
    hours, rest = divmod(int(seconds), 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"
