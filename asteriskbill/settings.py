"""Settings in one place: defaults < TOML config file < ASTERISKBILL_* environment < CLI flags."""

from __future__ import annotations

import dataclasses
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from asteriskbill.errors import UserError

DEFAULT_CONFIG = Path("/etc/asteriskbill/asteriskbill.toml")
DEFAULT_DATA_DIR = Path("/var/lib/asteriskbill")
ENV_PREFIX = "ASTERISKBILL_"


class SettingsError(UserError, ValueError):
    """A configuration value that cannot be used."""


@dataclass(frozen=True)
class Settings:
    # The store: any SQLAlchemy URL; a SQLite file by default.
    db: str = f"sqlite:///{DEFAULT_DATA_DIR / 'asteriskbill.db'}"
    # SQLite durability: FULL survives power loss after COMMIT (see bench/ for its cost).
    sqlite_synchronous: str = "FULL"
    sqlite_busy_timeout_ms: int = 5000
    # IANA zone for tariffs created without --timezone.
    timezone: str = "UTC"
    # Installation secret for PIN hashes: kept outside the database.
    secret_file: str = str(DEFAULT_DATA_DIR / "secret")
    # Calls: longest call a single authorization may reserve for (seconds).
    max_call_seconds: int = 10800
    # The global number plan (companies may override it): see billing/numbers.py.
    country_code: str = "1"
    area_code: str = ""
    outside_line: str = ""
    international_prefix: str = "00"
    national_prefix: str = "0"
    number_max_length: int = 15
    # FastAGI server.
    fastagi_host: str = "127.0.0.1"
    fastagi_port: int = 4573
    fastagi_allow: tuple[str, ...] = ()
    fastagi_idle_timeout: float = 30.0
    # PIN brute force protection.
    pin_max_failures: int = 5
    pin_failure_window_seconds: int = 3600
    pin_lock_seconds: int = 3600
    # ARI event listener (empty URL: not started).
    ari_url: str = ""
    ari_user: str = ""
    ari_password: str = ""
    ari_app: str = "asteriskbill"
    # CDR retention for `cdr purge` without --older-than.
    cdr_retention: str = "6months"
    # Prompts played by the IVR (stock Asterisk sound files by default).
    prompts: Mapping[str, str] = field(default_factory=dict)

    def replace(self, **changes: Any) -> Settings:
        return dataclasses.replace(self, **{k: v for k, v in changes.items() if v is not None})


def _coerce(name: str, value: Any, kind: Any) -> Any:
    kind_text = str(kind)
    try:
        if kind is int or kind_text == "int":
            return int(value)
        if kind is float or kind_text == "float":
            return float(value)
        if kind_text.startswith("tuple"):
            if isinstance(value, str):
                return tuple(part.strip() for part in value.split(",") if part.strip())
            return tuple(str(v) for v in value)
        if kind_text.startswith("Mapping"):
            if not isinstance(value, Mapping):
                raise TypeError("a table is expected")
            return {str(k): str(v) for k, v in value.items()}
    except (TypeError, ValueError) as exc:
        raise SettingsError(f"setting {name}={value!r}: {exc}") from None
    return str(value)


def load(config: str | os.PathLike[str] | None = None, env: Mapping[str, str] | None = None, **flags: Any) -> Settings:
    """Build the settings: defaults, then the config file, then the environment, then ``flags``."""
    env = os.environ if env is None else env
    values: dict[str, Any] = {}
    path = Path(config or env.get(f"{ENV_PREFIX}CONFIG") or DEFAULT_CONFIG)
    if config or path.exists():
        try:
            with path.open("rb") as handle:
                values.update(tomllib.load(handle))
        except FileNotFoundError:
            raise SettingsError(f"config file {path} does not exist") from None
        except tomllib.TOMLDecodeError as exc:
            raise SettingsError(f"config file {path}: {exc}") from None
    known = {f.name: f.type for f in fields(Settings)}
    unknown = set(values) - set(known)
    if unknown:
        raise SettingsError(f"config file {path}: unknown settings {', '.join(sorted(unknown))}")
    for name in known:
        if f"{ENV_PREFIX}{name.upper()}" in env:
            values[name] = env[f"{ENV_PREFIX}{name.upper()}"]
    values.update({k: v for k, v in flags.items() if v is not None})
    return Settings(**{k: _coerce(k, v, known[k]) for k, v in values.items()})
