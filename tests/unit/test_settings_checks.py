"""Settings are checked when loaded, each error naming the setting and where its value came from; the
default paths follow the user: the system's for root, the XDG base directories for anyone else."""

from __future__ import annotations

from dataclasses import fields
from pathlib import Path

import pytest

from asteriskbill import settings as module
from asteriskbill.settings import CHECKS, Settings, SettingsError, load


@pytest.mark.parametrize(
    "name, bad, good, message",
    [
        ("db", "foo", "sqlite:////tmp/x.db", "not a database URL"),
        ("db", "postgres://billing@db1/billing", "postgresql+psycopg://billing@db1/billing", "no database kind"),
        ("sqlite_synchronous", "fast", "normal", "one of OFF, NORMAL, FULL, EXTRA"),
        ("sqlite_busy_timeout_ms", "0", "100", "at least 1"),
        ("timezone", "Mars/Olympus", "Europe/Sofia", "not an IANA time zone"),
        ("timezone", "../etc/passwd", "UTC", "not an IANA time zone"),
        ("secret_file", " ", "/tmp/secret", "must not be empty"),
        ("max_call_seconds", "-5", "60", "at least 1"),
        ("max_call_seconds", "lots", "60", "not a whole number"),
        ("country_code", "abc", "359", "digits only"),
        ("country_code", "", "1", "digits only"),
        ("country_code", "٣٥٩", "1", "digits only"),  # Arabic-Indic digits: str.isdigit() says yes
        ("area_code", "2a", "", "digits only, or empty"),
        ("outside_line", "#", "9", "digits only, or empty"),
        ("international_prefix", "+", "011", "digits only"),
        ("national_prefix", "", "0", "digits only"),
        ("number_max_length", "3", "15", "from 6 to 20"),
        ("number_max_length", "99", "20", "from 6 to 20"),
        ("fastagi_host", "", "0.0.0.0", "must not be empty"),
        ("fastagi_port", "0", "4573", "from 1 to 65535"),
        ("fastagi_port", "70000", "65535", "from 1 to 65535"),
        ("fastagi_port", "٤٥٧٣", "4573", "not a whole number"),  # int() takes Arabic-Indic digits
        ("fastagi_idle_timeout", "٢", "2", "not a number"),
        ("fastagi_allow", "10.0.0.5, pbx1", "10.0.0.5, 10.0.1.0/24", "'pbx1' is not an IP address or network"),
        ("fastagi_idle_timeout", "0", "2.5", "at least 0.1"),
        ("serve_cpu", "fast", "off", "auto, off, or the number of a CPU"),
        ("serve_cpu", "4096", "auto", "auto, off, or the number of a CPU (this process may run on 0"),
        ("pin_max_failures", "0", "3", "at least 1"),
        ("pin_failure_window_seconds", "0", "60", "at least 1"),
        ("pin_lock_seconds", "-1", "60", "at least 1"),
        ("ari_url", "127.0.0.1:8088", "http://127.0.0.1:8088", "not a URL like http://127.0.0.1:8088"),
        ("ari_app", "", "billing", "must not be empty"),
        ("ami_url", "127.0.0.1:5038", "tcp://127.0.0.1:5038", "not an AMI address like tcp://127.0.0.1:5038"),
        ("ami_url", "tcp://pbx1:50x8", "tcp://pbx1", "not an AMI address"),
        ("ami_url", "tcp://admin:pw@pbx1:5038", "tcp://pbx1:5038", "holds credentials"),
        ("cdr_retention", "forever", "2weeks", "not an age like 6months"),
        ("web_host", "", "0.0.0.0", "must not be empty"),
        ("web_port", "65536", "0", "from 0 to 65535"),
        ("web_secure_cookies", "maybe", "yes", "not true or false"),
        ("web_session_idle_minutes", "0", "30", "from 1 to 10080"),
        ("web_login_max_failures", "0", "5", "from 1 to 1000"),
        ("web_login_lock_minutes", "0", "15", "from 1 to 10080"),
        ("incoming_dial", "PJSIP/201", "Local/${EXTENSION}@phones", "a Dial() target with ${EXTENSION}"),
        (
            "incoming_dial",
            "PJSIP/${EXTENSION},30",
            "IAX2/pbx2/${EXTENSION}",
            "a Dial() target with ${EXTENSION} and no",
        ),
    ],
)
def test_each_setting_is_checked(name, bad, good, message):
    variable = f"ASTERISKBILL_{name.upper()}"
    with pytest.raises(SettingsError) as refused:
        load(env={variable: bad})
    assert str(refused.value).startswith(f"setting {name}=") and f"(from {variable}): {message}" in str(refused.value)
    load(env={variable: good})


