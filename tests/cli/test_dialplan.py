"""`asteriskbill dialplan`: the packaged dialplan with the [globals] of this installation."""

import sysconfig
from pathlib import Path

import pytest

from asteriskbill import dialplan

SCRIPTS = Path(sysconfig.get_path("scripts"))  # this virtualenv's bin/, where asteriskbill-card is


def test_it_prints_the_globals_then_the_dialplan(cli):
    result = cli("dialplan")
    assert result.stdout == (
        f"[globals]\nASTERISKBILL_FASTAGI=127.0.0.1:4573\nASTERISKBILL_AGI_BIN={SCRIPTS}\n\n{dialplan.text()}"
    )
    assert (SCRIPTS / "asteriskbill-card").exists() and result.stderr == ""


def test_globals_only(cli):
    assert cli("dialplan", "--globals").stdout == dialplan.globals_section("127.0.0.1:4573", str(SCRIPTS))


@pytest.mark.parametrize(
    ("host", "shown"),
    [("0.0.0.0", "127.0.0.1"), ("::", "127.0.0.1"), ("::1", "[::1]"), ("10.1.2.3", "10.1.2.3"), ("pbx1", "pbx1")],
)
def test_the_fastagi_address_comes_from_the_settings(cli, monkeypatch, host, shown):
    monkeypatch.setenv("ASTERISKBILL_FASTAGI_HOST", host)
    monkeypatch.setenv("ASTERISKBILL_FASTAGI_PORT", "4600")
    assert f"\nASTERISKBILL_FASTAGI={shown}:4600\n" in cli("dialplan", "--globals").stdout


def test_options_override_the_settings(cli, tmp_path):
    (tmp_path / "asteriskbill-card").touch()
    result = cli("dialplan", "--globals", "--fastagi", "192.0.2.7:4573", "--agi-bin", str(tmp_path))
    assert result.stdout == dialplan.globals_section("192.0.2.7:4573", str(tmp_path))
    assert result.stderr == ""


def test_a_folder_without_the_scripts_is_printed_with_a_warning(cli, tmp_path):
    result = cli("dialplan", "--agi-bin", str(tmp_path))
    assert f"\nASTERISKBILL_AGI_BIN={tmp_path}\n" in result.stdout
    assert result.stderr == f"{tmp_path} has no asteriskbill-card: the -stdio contexts need --agi-bin\n"


@pytest.mark.parametrize("value", ["nope", "host:", ":4573", "host:99999", "host:45x3"])
def test_a_bad_fastagi_address_is_one_line(cli, value):
    result = cli("dialplan", "--fastagi", value, ok=False)
    assert result.exit_code == 2 and result.stdout == ""
    assert "is not HOST:PORT, e.g. 127.0.0.1:4573" in result.stderr
    assert "Traceback" not in result.output
