import json

from asteriskbill.billing.routes import Route, choose_route


def test_routes_add_list_remove(cli):
    cli("routes", "add", "", "PJSIP/${NUMBER}@default")
    cli("routes", "add", "44", "PJSIP/${NUMBER}@carrier1", "--name", "carrier1")
    assert json.loads(cli("routes", "list", "--json").stdout) == [
        {"prefix": "", "dial": "PJSIP/${NUMBER}@default", "name": ""},
        {"prefix": "44", "dial": "PJSIP/${NUMBER}@carrier1", "name": "carrier1"},
    ]
    assert "exists already" in cli("routes", "add", "44", "SIP/${NUMBER}", ok=False).output
    assert "must contain ${NUMBER}" in cli("routes", "add", "45", "SIP/foo", ok=False).output
    assert "no spaces, commas" in cli("routes", "add", "45", "SIP/${NUMBER},30", ok=False).output
    assert "must be digits" in cli("routes", "add", "4x", "SIP/${NUMBER}", ok=False).output
    cli("routes", "remove", "44")
    assert "no route for prefix '44'" in cli("routes", "remove", "44", ok=False).output
    assert "(default)" in cli("routes", "list").stdout


def test_longest_prefix_route():
    routes = [Route("", "A/${NUMBER}"), Route("44", "B/${NUMBER}"), Route("447", "C/${NUMBER}@x")]
    assert choose_route(routes, "447700").dial_string("447700") == "C/447700@x"
    assert choose_route(routes, "4420").dial == "B/${NUMBER}"
    assert choose_route(routes, "1555").dial == "A/${NUMBER}"
    assert choose_route(routes[1:], "1555") is None
