"""Where settings come from — the config file and the ASTERISKBILL_* environment — with the standard library only.

settings.load() reads every setting through these and checks it; agi-bin's relay (agi/relay.py) reads just the
FastAGI address through ``unchecked`` without paying for the checks' imports (SQLAlchemy, zoneinfo, ...).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from pathlib import Path

TYPE_CHECKING = False  # typing costs milliseconds at every agi-bin start: it is for the annotations only
if TYPE_CHECKING:
    from typing import Any

SYSTEM_CONFIG = Path("/etc/asteriskbill/asteriskbill.toml")
SYSTEM_DATA_DIR = Path("/var/lib/asteriskbill")
ENV_PREFIX = "ASTERISKBILL_"
# FastAGI's defaults, here so that the relay finds `serve` without importing the Settings class
FASTAGI_HOST = "127.0.0.1"
FASTAGI_PORT = 4573


def env_name(setting: str) -> str:
    return f"{ENV_PREFIX}{setting.upper()}"


# -- default paths: the system's for root, the user's own (XDG base directories) for anyone else ----------


def _xdg(env: Mapping[str, str], name: str, fallback: str) -> Path:
    value = env.get(name, "")
    if os.path.isabs(value):  # the XDG spec ignores a relative value
        return Path(value)
    return Path(env.get("HOME") or Path.home()) / fallback


def data_dir(env: Mapping[str, str] = os.environ) -> Path:
    """Where the database and the secret go by default: a folder this user can create."""
    if os.geteuid() == 0:
        return SYSTEM_DATA_DIR
    return _xdg(env, "XDG_DATA_HOME", ".local/share") / "asteriskbill"


def config_file(env: Mapping[str, str] = os.environ) -> Path:
    """The config file read when none is given (it need not exist)."""
    if os.geteuid() == 0:
        return SYSTEM_CONFIG
    return _xdg(env, "XDG_CONFIG_HOME", ".config") / "asteriskbill" / "asteriskbill.toml"


def config_path(config: str | os.PathLike[str] | None, env: Mapping[str, str]) -> tuple[Path, bool]:
    """The config file to read, and whether it was asked for (``config`` or ASTERISKBILL_CONFIG): then it must exist."""
    explicit = config or env.get(env_name("config"))
    return Path(explicit or config_file(env)), bool(explicit)


def read_config(path: Path) -> dict[str, Any]:
    """The TOML table of ``path``; OSError or ValueError (TOMLDecodeError, UnicodeDecodeError) when it cannot be."""
    with path.open("rb") as handle:
        import tomllib  # here, once there is a file: ~10 ms the relay saves when there is none

        return tomllib.load(handle)


def unchecked(names: Iterable[str], env: Mapping[str, str] = os.environ) -> dict[str, Any]:
    """The values of the settings ``names`` that are given, as load() takes them (the environment over the
    config file) but neither converted nor checked; the file is read only for names the environment leaves out.
    Raises what ``read_config`` raises, and FileNotFoundError for a config file asked for that is missing."""
    wanted = list(names)
    values = {name: env[env_name(name)] for name in wanted if env_name(name) in env}
    if len(values) < len(wanted):
        path, explicit = config_path(None, env)
        try:
            table = read_config(path)
        except FileNotFoundError:
            if explicit:
                raise
            table = {}
        values = {name: table[name] for name in wanted if name in table} | values
    return values
