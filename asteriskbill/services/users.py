"""Web console users: argon2id passwords, a lock after consecutive wrong ones, server-side sessions, the login log.

No web framework here: the console (web/auth.py, web/pages/) and `asteriskbill users` call these. A password
is hashed and checked outside any write transaction (it takes tens of milliseconds by design), so a login never
holds SQLite's write lock while a call waits to be settled.
"""

from __future__ import annotations

import functools
import hashlib
import re
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import Connection, Engine, delete, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from asteriskbill.errors import UserError
from asteriskbill.roles import ROLES
from asteriskbill.services import audit
from asteriskbill.settings import Settings
from asteriskbill.store.engine import reading
from asteriskbill.store.models import ConsoleSession, ConsoleUser, LoginAttempt
from asteriskbill.store.types import utcnow

MIN_PASSWORD = 8
OK, UNKNOWN, WRONG, LOCKED, DISABLED = "ok", "unknown user", "wrong password", "locked", "disabled"
# Many failures from one address (guesses at many names): beyond FREE_FAILURES in ADDRESS_WINDOW, each answer
# waits a second more, up to MAX_DELAY.
ADDRESS_WINDOW = timedelta(minutes=15)
FREE_FAILURES = 10
MAX_DELAY = 10.0
SEEN_EVERY = timedelta(minutes=1)  # how stale a session's last_seen_at may get: no write on every request

_NAME = re.compile(r"[A-Za-z0-9._@-]{1,64}")
_hasher = PasswordHasher()  # argon2id with the library's current parameters


@dataclass(frozen=True)
class ConsoleUserView:
    name: str
    role: str
    disabled: bool
    created_at: datetime
    last_login_at: datetime | None
    locked_until: datetime | None  # as stored: the lock may be over

    def locked(self, now: datetime | None = None) -> bool:
        return self.locked_until is not None and self.locked_until > (now or utcnow())


@dataclass(frozen=True)
class LoginResult:
    ok: bool
    reason: str  # OK, UNKNOWN, WRONG, LOCKED or DISABLED
    user: ConsoleUserView | None
    delay: float  # seconds the answer should wait: many failures from this address


@dataclass(frozen=True)
class Viewer:
    """Who a session is: the token is the cookie's (never stored), csrf the token its forms carry."""

    name: str
    role: str
    token: str = field(repr=False)
    csrf: str = field(repr=False)


@dataclass(frozen=True)
class LoginAttemptView:
    at: datetime
    user: str  # as typed
    address: str
    user_agent: str
    ok: bool
    reason: str


# -- users ---------------------------------------------------------------------------------------------------


def add(engine: Engine, operator: str, name: str, role: str, password: str) -> ConsoleUserView:
    if not _NAME.fullmatch(name):
        raise UserError(f"user name {name!r}: use 1 to 64 letters, digits, '.', '_', '@' or '-'")
    if role not in ROLES:
        raise UserError(f"role {role!r}: use {' or '.join(ROLES)}")
    hashed = _hashed(password)
    try:
        with engine.begin() as conn:
            if _row(conn, name) is not None:
                raise _name_taken(name)
            conn.execute(insert(ConsoleUser).values(name=name, role=role, password_hash=hashed))
            audit.record(conn, operator, "user.add", name, {"role": role})
            return _view(_existing(conn, name))
    except IntegrityError:  # the same name added at the same moment
        raise _name_taken(name) from None


def list_users(engine: Engine) -> list[ConsoleUserView]:
    with reading(engine) as conn:
        return [_view(r) for r in conn.execute(select(ConsoleUser.__table__).order_by(ConsoleUser.name))]


def disable(engine: Engine, operator: str, name: str) -> None:
    """Refuse the user's logins from now on, and end their sessions at once."""
    with engine.begin() as conn:
        user = _existing(conn, name, lock=True)
        if user.disabled_at is not None:
            raise UserError(f"user {name!r} is disabled already")
        conn.execute(update(ConsoleUser).where(ConsoleUser.id == user.id).values(disabled_at=utcnow()))
        audit.record(conn, operator, "user.disable", name, {"sessions_ended": _end_sessions(conn, user.id)})


