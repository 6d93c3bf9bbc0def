"""Start-up stays light (issue 12): help, and commands that need no database, import neither the ORM nor the
services, nor the libraries of spreadsheets, HTTP and the web console. Each case runs the real command in a fresh
interpreter and reads what it imported."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from importlib import import_module
from pathlib import Path

import pytest

from asteriskbill.cli import COMMAND_MODULES, main

HEAVY = (
    "sqlalchemy",
    "alembic",
    "openpyxl",
    "httpx",
    "starlette",
    "uvicorn",
    "jinja2",
    "argon2",
    "asteriskbill.services",
    "asteriskbill.store",
)

# Runs the command as `asteriskbill` does, then writes the modules it imported to the file named by argv[1].
PROBE = """
import json, sys
from asteriskbill.cli import main
try:
    main(sys.argv[2:], prog_name="asteriskbill")
finally:
    with open(sys.argv[1], "w") as out:
        json.dump(sorted(sys.modules), out)
"""


def imported(tmp_path: Path, *args: str, status: int = 0, **env: str) -> set[str]:
    """The modules `asteriskbill ARGS` imports (it ends with ``status``), run with no config file and no
    ASTERISKBILL_* variable but ``env``."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("ASTERISKBILL_")}
    home = {"HOME": str(tmp_path), "XDG_CONFIG_HOME": str(tmp_path / "config"), "XDG_DATA_HOME": str(tmp_path / "data")}
    found = tmp_path / "modules.json"
    result = subprocess.run(
        [sys.executable, "-c", PROBE, str(found), *args], env=clean | home | env, capture_output=True, text=True
    )
    assert result.returncode == status, result.stderr
    return set(json.loads(found.read_text()))


def heavy(modules: set[str]) -> list[str]:
    return sorted(m for m in modules if any(m == h or m.startswith(h + ".") for h in HEAVY))


@pytest.mark.parametrize(
    "args",
    [("--help",), ("--version",), ("cards", "--help"), ("cards", "list", "--help"), ("cdr", "export", "--help")],
)
def test_help_imports_nothing_heavy(tmp_path, args):
    assert heavy(imported(tmp_path, *args)) == []


@pytest.mark.parametrize("group", sorted(main.commands))  # listing the names imports no command module
def test_each_commands_help_imports_nothing_heavy(tmp_path, group):
    assert heavy(imported(tmp_path, group, "--help")) == []


def test_a_configured_database_is_checked_without_the_orm(tmp_path):
    """Its URL is checked by SQLAlchemy's Core (settings.py), which loads neither the ORM nor the models."""
    modules = imported(tmp_path, "tariff", "--help", ASTERISKBILL_DB=f"sqlite:///{tmp_path / 'billing.db'}")
    assert "sqlalchemy.engine" in modules
    assert [m for m in heavy(modules) if m.split(".")[0] != "sqlalchemy"] == [] and "sqlalchemy.orm" not in modules


def test_a_usage_error_imports_nothing_heavy(tmp_path):
    assert heavy(imported(tmp_path, "cards", "list", "--bogus", status=2)) == []


def test_a_command_without_a_database_imports_nothing_heavy(tmp_path):
    assert heavy(imported(tmp_path, "dialplan", "--globals")) == []


def test_a_command_imports_only_its_own_group(tmp_path):
    modules = imported(tmp_path, "tariff", "--help")
    assert "asteriskbill.cli.tariff" in modules and "asteriskbill.cli.cards" not in modules


def test_every_command_of_a_registered_module_is_registered():
    """The table of commands names each command of each module it points to, and only those."""
    assert set(main.commands) == set(COMMAND_MODULES)
    for name, module_name in COMMAND_MODULES.items():
        module = import_module(module_name)
        assert {c.name for c in module.COMMANDS} <= set(COMMAND_MODULES)
        assert main.commands[name] in module.COMMANDS
