"""The wheel works on its own: built from this checkout, installed with the pinned versions into a fresh
virtualenv outside the repository, its commands migrate, price and answer AGI calls from another directory;
it carries every file the console serves."""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import sys
import time
import zipfile
from collections.abc import Mapping
from pathlib import Path

from asteriskbill.agi.peer import Call, Outcome, call_process
from asteriskbill.store import migrate

ROOT = Path(__file__).resolve().parents[2]
BUILD_INPUTS = ("pyproject.toml", "setup.cfg", "README.md", "asteriskbill")
RATES = "prefix,destination,price,increments\n44,United Kingdom,0.60,60/6\n"
# what the console serves from the installed package: its templates, its own files, the vendored libraries
WEB = ROOT / "asteriskbill" / "web"
CONSOLE_FILES = ("templates", "static")


def run(argv: list[str | Path], *, cwd: Path, env: Mapping[str, str] | None = None) -> str:
    result = subprocess.run(
        [str(arg) for arg in argv], cwd=cwd, env=env, capture_output=True, text=True, timeout=300, check=False
    )
    assert result.returncode == 0, f"{argv} exited {result.returncode}:\n{result.stdout}\n{result.stderr}"
    return result.stdout


def pip(*args: str | Path, cwd: Path) -> None:
    """This venv's pip (the pinned one)."""
    run([sys.executable, "-m", "pip", "--quiet", *args], cwd=cwd)


def build_wheel(tmp_path: Path) -> Path:
    """Build from a copy of the sources: setuptools writes build/ and *.egg-info next to what it builds, and
    would put a stale build/lib in the wheel; the checkout stays clean and concurrent runs stay apart."""
    source = tmp_path / "source"
    source.mkdir()
    for name in BUILD_INPUTS:
        if (ROOT / name).is_dir():
            shutil.copytree(ROOT / name, source / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        else:
            shutil.copy2(ROOT / name, source / name)
    dist = tmp_path / "dist"
    # the pinned setuptools of this venv (constraints.txt), checked against pyproject's build requirements
    pip("wheel", "--no-deps", "--no-build-isolation", "--check-build-dependencies", "-w", dist, source, cwd=tmp_path)
    [wheel] = dist.glob("asteriskbill-*.whl")
    return wheel


def console_files() -> set[str]:
    """Every file of the console's templates/ and static/ in the checkout, as a path inside the wheel."""
    found = {
        path.relative_to(ROOT).as_posix()
        for folder in CONSOLE_FILES
        for path in (WEB / folder).rglob("*")
        if path.is_file() and "__pycache__" not in path.parts
    }
    vendored = ("pico.min.css", "htmx.min.js", "sse.js", "chart.umd.min.js", "LICENSE.chart.js", "package-lock.json")
    assert {"asteriskbill/web/templates/base.html"} | {f"asteriskbill/web/static/vendor/{n}" for n in vendored} <= found
    return found


def test_the_wheel_installs_and_runs_outside_the_checkout(tmp_path: Path) -> None:
    started = time.monotonic()
    wheel = build_wheel(tmp_path)
    with zipfile.ZipFile(wheel) as archive:
        assert console_files() - set(archive.namelist()) == set(), "console files missing from the wheel"
    venv = tmp_path / "venv"
    bin_dir = venv / "bin"
    # no pip inside: this venv's pip installs into it (--python), which saves ensurepip's seconds
    run([sys.executable, "-m", "venv", "--without-pip", venv], cwd=tmp_path)
    pip("--python", bin_dir / "python", "install", "-c", ROOT / "constraints.txt", wheel, cwd=tmp_path)
    installed = time.monotonic()

    work = tmp_path / "work"  # a directory with no asteriskbill/, alembic.ini or migrations/ in it
    work.mkdir()
    (work / "asteriskbill.toml").write_text("")  # an empty config file: nothing read from /etc
    (work / "rates.csv").write_text(RATES)
    env = {name: value for name, value in os.environ.items() if not name.startswith(("ASTERISKBILL_", "PYTHON"))}
    env |= {
        "PATH": f"{bin_dir}{os.pathsep}{env.get('PATH', '')}",
        "ASTERISKBILL_CONFIG": str(work / "asteriskbill.toml"),
        "ASTERISKBILL_DB": f"sqlite:///{work / 'billing.db'}",
        "ASTERISKBILL_SECRET_FILE": str(work / "secret"),
    }

    def asteriskbill(*args: str) -> str:
        return run([bin_dir / "asteriskbill", *args], cwd=work, env=env)

    imported = run([bin_dir / "python", "-c", "import asteriskbill; print(asteriskbill.__file__)"], cwd=work, env=env)
    assert Path(imported.strip()).is_relative_to(venv), "the checkout was imported, not the wheel"

    assert f"at revision {migrate.head_revision()}" in asteriskbill("init")
    asteriskbill("tariff", "create", "retail", "--currency", "USD")
    assert "imported 1 rate" in asteriskbill("rates", "import", "retail", "rates.csv")
    # 60 s at 0.60/min, then 30 s in 6 s blocks at the same price
    assert "90 s cost 0.90 USD" in asteriskbill("quote", "retail", "+442071234567", "--seconds", "90")
    assert "--port" in asteriskbill("serve", "--help")
    # the packaged dialplan, its agi-bin folder the one this installation put the scripts in
    dialplan = asteriskbill("dialplan")
    assert dialplan.startswith(f"[globals]\nASTERISKBILL_FASTAGI=127.0.0.1:4573\nASTERISKBILL_AGI_BIN={bin_dir}\n")
    assert "\n[asteriskbill-card]\n" in dialplan and "U(asteriskbill-answered^${CHANNEL})" in dialplan

    # the console scripts Asterisk runs per call: real pipes, settings from the environment
    def place(script: str, call: Call) -> Outcome:
        return asyncio.run(call_process(call, [str(bin_dir / f"asteriskbill-{script}")], environ=env, timeout=60))

    card = place("card", Call(script="card", keys=[None, None, None]))
    assert (card.agistatus, card.exit_status, card.variables) == ("SUCCESS", 0, {"BILL_STATUS": "UNKNOWN_CARD"})
    ext = place("ext", Call(script="ext", args=["442071234567"], callerid="201"))
    assert (ext.agistatus, ext.exit_status) == ("SUCCESS", 0), ext.stderr
    assert ext.variables["BILL_STATUS"] == "UNKNOWN_ACCOUNT"
    hung_up = place("card", Call(script="card", hangup_at_prompt="agent-user"))
    assert "SIGHUP sent" in [line.data for line in hung_up.lines]
    assert (hung_up.agistatus, hung_up.exit_status) == ("HANGUP", 0), hung_up.stderr
    print(f"wheel built and installed in {installed - started:.1f} s, checked in {time.monotonic() - installed:.1f} s")
