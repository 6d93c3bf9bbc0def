import json

from tests.helpers.world import make_world


def test_normalize_with_global_and_company_plans(cli, tmp_path, monkeypatch):
    monkeypatch.setenv("ASTERISKBILL_COUNTRY_CODE", "359")
    make_world(cli, tmp_path)
    out = json.loads(cli("numbers", "normalize", "0888123456", "--json").stdout)
    assert out == {"dialled": "0888123456", "number": "359888123456", "call_class": "national", "rules": ["national"]}
    cli("numbers", "plan", "set", "--company", "acme", "--outside-line", "9", "--area-code", "2")
    text = cli("numbers", "normalize", "9029301234", "--account", "acme-201").stdout
    assert text.strip() == "9029301234 -> 35929301234 (local; rules: outside line, national)"
    shown = json.loads(cli("numbers", "plan", "show", "--company", "acme", "--json").stdout)
    assert (shown["outside_line"], shown["area_code"], shown["country_code"]) == ("9", "2", "359")
    cli("numbers", "plan", "set", "--company", "acme", "--outside-line", "")
    assert json.loads(cli("numbers", "plan", "show", "--company", "acme", "--json").stdout)["outside_line"] == ""


def test_number_errors(cli, tmp_path):
    make_world(cli, tmp_path)
    assert "not a phone number" in cli("numbers", "normalize", "12ab", ok=False).output
    assert (
        "number plans belong to companies"
        in cli("numbers", "plan", "set", "--company", "acme-201", "--outside-line", "9", ok=False).output
    )
    assert (
        "must be digits" in cli("numbers", "plan", "set", "--company", "acme", "--outside-line", "x", ok=False).output
    )
    assert "no account named" in cli("numbers", "normalize", "123", "--account", "nope", ok=False).output
