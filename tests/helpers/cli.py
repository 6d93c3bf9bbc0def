"""The real `asteriskbill` command, run in-process."""

from __future__ import annotations

from click.testing import CliRunner

from asteriskbill.cli import main


class Cli:
    """Runs the real `asteriskbill` command in-process against one database."""

    def __init__(self, db: str):
        self.db = db
        self.runner = CliRunner()

    def __call__(self, *args: str, ok: bool = True, input: str | None = None):
        result = self.runner.invoke(
            main, ["--db", self.db, "--operator", "tester", *map(str, args)], input=input, catch_exceptions=False
        )
        if ok:
            assert result.exit_code == 0, f"exit {result.exit_code}: {result.output}"
        else:
            assert result.exit_code != 0, f"expected a failure, got: {result.output}"
        return result
