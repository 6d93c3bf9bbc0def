"""The Asterisk servers whose ARI events `serve` follows: the servers table, plus the ari_url setting.

The ari_url setting, when set, counts as one more server named "default" (so a one-Asterisk
installation needs no table row), with the ami_* settings as its AMI. Passwords and AMI secrets are kept
for the connection and never shown.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import Connection, Engine, delete, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from asteriskbill.ami import address
from asteriskbill.ari.address import split_ari_url
from asteriskbill.errors import UserError
from asteriskbill.services import audit
from asteriskbill.services.calls import ENGINE_OPERATOR
from asteriskbill.settings import Settings, masked
from asteriskbill.store.engine import reading
from asteriskbill.store.models import Server

DEFAULT = "default"  # the name of the server the ari_url setting describes
FROM_SETTINGS, FROM_TABLE = "settings", "servers table"
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")


@dataclass(frozen=True)
class AriServer:
    """One Asterisk to follow. Equal when they connect alike (the recorded asterisk_id aside)."""

    name: str
    ari_url: str
    ari_user: str
    ari_password: str = field(repr=False)
    asterisk_id: str | None = field(default=None, compare=False)  # GET /asterisk/info entity_id, once connected
    source: str = field(default=FROM_TABLE, compare=False)
    created_at: datetime | None = field(default=None, compare=False)
    ami_url: str = ""  # tcp://host:port of its manager interface; "" = none
    ami_user: str = ""
    ami_secret: str = field(default="", repr=False)

    @property
    def has_ami(self) -> bool:
        """Whether `serve` can move its calls' hard limit, so that they may hold their credit in slices."""
        return bool(self.ami_url and self.ami_user and self.ami_secret)

    @property
    def shown_url(self) -> str:
        """ari_url as it may be shown: a password recorded in it before `servers add` refused them masked."""
        return masked(self.ari_url)


def add(
    engine: Engine,
    operator: str,
    name: str,
    ari_url: str,
    ari_user: str,
    ari_password: str,
    *,
    ami_url: str = "",
    ami_user: str = "",
    ami_secret: str = "",
) -> AriServer:
    """Record a server to follow; `serve` connects to it within a minute, or at its next start. Its manager
    interface (AMI) is given by all three ami_* or by none."""
    if not _NAME.fullmatch(name):
        raise UserError(
            f"server name {name!r}: use 1 to 64 letters, digits, '.', '_' or '-', starting with a letter or digit"
        )
    if name == DEFAULT:
        raise UserError(f"the server name {DEFAULT!r} is kept for the ari_url setting: choose another name")
    if "@" in split_ari_url(ari_url).netloc:
        raise UserError(
            f"ari_url {masked(repr(ari_url))} holds credentials: give the URL without them, "
            "and them as --ari-user and --ari-password"
        )
    if not ari_user or not ari_password:
        raise UserError("give the ARI user and password of ari.conf (--ari-user, --ari-password)")
    ami_url = _checked_ami(ami_url, ami_user, ami_secret)
    server = AriServer(
        name,
        ari_url.strip().rstrip("/"),
        ari_user,
        ari_password,
        ami_url=ami_url,
        ami_user=ami_user,
        ami_secret=ami_secret,
    )
    try:
        with engine.begin() as conn:
            _refuse_twins(conn, server)
            conn.execute(
                insert(Server).values(
                    name=name,
                    ari_url=server.ari_url,
                    ari_user=ari_user,
                    ari_password=ari_password,
                    ami_url=ami_url or None,
                    ami_user=ami_user or None,
                    ami_secret=ami_secret or None,
                )
            )
            shown = {
                "ari_url": server.ari_url,
                "ari_user": ari_user,
                "ami_url": ami_url or None,
                "ami_user": ami_user or None,
            }
            audit.record(conn, operator, "server.add", name, shown)
    except IntegrityError:  # the same name added at the same moment
        raise _name_taken(name) from None
    return server


