"""Incoming calls on a real Asterisk through the project's asteriskbill-in context and a real `serve`: a call to a
toll-free DID rings the called account's extension (the incoming_dial setting) and is billed to that account from the
callee's answer, by its incoming tariff and the caller's number; an account without an incoming tariff is rung
unbilled; one that cannot pay is refused without an answer."""

from __future__ import annotations

import pytest

from asteriskbill import dialplan
from tests.helpers.asterisk_billing import CALLEE_CONTEXT, assert_billed_talk, caller_records, talking

TOLL_FREE = "18005550100"
CALLER = '"Bob" <+12125550100>'  # rated by 12125550100: prefix 1, 0.60/min by the second, a cent a second
CALLEE = talking(3)[2:]  # the called account's extension: the test callee that answers and talks 3 s
INCOMING_RATES = "prefix,destination,price,increments\n1,North America,0.60,1/1\n"
RINGS = f"Local/${{EXTENSION}}@{CALLEE_CONTEXT}"  # the incoming_dial setting: extensions are the test callee's
RINGS_THE_CALLEE = pytest.mark.serve(incoming_dial=RINGS)


@pytest.fixture
def helpdesk(pbx, world, tmp_path) -> str:
    """Extension account `helpdesk` on the callee's number, 10.00, DID 18005550100, incoming tariff `tollfree`; the
    agi-bin scripts Asterisk runs ring it as `serve` does."""
    with pbx.billing_config.open("a") as config:
        config.write(f'incoming_dial = "{RINGS}"\n')
    cli = world.cli
    cli("tariff", "create", "tollfree", "--currency", "USD")
    (tmp_path / "incoming.csv").write_text(INCOMING_RATES)
    cli("rates", "import", "tollfree", str(tmp_path / "incoming.csv"))
    cli("accounts", "create", "extension", "helpdesk", "--parent", "acme", "--extension", CALLEE)
    cli("accounts", "edit", "helpdesk", "--incoming-tariff", "tollfree")
    cli("accounts", "recharge", "helpdesk", "10")
    cli("dids", "add", TOLL_FREE, "helpdesk")
    return "helpdesk"


@RINGS_THE_CALLEE
@pytest.mark.parametrize("context", [dialplan.IN_CONTEXT, dialplan.IN_STDIO_CONTEXT])
def test_a_call_to_a_toll_free_did_is_billed_to_the_called_account(pbx, world, helpdesk, serve, context):
    before, caller_before = world.balance(helpdesk), world.balance("acme-201")
    call = pbx.call(context, TOLL_FREE, CALLER)
    pbx.ended(call)
    variables = pbx.variables(call)
    assert (variables["BILL_STATUS"], variables["BILL_DIAL"]) == ("OK", f"Local/{CALLEE}@{CALLEE_CONTEXT}")
    assert_billed_talk(world, pbx, call, helpdesk, before)
    cdr = world.cdr(call)
    assert (cdr.direction, cdr.dialled, cdr.number) == ("in", TOLL_FREE, "12125550100")
    assert world.balance("acme-201") == caller_before


@RINGS_THE_CALLEE
def test_an_account_without_an_incoming_tariff_is_rung_unbilled(pbx, world, helpdesk, serve):
    world.cli("accounts", "edit", helpdesk, "--incoming-tariff", "")
    before = world.balance(helpdesk)
    call = pbx.call(dialplan.IN_CONTEXT, TOLL_FREE, CALLER)
    pbx.ended(call)
    variables = pbx.variables(call)
    assert variables["BILL_STATUS"] == "OK" and "BILL_SESSION" not in variables
    (dial,) = [r for r in caller_records(pbx, call) if r["lastapp"] == "Dial"]
    assert dial["disposition"] == "ANSWERED" and dial["userfield"] == ""  # no hangup handler: nothing to settle
    assert world.cdrs() == [] and world.open_reservations() == 0
    assert world.balance(helpdesk) == before
    world.checked()


@RINGS_THE_CALLEE
def test_a_called_account_that_cannot_pay_is_refused_unanswered(pbx, world, helpdesk, serve):
    world.cli("accounts", "adjust", helpdesk, "-10", "--note", "spent")
    call = pbx.call(dialplan.IN_CONTEXT, TOLL_FREE, CALLER)
    pbx.ended(call)
    assert pbx.variables(call)["BILL_STATUS"] == "NO_CREDIT"
    records = caller_records(pbx, call)
    assert all((r["answer"], r["disposition"] != "ANSWERED") == ("", True) for r in records), records
    assert not [r for r in records if r["lastapp"] == "Dial"]  # the extension was never rung
    assert world.cdrs() == []
    world.checked()
