"""The console scripts asteriskbill-card / asteriskbill-ext / asteriskbill-in: SIGHUP ignored before anything else,
then the app with Asterisk's arguments (tests/packaging/test_wheel.py runs the installed ones over real pipes)."""

from __future__ import annotations

import signal
import sys

import pytest

from asteriskbill.agi import script


@pytest.mark.parametrize(("entry", "function"), [("card", "card"), ("ext", "ext"), ("in", "incoming")])
def test_entry_point_ignores_sighup_then_runs_its_app(
    monkeypatch: pytest.MonkeyPatch, entry: str, function: str
) -> None:
    seen: list[tuple[list[str], object]] = []

    def main(argv: list[str]) -> int:
        seen.append((argv, signal.getsignal(signal.SIGHUP)))
        return 7

    monkeypatch.setattr(script, "main", main)
    monkeypatch.setattr(sys, "argv", [f"/var/lib/asterisk/agi-bin/asteriskbill-{entry}", "0044207", "x y"])
    previous = signal.signal(signal.SIGHUP, signal.SIG_DFL)
    try:
        assert getattr(script, function)() == 7
    finally:
        signal.signal(signal.SIGHUP, previous)
    assert seen == [([entry, "0044207", "x y"], signal.SIG_IGN)]


def test_module_usage_without_an_app_name() -> None:
    assert script.main([]) == 2
    assert script.main(["fastagi"]) == 2