def enable(engine: Engine, operator: str, name: str) -> None:
    with engine.begin() as conn:
        user = _existing(conn, name, lock=True)
        if user.disabled_at is None:
            raise UserError(f"user {name!r} is not disabled")
        conn.execute(update(ConsoleUser).where(ConsoleUser.id == user.id).values(disabled_at=None))
        audit.record(conn, operator, "user.enable", name)


def set_password(engine: Engine, operator: str, name: str, password: str) -> None:
    """A new password: the user's sessions end, and a lock from wrong passwords is lifted."""
    hashed = _hashed(password)
    with engine.begin() as conn:
        user = _existing(conn, name, lock=True)
        conn.execute(
            update(ConsoleUser)
            .where(ConsoleUser.id == user.id)
            .values(password_hash=hashed, failures=0, locked_until=None)
        )
        audit.record(conn, operator, "user.passwd", name, {"sessions_ended": _end_sessions(conn, user.id)})


def _hashed(password: str) -> str:
    if len(password) < MIN_PASSWORD:
        raise UserError(f"a password needs at least {MIN_PASSWORD} characters")
    return _hasher.hash(password)


def _name_taken(name: str) -> UserError:
    return UserError(f"a console user named {name!r} exists already (see `asteriskbill users list`)")


def _row(conn: Connection, name: str, lock: bool = False) -> Any:
    query = select(ConsoleUser.__table__).where(ConsoleUser.name == name)
    return conn.execute(query.with_for_update() if lock else query).one_or_none()


def _existing(conn: Connection, name: str, lock: bool = False) -> Any:
    row = _row(conn, name, lock)
    if row is None:
        raise UserError(f"no console user named {name!r} (see `asteriskbill users list`)")
    return row


def _view(row: Any) -> ConsoleUserView:
    return ConsoleUserView(
        row.name, row.role, row.disabled_at is not None, row.created_at, row.last_login_at, row.locked_until
    )


def _end_sessions(conn: Connection, user_id: int) -> int:
    return conn.execute(delete(ConsoleSession).where(ConsoleSession.user_id == user_id)).rowcount


# -- logging in ----------------------------------------------------------------------------------------------


def check_login(
    engine: Engine,
    settings: Settings,
    name: str,
    password: str,
    address: str,
    user_agent: str,
    now: datetime | None = None,
) -> LoginResult:
    """Whether ``name`` may log in with ``password``; the attempt is logged in the transaction that counts it.

    A locked user is refused even with the right password, and the refusal does not extend the lock. Only a
    disabled user who typed the right password is told "disabled"."""
    now = now or utcnow()
    with reading(engine) as conn:
        stored = conn.execute(select(ConsoleUser.password_hash).where(ConsoleUser.name == name)).scalar()
    right = _verify(stored, password)
    fresh = _hasher.hash(password) if right and stored and _hasher.check_needs_rehash(stored) else None
    with engine.begin() as conn:
        user = _row(conn, name, lock=True)
        reason = _reason(user, right and user is not None and user.password_hash == stored, now)
        if user is not None:
            values = _counters(user, reason, now, settings, fresh)
            if values:
                conn.execute(update(ConsoleUser).where(ConsoleUser.id == user.id).values(values))
            user = _existing(conn, name)
        conn.execute(
            insert(LoginAttempt).values(
                at=now,
                user=name[:64],
                address=address[:64],
                user_agent=user_agent[:300],
                ok=reason == OK,
                reason=reason,
            )
        )
        delay = _delay(conn, address[:64], now)
    return LoginResult(reason == OK, reason, None if user is None else _view(user), delay)


def _verify(stored: str | None, password: str) -> bool:
    """Whether ``password`` matches ``stored``; an unknown user's check takes as long (its time tells nothing)."""
    try:
        _hasher.verify(stored or _unknown_users_hash(), password)  # raises unless it matches
    except (VerificationError, InvalidHashError):
        return False
    return stored is not None


@functools.cache
def _unknown_users_hash() -> str:
    return _hasher.hash(secrets.token_urlsafe(32))


def _reason(user: Any, right: bool, now: datetime) -> str:
    if user is None:
        return UNKNOWN
    if user.locked_until is not None and user.locked_until > now:
        return LOCKED
    if not right:
        return WRONG
    return DISABLED if user.disabled_at is not None else OK


