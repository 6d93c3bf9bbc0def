"""The routes of a call reach the dialplan: BILL_ROUTES and BILL_DIAL_1..N in the order to try (BILL_DIAL: the
first, for a dialplan older than the routes), over real TCP (FastAGI) against a real database."""

from __future__ import annotations

import dataclasses

import pytest

from asteriskbill.agi.peer import Call
from asteriskbill.services import lifecycle
from tests.helpers.routing import Route, route_accounts
from tests.helpers.world import make_world, place

UK = "00442071234567"
FIRST, SECOND = "PJSIP/442071234567@carrier", "PJSIP/0442071234567@carrier2"


@pytest.fixture
def world(cli, tmp_path):
    return make_world(cli, tmp_path)


def sets(out) -> list[str]:
    return [command.split()[2] for command in out.commands if command.startswith("SET VARIABLE")]


@pytest.mark.parametrize(
    ("dials", "expected"),
    [
        ((FIRST, SECOND), {"BILL_ROUTES": "2", "BILL_DIAL_1": FIRST, "BILL_DIAL_2": SECOND}),
        ((FIRST,), {}),  # one route: BILL_DIAL alone, the dialplan's defaults do the rest
        ((), {}),  # no routes told: the one BILL_DIAL
    ],
)
def test_each_route_is_a_dial_variable_in_order(engine, world, monkeypatch, dials, expected):
    authorize = lifecycle.authorize_extension_in

    def with_routes(*args, **kwargs):
        result = authorize(*args, **kwargs)
        assert result.dial == FIRST  # the world's routes table
        return dataclasses.replace(result, dials=dials)

    monkeypatch.setattr(lifecycle, "authorize_extension_in", with_routes)
    [out] = place(engine, world.settings, Call(script="ext", args=[UK], callerid="201"))
    assert out.variables == {
        "BILL_SESSION": out.variables["BILL_SESSION"],
        "BILL_MAX_MS": out.variables["BILL_MAX_MS"],
        "BILL_DIAL": FIRST,
        **expected,
        "BILL_NUMBER": "442071234567",
        "BILL_STATUS": "OK",
    }
    # with routes, one SET for BILL_ROUTES and one per route; BILL_STATUS=OK still comes last
    assert sets(out) == ["BILL_SESSION", "BILL_MAX_MS", "BILL_DIAL", *expected, "BILL_NUMBER", "BILL_STATUS"]


def test_an_account_of_a_routing_group_gets_its_trunks_in_order(cli, engine, world, tmp_path):
    routes = [Route("carrier-a", "PJSIP/${NUMBER}@carrier-a", "0.20"), Route("carrier-b", "IAX2/b/${NUMBER}", "0.40")]
    route_accounts(cli, engine, tmp_path, ["acme-201"], routes)
    [out] = place(engine, world.settings, Call(script="ext", args=[UK], callerid="201"))
    assert out.variables["BILL_STATUS"] == "OK"
    dials = ("PJSIP/442071234567@carrier-a", "IAX2/b/442071234567")
    assert (out.variables["BILL_ROUTES"], out.variables["BILL_DIAL_1"], out.variables["BILL_DIAL_2"]) == ("2", *dials)
    assert out.variables["BILL_DIAL"] == dials[0]
