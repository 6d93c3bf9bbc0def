"""Settings in one place: defaults < TOML config file < ASTERISKBILL_* environment < CLI flags.

Every value given is checked when loaded (CHECKS), so a mistake is named with its setting and where it
came from before any command runs, not found later as a wrong number or a traceback.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import os
import re
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from asteriskbill import affinity
from asteriskbill.ami import address
from asteriskbill.billing.incoming import check_incoming_dial
from asteriskbill.billing.periods import parse_age
from asteriskbill.billing.speech import check_currency_words
from asteriskbill.errors import UserError
from asteriskbill.money import MAX_AMOUNT, MICRO
from asteriskbill.setting_sources import (
    FASTAGI_HOST,
    FASTAGI_PORT,
    config_file,  # noqa: F401  (settings.config_file: where load() looks)
    config_path,
    data_dir,
    env_name,
    read_config,
)

SYNCHRONOUS_LEVELS = ("OFF", "NORMAL", "FULL", "EXTRA")


class SettingsError(UserError, ValueError):
    """A configuration value that cannot be used."""


def default_paths(env: Mapping[str, str] = os.environ) -> dict[str, str]:
    folder = data_dir(env)
    return {"db": f"sqlite:///{folder / 'asteriskbill.db'}", "secret_file": str(folder / "secret")}


@dataclass(frozen=True)
class Settings:
    # The store: any SQLAlchemy URL; a SQLite file by default.
    db: str = field(default_factory=lambda: default_paths()["db"])
    # SQLite durability: FULL survives power loss after COMMIT (see bench/ for its cost).
    sqlite_synchronous: str = "FULL"
    sqlite_busy_timeout_ms: int = 5000
    # IANA zone for tariffs created without --timezone.
    timezone: str = "UTC"
    # Installation secret for PIN hashes: kept outside the database.
    secret_file: str = field(default_factory=lambda: default_paths()["secret_file"])
    # Calls: longest call a single authorization may reserve for (seconds).
    max_call_seconds: int = 10800
    # Money an operator moves, in whole currency units: the most one recharge, adjustment or card value may be,
    # and the farthest from zero a recharge or adjustment may leave a balance (a typo of extra zeros is refused).
    max_amount: int = 1_000_000
    max_balance: int = 1_000_000_000
    # The global number plan (companies may override it): see billing/numbers.py.
    country_code: str = "1"
    area_code: str = ""
    outside_line: str = ""
    international_prefix: str = "00"
    national_prefix: str = "0"
    number_max_length: int = 15
    # FastAGI server.
    fastagi_host: str = FASTAGI_HOST
    fastagi_port: int = FASTAGI_PORT
    fastagi_allow: tuple[str, ...] = ()
    fastagi_idle_timeout: float = 30.0
    # The CPU `serve`'s event loop and database writer share (asteriskbill/affinity.py): "auto" (where the loop
    # starts), "off" (wherever the system puts them) or a CPU's number.
    serve_cpu: str = "auto"
    # AGI (FastAGI and agi-bin): seconds Asterisk has to answer a command, beyond the time the command itself
    # waits for the caller (GET DATA's digit timeouts); a peer past it is given up and its hold released.
    # Prompts longer than this need it raised.
    agi_reply_timeout: float = 30.0
    # PIN brute force protection.
    pin_max_failures: int = 5
    pin_failure_window_seconds: int = 3600
    pin_lock_seconds: int = 3600
    # ARI event listener (empty URL: not started).
    ari_url: str = ""
    ari_user: str = ""
    ari_password: str = field(default="", repr=False)  # never shown
    ari_app: str = "asteriskbill"
    # Credit held in slices: a call holds what its first slice_seconds cost and `serve` extends the hold (and the
    # channel's hard limit, over AMI) while it is up; 0 holds the whole maximum at once. Slices need AMI.
    slice_seconds: int = 300
    # Asterisk's manager interface (manager.conf: a user with write = call), which moves a call's hard limit
    # (empty URL: none, and calls hold their whole maximum). The URL is tcp://host:port, without credentials.
    ami_url: str = ""
    ami_user: str = ""
    ami_secret: str = field(default="", repr=False)  # never shown
    # Asterisk's cdr_csv Master.csv, read by `serve` to settle calls that ended while it was down ("" = none);
    # its times are read in the timezone setting, as `cdr reconcile` without --utc reads them.
    master_csv: str = ""
    # CDR retention for `cdr purge` without --older-than.
    cdr_retention: str = "6months"
    # The web console (`serve` and `asteriskbill web`): where it listens, whether its cookies need HTTPS (behind a
    # TLS proxy), how long an idle session lasts, and how many wrong passwords lock a user for how long.
    web_host: str = "127.0.0.1"
    web_port: int = 8080
    web_secure_cookies: bool = False
    web_session_idle_minutes: int = 30
    web_login_max_failures: int = 5
    web_login_lock_minutes: int = 15
    # Least-cost routing: a trunk whose last trunk_asr_window attempts were answered less than trunk_asr_threshold
    # percent of the time is tried after the others until they are answered that often again (0: never).
    trunk_asr_window: int = 20
    trunk_asr_threshold: int = 0
    # Incoming calls (the asteriskbill-in context): the Dial() target that rings the called account's extension.
    incoming_dial: str = "PJSIP/${EXTENSION}"
    # Prompts played by the IVR (stock Asterisk sound files by default).
    prompts: Mapping[str, str] = field(default_factory=dict)
    # How the IVR says a currency: CODE = "unit,units,subunit,subunits" prompts (USD built in; billing/speech.py).
    currency_words: Mapping[str, str] = field(default_factory=dict)

    def replace(self, **changes: Any) -> Settings:
        return dataclasses.replace(self, **{k: v for k, v in changes.items() if v is not None})


def _number(kind: type[int] | type[float], value: Any) -> int | float:
    if isinstance(value, str) and not value.strip().isascii():  # int() and float() take "٤٥٧٣" too
        value = None
    try:
        return kind(value)
    except (TypeError, ValueError):
        raise ValueError("not a whole number" if kind is int else "not a number") from None


def _flag(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("0", "false", "no", "off"):
        return False
    raise ValueError("not true or false")


def _coerce(value: Any, kind: Any) -> Any:
    kind_text = str(kind)
    if kind is bool or kind_text == "bool":
        return _flag(value)
    if kind is int or kind_text == "int":
        return _number(int, value)
    if kind is float or kind_text == "float":
        return _number(float, value)
    if kind_text.startswith("tuple"):
        if isinstance(value, str):
            return tuple(part.strip() for part in value.split(",") if part.strip())
        return tuple(str(v) for v in value)
    if kind_text.startswith("Mapping"):
        if not isinstance(value, Mapping):
            raise TypeError("a table is expected")
        return {str(k): str(v) for k, v in value.items()}
    return str(value)


# -- checks: each returns what is wrong with a value, or None ----------------------------------------------

Check = Callable[[Any], str | None]


def _digits(*, empty: bool = False) -> Check:
    expected = "digits only, or empty" if empty else "digits only"
    pattern = re.compile("[0-9]*" if empty else "[0-9]+")  # str.isdigit() would take "²" and "٤"
    return lambda value: None if pattern.fullmatch(value) else f"{expected}, e.g. 44"


def _between(low: float, high: float | None = None) -> Check:
    expected = f"at least {low:g}" if high is None else f"from {low:g} to {high:g}"
    return lambda value: None if low <= value and (high is None or value <= high) else expected


def _one_of(*choices: str) -> Check:
    return lambda value: None if value.upper() in choices else f"one of {', '.join(choices)}"


def _zone(value: str) -> str | None:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        return "not an IANA time zone, e.g. Europe/Sofia or UTC"
    return None


def _age(value: str) -> str | None:
    try:
        parse_age(value)
    except UserError:
        return "not an age like 6months, 180days, 2weeks or 1year"
    return None


def _db_url(value: str) -> str | None:
    from sqlalchemy.engine import make_url  # here: only a database URL given needs SQLAlchemy, not --help
    from sqlalchemy.exc import ArgumentError, NoSuchModuleError

    try:
        url = make_url(value)
    except (ArgumentError, ValueError):  # ValueError: a port that is not a number
        return "not a database URL, e.g. sqlite:////path/to/billing.db or postgresql+psycopg://user@host/db"
    try:
        url.get_dialect()  # the module connecting needs anyway: a typo such as postgres:// is told here
    except NoSuchModuleError:
        return f"no database kind {url.drivername!r} in SQLAlchemy, e.g. sqlite:/// or postgresql+psycopg://"
    return None


def _http_url(value: str) -> str | None:
    if value and not re.match(r"https?://[^/\s]+", value):
        return "not a URL like http://127.0.0.1:8088"
    if "@" in value.partition("://")[2].partition("/")[0]:
        return "holds credentials: set them as ari_user and ari_password, and the URL without them"
    return None


def _tcp_url(value: str) -> str | None:
    return address.problem(value) if value else None  # empty: no AMI


def _networks(value: tuple[str, ...]) -> str | None:
    for entry in value:
        try:
            ipaddress.ip_network(entry, strict=False)
        except ValueError:
            return f"{entry!r} is not an IP address or network, e.g. 10.0.0.5 or 10.0.0.0/24"
    return None


def _cpu(value: str) -> str | None:
    if value in (affinity.AUTO, affinity.OFF):
        return None
    cpus = affinity.allowed()
    if re.fullmatch("[0-9]+", value) and (cpus is None or int(value) in cpus):
        return None
    usable = "" if cpus is None else f" (this process may run on {', '.join(map(str, sorted(cpus)))})"
    return f"auto, off, or the number of a CPU{usable}"


def _not_empty(value: str) -> str | None:
    return None if value.strip() else "must not be empty"


CHECKS: dict[str, Check] = {
    "db": _db_url,
    "sqlite_synchronous": _one_of(*SYNCHRONOUS_LEVELS),
    "sqlite_busy_timeout_ms": _between(1),
    "timezone": _zone,
    "secret_file": _not_empty,
    "max_call_seconds": _between(1),
    "max_amount": _between(1, MAX_AMOUNT // MICRO),
    "max_balance": _between(1, MAX_AMOUNT // MICRO),
    "country_code": _digits(),
    "area_code": _digits(empty=True),
    "outside_line": _digits(empty=True),
    "international_prefix": _digits(),
    "national_prefix": _digits(),
    "number_max_length": _between(6, 20),  # E.164 allows 15 digits
    "fastagi_host": _not_empty,
    "fastagi_port": _between(1, 65535),
    "fastagi_allow": _networks,
    "fastagi_idle_timeout": _between(0.1),
    "serve_cpu": _cpu,
    "agi_reply_timeout": _between(0.01),
    "pin_max_failures": _between(1),
    "pin_failure_window_seconds": _between(1),
    "pin_lock_seconds": _between(1),
    "ari_url": _http_url,
    "ari_app": _not_empty,
    "slice_seconds": _between(0, 86400),
    "ami_url": _tcp_url,
    "cdr_retention": _age,
    "web_host": _not_empty,
    "web_port": _between(0, 65535),
    "web_session_idle_minutes": _between(1, 7 * 24 * 60),
    "web_login_max_failures": _between(1, 1000),
    "web_login_lock_minutes": _between(1, 7 * 24 * 60),
    "currency_words": check_currency_words,
    "trunk_asr_window": _between(1, 10000),
    "trunk_asr_threshold": _between(0, 100),
    "incoming_dial": check_incoming_dial,
}


def masked(text: str) -> str:
    """Text with the password of any URL in it (scheme://user:password@host) shown as ***."""
    return re.sub(r"(://[^:/@\s]*:)[^\s'\"]*@", r"\1***@", text)  # to the last @: a password may hold one


def _shown(value: Any) -> str:
    """A value as an error quotes it: a URL without its password."""
    return masked(repr(value))


def _checked(name: str, value: Any, kind: Any, origin: str) -> Any:
    """``value`` as its field's type, if its check passes; else a SettingsError naming the setting."""
    try:
        value = _coerce(value, kind)
    except (TypeError, ValueError) as exc:
        problem: str | None = str(exc)
    else:
        problem = CHECKS[name](value) if name in CHECKS else None
    if problem:
        raise SettingsError(f"setting {name}={_shown(value)} (from {origin}): {problem}")
    return value


def _read_config(path: Path, explicit: bool) -> dict[str, Any]:
    """The settings of the TOML file ``path``; an absent file is no error unless it was asked for."""
    try:
        return read_config(path)
    except FileNotFoundError:
        if explicit:
            raise SettingsError(f"config file {path} does not exist") from None
        return {}
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise SettingsError(f"config file {path}: {exc}") from None
    except OSError as exc:
        raise SettingsError(f"cannot read config file {path}: {exc.strerror}") from None


def load(config: str | os.PathLike[str] | None = None, env: Mapping[str, str] | None = None, **flags: Any) -> Settings:
    """Build the settings: defaults, then the config file, then the environment, then ``flags``; each
    value given is checked (SettingsError names the setting and where it came from)."""
    env = os.environ if env is None else env
    path, explicit = config_path(config, env)
    values = _read_config(path, explicit)
    known = {f.name: f.type for f in fields(Settings)}
    unknown = set(values) - set(known)
    if unknown:
        raise SettingsError(f"config file {path}: unknown settings {', '.join(sorted(unknown))}")
    origins = dict.fromkeys(values, f"config file {path}")
    for name in known:
        if env_name(name) in env:
            values[name], origins[name] = env[env_name(name)], env_name(name)
    for name, value in flags.items():
        if value is not None:
            values[name], origins[name] = value, f"--{name.replace('_', '-')}"
    checked = {name: _checked(name, value, known[name], origins[name]) for name, value in values.items()}
    return Settings(**{**default_paths(env), **checked})
