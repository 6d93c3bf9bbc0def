"""`servers add/list/remove`: clear refusals that change nothing, audit lines, and never a password or AMI
secret shown; `servers.slicing`: slices only when every server followed has AMI."""

from __future__ import annotations

import json

import pytest

from asteriskbill.services import servers

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
    assert text.splitlines()[0].split() == [
        "name",
        "ari_url",
        "ari_user",
        "ami_url",
        "ami_user",
        "asterisk_id",
        "source",
    ]
    cli("servers", "remove", "pbx1")
    assert [s["name"] for s in json.loads(cli("servers", "list", "--json").stdout)] == ["default", "pbx2"]
    audit = cli("audit", "list", "--json").stdout
    assert [(e["action"], e["subject"]) for e in json.loads(audit) if e["action"].startswith("server.")] == [
        ("server.add", "pbx1"),
        ("server.add", "pbx2"),
        ("server.remove", "pbx1"),
    ]
    assert all(PASSWORD not in out for out in (text, json.dumps(listed), audit))


AMI_SECRET = "ami-S3cret"
PBX9 = ("servers", "add", "pbx9", "--ari-url", "http://10.0.0.6", "--ari-user", "u", "--ari-password", "p")


def test_a_server_with_ami_shows_its_address_never_its_secret(cli, monkeypatch):
    added = cli(*ADD, "--ami-url", " tcp://10.0.0.5:5038 ", "--ami-user", "billing", "--ami-secret", AMI_SECRET)
    assert "server pbx1 added: http://10.0.0.5:8088 as asteriskbill, AMI tcp://10.0.0.5:5038 as billing" in added.output
    prompted = cli(
        "servers",
        "add",
        "pbx2",
        "--ari-url",
        "http://10.0.0.6:8088",
        "--ari-user",
        "asteriskbill",
        "--ari-password",
        PASSWORD,
        "--ami-url",
        "tcp://10.0.0.6",
        "--ami-user",
        "billing",
        input=f"{AMI_SECRET}\n",
    )  # the secret prompted, not echoed
    assert "AMI tcp://10.0.0.6 as billing" in prompted.output
    monkeypatch.setenv("ASTERISKBILL_ARI_URL", "http://127.0.0.1:8088")
    monkeypatch.setenv("ASTERISKBILL_AMI_URL", "tcp://127.0.0.1:5038")
    monkeypatch.setenv("ASTERISKBILL_AMI_USER", "local")
    monkeypatch.setenv("ASTERISKBILL_AMI_SECRET", AMI_SECRET)
    listed = json.loads(cli("servers", "list", "--json").stdout)
    assert [(s["name"], s["ami_url"], s["ami_user"]) for s in listed] == [
        ("default", "tcp://127.0.0.1:5038", "local"),
        ("pbx1", "tcp://10.0.0.5:5038", "billing"),
        ("pbx2", "tcp://10.0.0.6", "billing"),
    ]
    text = cli("servers", "list").stdout
    assert "tcp://10.0.0.5:5038" in text
    audit = cli("audit", "list", "--json").stdout
    assert [e["detail"]["ami_url"] for e in json.loads(audit) if e["action"] == "server.add"] == [
        "tcp://10.0.0.5:5038",
        "tcp://10.0.0.6",
    ]
    shown = (added.output, prompted.output, json.dumps(listed), text, audit)
    assert all(AMI_SECRET not in out and PASSWORD not in out for out in shown)


def test_slices_only_when_every_server_followed_has_ami(cli, engine, settings):
    """slicing(): slice_seconds once every server followed has AMI; else (or with no server) 0, the whole maximum."""
    with_ami = settings.replace(ari_url="http://127.0.0.1:8088", ami_url="tcp://127.0.0.1:5038", ami_user="u")
    with_ami = with_ami.replace(ami_secret="s")
    assert servers.slicing(engine, settings) == 0  # no server at all: nothing would extend a slice
    assert servers.slicing(engine, with_ami) == 300
    assert servers.slicing(engine, with_ami.replace(slice_seconds=0)) == 0
    assert servers.slicing(engine, with_ami.replace(ami_secret="")) == 0  # a half-set AMI is none
    cli(*ADD, "--ami-url", "tcp://10.0.0.5:5038", "--ami-user", "billing", "--ami-secret", AMI_SECRET)
    assert servers.slicing(engine, settings) == 300
    assert servers.slicing(engine, with_ami.replace(ami_url="")) == 0  # the "default" server has none
    cli("servers", "add", "pbx2", "--ari-url", "http://10.0.0.6:8088", "--ari-user", "u", "--ari-password", "p")
    assert servers.slicing(engine, with_ami) == 0  # pbx2 has none
    assert [s.has_ami for s in servers.servers(engine, with_ami)] == [True, True, False]


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
        (
            (*PBX9, "--ami-user", "u", "--ami-secret", "s"),
            "give --ami-url, --ami-user and --ami-secret together (manager.conf), or none",
        ),
        (
            (*PBX9, "--ami-url", "10.0.0.6:5038", "--ami-user", "u", "--ami-secret", "s"),
            "ami_url '10.0.0.6:5038': not an AMI address like tcp://127.0.0.1:5038",
        ),
        (
            (*PBX9, "--ami-url", f"tcp://admin:{PASSWORD}@10.0.0.6:5038", "--ami-user", "u", "--ami-secret", "s"),
            "ami_url 'tcp://admin:***@10.0.0.6:5038': holds credentials",
        ),
        (("servers", "remove", "pbx9"), "no server named 'pbx9' (see `asteriskbill servers list`)"),
        (("servers", "remove", "default"), "it is the ari_url setting: unset it instead"),
    ],
)
def test_refusals_are_one_line_and_change_nothing(cli, snapshot, args, error):
    cli(*ADD)
    before = snapshot()
    result = cli(*args, ok=False)
    assert result.exit_code == 1 and error in result.stderr and PASSWORD not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert snapshot() == before


def test_every_servers_command_has_an_example(cli):
    for command in ("add", "list", "remove"):
        assert "Example:" in cli("servers", command, "--help").stdout