def _checked_ami(url: str, user: str, secret: str) -> str:
    """The ami_url of a server being added (all three parts are given, or none)."""
    url = url.strip()
    if not (url or user or secret):
        return ""
    if not (url and user and secret):
        raise UserError(
            "give --ami-url, --ami-user and --ami-secret together (manager.conf), or none: "
            "the calls of a server without AMI hold their whole maximum"
        )
    problem = address.problem(url)
    if problem:
        raise UserError(f"ami_url {masked(repr(url))}: {problem}")
    return url


def _name_taken(name: str) -> UserError:
    return UserError(f"a server named {name!r} exists already (see `asteriskbill servers list`)")


def _refuse_twins(conn: Connection, server: AriServer) -> None:
    """One name per server, and one server per ARI address and user (else each call is followed twice)."""
    if conn.execute(select(Server.id).where(Server.name == server.name)).first() is not None:
        raise _name_taken(server.name)
    same = conn.execute(
        select(Server.name).where(Server.ari_url == server.ari_url, Server.ari_user == server.ari_user)
    ).scalar()
    if same is not None:
        raise UserError(f"server {same!r} already follows {server.ari_url} as {server.ari_user!r}")


def remove(engine: Engine, operator: str, name: str) -> None:
    with engine.begin() as conn:
        if not conn.execute(delete(Server).where(Server.name == name)).rowcount:
            hint = (
                " (it is the ari_url setting: unset it instead)"
                if name == DEFAULT
                else " (see `asteriskbill servers list`)"
            )
            raise UserError(f"no server named {name!r}{hint}")
        audit.record(conn, operator, "server.remove", name)


def from_settings(settings: Settings) -> AriServer:
    """The server the ari_url setting describes."""
    return AriServer(
        DEFAULT,
        settings.ari_url,
        settings.ari_user,
        settings.ari_password,
        source=FROM_SETTINGS,
        ami_url=settings.ami_url,
        ami_user=settings.ami_user,
        ami_secret=settings.ami_secret,
    )


def servers(engine: Engine, settings: Settings) -> list[AriServer]:
    """Every server to follow: "default" from the settings (when ari_url is set), then the table by name."""
    configured = [from_settings(settings)] if settings.ari_url else []
    with reading(engine) as conn:  # `serve` asks every 30 s: no write lock
        rows = conn.execute(select(Server.__table__).order_by(Server.name)).all()
    return configured + [
        AriServer(
            r.name,
            r.ari_url,
            r.ari_user,
            r.ari_password,
            r.asterisk_id,
            created_at=r.created_at,
            ami_url=r.ami_url or "",
            ami_user=r.ami_user or "",
            ami_secret=r.ami_secret or "",
        )
        for r in rows
    ]


def slicing(engine: Engine, settings: Settings) -> int:
    """The slice, in seconds, a call may hold its credit in: slice_seconds when every server followed has AMI
    (`serve` can then push each call's hard limit as it extends the hold), else 0: the whole maximum.

    Cheap (one small query, none when slices are off): the AGI asks it for every call."""
    if settings.slice_seconds <= 0 or (settings.ari_url and not from_settings(settings).has_ami):
        return 0
    with reading(engine) as conn:
        followed, with_ami = conn.execute(select(func.count(), func.count(Server.ami_url)).select_from(Server)).one()
    if followed != with_ami or not (followed or settings.ari_url):  # no server at all: nothing would extend
        return 0
    return settings.slice_seconds


def record_asterisk_id(engine: Engine, name: str, asterisk_id: str) -> bool:
    """Remember which Asterisk answers as server ``name`` (its events' asterisk_id); True when it changed.
    A change is audit-logged: another machine now answers at that address."""
    with engine.begin() as conn:
        before = conn.execute(select(Server.asterisk_id).where(Server.name == name).with_for_update()).one_or_none()
        if before is None or before.asterisk_id == asterisk_id:
            return False
        conn.execute(update(Server).where(Server.name == name).values(asterisk_id=asterisk_id))
        audit.record(
            conn,
            ENGINE_OPERATOR,
            "server.asterisk-id",
            name,
            {"asterisk_id": asterisk_id, "before": before.asterisk_id},
        )
    return True
