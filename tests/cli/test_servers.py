"""`servers add/list/remove`: clear refusals that change nothing, audit lines, and never a password shown."""

from __future__ import annotations

import json

import pytest

PASSWORD = "s3cret-Pa55"
ADD = (
    "servers",
    "add",
    "pbx1",
    "--ari-url",
    "http://10.0.0.5:8088/",
    "--ari-user",
    "asteriskbill",
    "--ari-password",
    PASSWORD,
)


def test_add_list_remove_audited_without_passwords(cli, monkeypatch):
    assert "server pbx1 added: http://10.0.0.5:8088 as asteriskbill" in cli(*ADD).output
    cli(
        "servers",
        "add",
        "pbx2",
        "--ari-url",
        "https://pbx2.example:8089/asterisk",
        "--ari-user",
        "billing",
        input=f"{PASSWORD}\n",
    )  # prompted, not echoed
    monkeypatch.setenv("ASTERISKBILL_ARI_URL", "http://127.0.0.1:8088")
    monkeypatch.setenv("ASTERISKBILL_ARI_USER", "local")
    monkeypatch.setenv("ASTERISKBILL_ARI_PASSWORD", PASSWORD)
    listed = json.loads(cli("servers", "list", "--json").stdout)
    assert [(s["name"], s["ari_url"], s["ari_user"], s["source"], s["asterisk_id"]) for s in listed] == [
        ("default", "http://127.0.0.1:8088", "local", "settings", None),
        ("pbx1", "http://10.0.0.5:8088", "asteriskbill", "servers table", None),
        ("pbx2", "https://pbx2.example:8089/asterisk", "billing", "servers table", None),
    ]
    text = cli("servers", "list").stdout
    assert text.splitlines()[0].split() == ["name", "ari_url", "ari_user", "asterisk_id", "source"]
    cli("servers", "remove", "pbx1")
    assert [s["name"] for s in json.loads(cli("servers", "list", "--json").stdout)] == ["default", "pbx2"]
    audit = cli("audit", "list", "--json").stdout
    assert [(e["action"], e["subject"]) for e in json.loads(audit) if e["action"].startswith("server.")] == [
        ("server.add", "pbx1"),
        ("server.add", "pbx2"),
        ("server.remove", "pbx1"),
    ]
    assert all(PASSWORD not in out for out in (text, json.dumps(listed), audit))


@pytest.mark.parametrize(
    "args, error",
    [
        (ADD, "a server named 'pbx1' exists already"),
        (
            (
                "servers",
                "add",
                "pbx9",
                "--ari-url",
                "http://10.0.0.5:8088",
                "--ari-user",
                "asteriskbill",
                "--ari-password",
                "x",
            ),
            "server 'pbx1' already follows http://10.0.0.5:8088 as 'asteriskbill'",
        ),
        (
            ("servers", "add", "pbx9", "--ari-url", "10.0.0.6:8088", "--ari-user", "u", "--ari-password", "p"),
            "ari_url '10.0.0.6:8088' must look like http://127.0.0.1:8088",
        ),
        (
            ("servers", "add", "pbx9", "--ari-url", "http://10.0.0.6:80x", "--ari-user", "u", "--ari-password", "p"),
            "must look like http://127.0.0.1:8088",
        ),
        (
            ("servers", "add", "pbx 9", "--ari-url", "http://10.0.0.6", "--ari-user", "u", "--ari-password", "p"),
            "server name 'pbx 9': use 1 to 64 letters",
        ),
        (
            ("servers", "add", "default", "--ari-url", "http://10.0.0.6", "--ari-user", "u", "--ari-password", "p"),
            "'default' is kept for the ari_url setting",
        ),
        (
            ("servers", "add", "pbx9", "--ari-url", "http://10.0.0.6", "--ari-user", "", "--ari-password", "p"),
            "give the ARI user and password",
        ),
        (("servers", "remove", "pbx9"), "no server named 'pbx9' (see `asteriskbill servers list`)"),
        (("servers", "remove", "default"), "it is the ari_url setting: unset it instead"),
    ],
)
def test_refusals_are_one_line_and_change_nothing(cli, snapshot, args, error):
    cli(*ADD)
    before = snapshot()
    result = cli(*args, ok=False)
    assert result.exit_code == 1 and error in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert snapshot() == before


def test_every_servers_command_has_an_example(cli):
    for command in ("add", "list", "remove"):
        assert "Example:" in cli("servers", command, "--help").stdout
