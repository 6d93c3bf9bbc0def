import pytest

from asteriskbill.billing.numbers import NumberError, NumberPlan, normalize

SOFIA_PBX = NumberPlan(country_code="359", area_code="2", outside_line="9")


@pytest.mark.parametrize(
    "dialled, number, call_class, rules",
    [
        ("9004420712345", "4420712345", "international", ("outside line", "international")),
        ("004420712345", "4420712345", "international", ("international",)),
        ("+44 20 7123-4567", "442071234567", "international", ("international",)),
        ("9032123456", "35932123456", "national", ("outside line", "national")),
        ("0888123456", "359888123456", "national", ("national",)),
        ("02 930 1234", "35929301234", "local", ("national",)),
        ("9301234", "3592301234", "local", ("outside line", "local")),
        ("003592123456", "3592123456", "local", ("international",)),
    ],
)
def test_sofia_pbx(dialled, number, call_class, rules):
    result = normalize(dialled, SOFIA_PBX)
    assert (result.number, result.call_class, result.rules) == (number, call_class, rules)


def test_plan_without_area_code_classifies_prefixless_as_local():
    plan = NumberPlan(country_code="57")
    assert normalize("3001234567", plan).call_class == "local"
    assert normalize("03001234567", plan).call_class == "national"


@pytest.mark.parametrize(
    "dialled, message",
    [
        ("12ab", "not a phone number"),
        ("", "not a phone number"),
        ("*123#", "not a phone number"),
        ("00" + "1" * 16, "too long"),
        ("9", "too short"),
    ],
)
def test_refused(dialled, message):
    with pytest.raises(NumberError, match=message):
        normalize(dialled, SOFIA_PBX)


def test_company_override():
    plan = SOFIA_PBX.overridden(outside_line="0", national_prefix="", area_code=None, unknown="x")
    assert (plan.outside_line, plan.national_prefix, plan.area_code) == ("0", "0", "2")
    assert normalize("0004420", plan).rules == ("outside line", "international")
