"""Code the tests share: a billing world, the Asterisk captures, a fake ARI, AGI programs, waiting helpers.

Child processes run the helper scripts as ``python -m tests.helpers.NAME`` with ``python_env()``, so they
import ``tests.helpers`` whatever the working directory.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
ASTERISK = ROOT / "tests" / "fixtures" / "asterisk"  # the real Asterisk captures (their README says how)


def python_env() -> dict[str, str]:
    """This environment with the repository root importable, for a child Python process."""
    path = [str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])]
    return {**os.environ, "PYTHONPATH": os.pathsep.join(path)}


def helper_command(name: str, *args: str) -> list[str]:
    """The argv that runs ``tests/helpers/NAME.py`` as a script (with ``python_env()``)."""
    return [sys.executable, "-m", f"tests.helpers.{name}", *args]