def test_every_setting_but_free_text_has_a_check():
    free = {"ari_user", "ari_password", "ami_user", "ami_secret", "prompts", "master_csv"}
    flags = {"web_secure_cookies"}  # read as true or false, or refused: that is its check
    assert set(CHECKS) == {f.name for f in fields(Settings)} - free - flags


def test_the_origin_is_named(tmp_path):
    config = tmp_path / "asteriskbill.toml"
    config.write_text('country_code = "x1"\n')
    with pytest.raises(SettingsError, match=f"country_code='x1' \\(from config file {config}\\)"):
        load(config, env={})
    with pytest.raises(SettingsError, match="max_call_seconds=0 \\(from --max-call-seconds\\)"):
        load(env={}, max_call_seconds=0)


def test_a_database_password_is_not_repeated():
    with pytest.raises(SettingsError) as refused:
        load(env={"ASTERISKBILL_DB": "postgresql://billing:hunter2@db1:nope/billing"})
    assert "hunter2" not in str(refused.value) and "billing:***@db1" in str(refused.value)


def test_a_config_file_that_is_not_utf8(tmp_path):
    config = tmp_path / "asteriskbill.toml"
    config.write_bytes(b'timezone = "\xff"\n')
    with pytest.raises(SettingsError, match=f"config file {config}"):
        load(config, env={})


def test_defaults_are_valid():
    load(env={})  # every default passes its own check
    for name, check in CHECKS.items():
        assert check(getattr(Settings(), name)) is None, name


# -- default paths ------------------------------------------------------------------------------------


@pytest.fixture
def user(monkeypatch):
    monkeypatch.setattr(module.os, "geteuid", lambda: 1000)


def test_a_user_keeps_data_and_config_in_the_xdg_folders(user):
    env = {"HOME": "/home/ana", "XDG_DATA_HOME": "/data/ana", "XDG_CONFIG_HOME": "/conf/ana"}
    assert module.data_dir(env) == Path("/data/ana/asteriskbill")
    assert module.config_file(env) == Path("/conf/ana/asteriskbill/asteriskbill.toml")
    loaded = load(env=env)
    assert loaded.db == "sqlite:////data/ana/asteriskbill/asteriskbill.db"
    assert loaded.secret_file == "/data/ana/asteriskbill/secret"


def test_without_xdg_variables_a_user_gets_the_xdg_defaults(user):
    env = {"HOME": "/home/ana", "XDG_DATA_HOME": "relative/ignored"}
    assert module.data_dir(env) == Path("/home/ana/.local/share/asteriskbill")
    assert module.config_file(env) == Path("/home/ana/.config/asteriskbill/asteriskbill.toml")


def test_the_user_config_file_is_read(user, tmp_path):
    config = tmp_path / "asteriskbill" / "asteriskbill.toml"
    config.parent.mkdir()
    config.write_text('timezone = "Europe/Sofia"\n')
    assert load(env={"HOME": "/nowhere", "XDG_CONFIG_HOME": str(tmp_path)}).timezone == "Europe/Sofia"


def test_root_keeps_the_system_paths(monkeypatch, tmp_path):
    monkeypatch.setattr(module.os, "geteuid", lambda: 0)
    env = {"HOME": "/root", "XDG_DATA_HOME": "/root/.local/share"}
    assert module.data_dir(env) == Path("/var/lib/asteriskbill")
    assert module.config_file(env) == Path("/etc/asteriskbill/asteriskbill.toml")
    empty = tmp_path / "empty.toml"
    empty.write_text("")  # not this machine's /etc/asteriskbill/asteriskbill.toml
    assert load(empty, env=env).db == "sqlite:////var/lib/asteriskbill/asteriskbill.db"


def test_the_ami_secret_is_never_shown():
    shown = repr(load(env={"ASTERISKBILL_AMI_URL": "tcp://pbx1:5038", "ASTERISKBILL_AMI_SECRET": "s3cret-AMI"}))
    assert "ami_url='tcp://pbx1:5038'" in shown and "s3cret-AMI" not in shown
    with pytest.raises(SettingsError) as refused:
        load(env={"ASTERISKBILL_AMI_URL": "tcp://admin:s3cret-AMI@pbx1:5038"})
    assert "s3cret-AMI" not in str(refused.value)
