import pytest

from asteriskbill.settings import Settings, SettingsError, load


def test_precedence(tmp_path):
    config = tmp_path / "asteriskbill.toml"
    config.write_text('db = "sqlite:///from-file.db"\ntimezone = "Europe/Sofia"\nfastagi_port = 5000\n')
    env = {"ASTERISKBILL_TIMEZONE": "America/Bogota", "ASTERISKBILL_FASTAGI_ALLOW": "10.0.0.5, 10.0.0.6"}
    settings = load(config, env=env, db="sqlite:///from-flag.db")
    assert settings.db == "sqlite:///from-flag.db"  # flag beats all
    assert settings.timezone == "America/Bogota"  # environment beats the file
    assert settings.fastagi_port == 5000  # file beats the default
    assert settings.fastagi_allow == ("10.0.0.5", "10.0.0.6")
    assert settings.max_call_seconds == Settings().max_call_seconds


def test_config_from_environment_variable(tmp_path):
    config = tmp_path / "other.toml"
    config.write_text("max_call_seconds = 600\n")
    assert load(env={"ASTERISKBILL_CONFIG": str(config)}).max_call_seconds == 600


def test_missing_default_config_is_fine():
    assert load(env={}).db.startswith("sqlite:///")


@pytest.mark.parametrize(
    "content, message",
    [
        ("nonsense = 1\n", "unknown settings nonsense"),
        ("fastagi_port = 'x'\n", "fastagi_port"),
        ("db = \n", "config file"),
    ],
)
def test_bad_config(tmp_path, content, message):
    config = tmp_path / "bad.toml"
    config.write_text(content)
    with pytest.raises(SettingsError, match=message):
        load(config, env={})


def test_explicit_missing_config(tmp_path):
    with pytest.raises(SettingsError, match="does not exist"):
        load(tmp_path / "nope.toml", env={})