def _counters(user: Any, reason: str, now: datetime, settings: Settings, fresh: str | None) -> dict[str, Any]:
    """The user's columns an attempt changes: a success forgets the failures, the last failure allowed locks."""
    if reason == WRONG:
        if user.failures + 1 < settings.web_login_max_failures:
            return {"failures": user.failures + 1}
        return {"failures": 0, "locked_until": now + timedelta(minutes=settings.web_login_lock_minutes)}
    if reason == OK:
        rehashed = {"password_hash": fresh} if fresh else {}
        return {"failures": 0, "locked_until": None, "last_login_at": now, **rehashed}
    return {}


def _delay(conn: Connection, address: str, now: datetime) -> float:
    """Seconds to wait before answering ``address``: also after a success, so the wait tells nothing."""
    failed = conn.execute(
        select(func.count())
        .select_from(LoginAttempt)
        .where(LoginAttempt.address == address, LoginAttempt.ok.is_(False), LoginAttempt.at > now - ADDRESS_WINDOW)
    ).scalar_one()
    return float(min(max(failed - FREE_FAILURES, 0), MAX_DELAY))


def logins(
    engine: Engine, user: str | None = None, since: datetime | None = None, limit: int | None = None
) -> list[LoginAttemptView]:
    """The login log, newest first: of one user name as typed, from ``since`` (aware) on, at most ``limit``."""
    query = select(LoginAttempt.__table__).order_by(LoginAttempt.at.desc(), LoginAttempt.id.desc())
    if user is not None:
        query = query.where(LoginAttempt.user == user)
    if since is not None:
        query = query.where(LoginAttempt.at >= since)
    if limit is not None:
        query = query.limit(limit)
    with reading(engine) as conn:
        return [LoginAttemptView(r.at, r.user, r.address, r.user_agent, r.ok, r.reason) for r in conn.execute(query)]


# -- sessions ------------------------------------------------------------------------------------------------


def start_session(engine: Engine, name: str, address: str, user_agent: str, now: datetime | None = None) -> Viewer:
    """A new session of ``name`` (whose password was just checked): its token goes in the cookie, only its hash
    in the database."""
    now = now or utcnow()
    token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    with engine.begin() as conn:
        user = _existing(conn, name)
        if user.disabled_at is not None:
            raise UserError(f"user {name!r} is disabled")
        conn.execute(
            insert(ConsoleSession).values(
                token_hash=_digest(token),
                user_id=user.id,
                csrf=csrf,
                address=address[:64],
                user_agent=user_agent[:300],
                created_at=now,
                last_seen_at=now,
            )
        )
    return Viewer(user.name, user.role, token, csrf)


def session_viewer(engine: Engine, settings: Settings, token: str, now: datetime | None = None) -> Viewer | None:
    """Who the session of ``token`` is; None when there is none, it was idle past the timeout (it is then deleted)
    or its user is disabled. Asked on every request: it writes only to end a session or, once a minute, to keep
    it alive."""
    now = now or utcnow()
    digest = _digest(token)
    query = (
        select(ConsoleSession.last_seen_at, ConsoleSession.csrf, ConsoleUser.name, ConsoleUser.role)
        .join(ConsoleUser)
        .where(ConsoleSession.token_hash == digest, ConsoleUser.disabled_at.is_(None))
    )
    with reading(engine) as conn:
        found = conn.execute(query).one_or_none()
    if found is None:
        return None
    idle = now - found.last_seen_at
    if idle > timedelta(minutes=settings.web_session_idle_minutes):
        end_session(engine, token)
        return None
    if idle >= SEEN_EVERY:
        with engine.begin() as conn:
            conn.execute(
                update(ConsoleSession)
                .where(ConsoleSession.token_hash == digest, ConsoleSession.last_seen_at < now)
                .values(last_seen_at=now)
            )
    return Viewer(found.name, found.role, token, found.csrf)


def end_session(engine: Engine, token: str) -> None:
    with engine.begin() as conn:
        conn.execute(delete(ConsoleSession).where(ConsoleSession.token_hash == _digest(token)))


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()
