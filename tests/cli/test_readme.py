"""The README's worked example, run as a user would: its commands in bash, its output as shown."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers.serve import free_port

README = Path(__file__).resolve().parents[2] / "README.md"


def blocks_after(marker: str) -> tuple[str, str]:
    text = README.read_text()
    after = text[text.index(marker) :]
    commands, expected = re.findall(r"```(?:sh|text)\n(.*?)```", after, re.S)[:2]
    return commands, expected


@pytest.mark.parametrize(
    "marker",
    [
        "<!-- worked example",
        "<!-- callshop walk-through",
        "<!-- routing walk-through",
        "<!-- pools walk-through",
        "<!-- bundles walk-through",
        "<!-- incoming walk-through",
        "<!-- editing walk-through",
        "<!-- plans walk-through",
    ],
)
def test_readme_walk_throughs(tmp_path, marker):
    commands, expected = blocks_after(marker)
    env = {
        **os.environ,
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
        "ASTERISKBILL_FASTAGI_PORT": str(free_port()),
        "ASTERISKBILL_WEB_PORT": str(free_port()),  # walk-throughs run `serve` side by side
    }
    env.pop("ASTERISKBILL_DB", None)
    result = subprocess.run(
        ["bash", "-euc", commands], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr
    printed = result.stdout.splitlines()
    lines = iter(printed)
    for want in expected.splitlines():
        assert any(line == want for line in lines), f"README shows {want!r}; the commands printed:\n{result.stdout}"


def test_every_command_has_an_example_in_its_help():
    import click

    from asteriskbill.cli import main

    def walk(command: click.Command, path: str):
        if isinstance(command, click.Group):
            for name, sub in command.commands.items():
                yield from walk(sub, f"{path} {name}")
        else:
            yield path, command

    commands = list(walk(main, "asteriskbill"))
    assert len(commands) > 60  # every group was registered
    missing = [
        path
        for path, command in commands
        if not re.search(r"Example:\n\n(\s*\x08\n)? +asteriskbill ", command.help or "")
    ]
    assert not missing, f"commands without an Example: in their help: {missing}"
