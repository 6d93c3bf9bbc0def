import pytest

from asteriskbill.billing.settle import CallResult, billable_seconds


@pytest.mark.parametrize(
    "outcome, ms, limit, seconds",
    [
        ("ANSWER", 3506, 5, 4),  # a started second is billed
        ("ANSWER", 5004, 5, 5),  # L(5000) ends 4 ms late: capped at the authorized maximum
        ("ANSWER", 2003, 10800, 3),
        ("ANSWER", 1000, 60, 1),
        ("ANSWER", 0, 60, 0),
        ("BUSY", 0, 60, 0),
        ("CANCEL", 1500, 60, 0),  # an unanswered outcome is never billed, whatever the ms say
    ],
)
def test_billable_seconds(outcome, ms, limit, seconds):
    assert billable_seconds(CallResult("s", outcome, ms), limit) == seconds
