"""`asteriskbill check` on the databases the tests used: each fixture database when its test ends, and at the
end of the run every SQLite file the tests left behind (made by `init` in a subprocess, backups, copies)."""

from __future__ import annotations

from pathlib import Path

from asteriskbill.errors import UserError
from asteriskbill.services import ledger
from asteriskbill.settings import Settings
from asteriskbill.store import ready

MARKER = "breaks_ledger"  # a test that corrupts a ledger on purpose, to prove `check` finds it


def problems(url: str) -> list[str]:
    """What `asteriskbill check` reports on the database at ``url`` (at the head revision)."""
    engine = ready.connect(Settings(db=url))
    try:
        _accounts, differences = ledger.check(engine)
    finally:
        engine.dispose()
    return [f"account {d.account}: {d.problem}" for d in differences]


def scan(root: Path) -> tuple[int, int, list[str]]:
    """(checked, not checked, failures) over the SQLite files under ``root``: a file that is not an
    asteriskbill database at the head revision (an old schema on purpose, an empty or garbage file, one
    made unreadable) is not checked, and counted."""
    checked, skipped, failures = 0, 0, []
    for path in sorted(root.rglob("*.db")):
        try:
            found = problems(f"sqlite:///{path}")
        except (UserError, OSError):
            skipped += 1
            continue
        checked += 1
        failures += [f"{path}: {line}" for line in found]
    return checked, skipped, failures


def forget(folder: Path) -> None:
    """Remove the SQLite files a test corrupted on purpose, so the end-of-run scan does not report them."""
    for path in folder.rglob("*.db"):
        path.unlink()
