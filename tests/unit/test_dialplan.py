"""dialplan/extensions_asteriskbill.conf: well formed, and speaking the AGI's and the listener's language.

No Asterisk runs here to `dialplan reload` it, so this reads it as Asterisk's pbx_config would: contexts,
`exten =>`/`same =>` lines, priorities and labels, application calls with balanced parentheses.
"""

import re

from asteriskbill.agi.apps import APP_NAMES
from tests.helpers import ASTERISK, ROOT

DIALPLAN = ROOT / "dialplan" / "extensions_asteriskbill.conf"
CAPTURE = ASTERISK / "extensions_capture.conf"
APPLICATIONS = {"NoOp", "Set", "AGI", "GotoIf", "Dial", "Hangup", "Playback", "UserEvent", "Return"}
LINE = re.compile(r"^(?:exten => (?P<exten>[^,]+),1|\s*same => n)(?:\((?P<label>\w+)\))?,(?P<app>\w+)\((?P<args>.*)\)$")


def contexts() -> dict[str, list[dict]]:
    found: dict[str, list[dict]] = {}
    current = None
    for raw in DIALPLAN.read_text().splitlines():
        line = raw.split(";", 1)[0].rstrip()
        if not line.strip():
            continue
        if line.startswith("["):
            current = found.setdefault(line.strip("[]"), [])
            continue
        match = LINE.match(line)
        assert match, f"not a dialplan line: {raw!r}"
        assert current is not None, "a line before any context"
        current.append(match.groupdict())
    return found


def test_every_line_is_well_formed():
    for name, lines in contexts().items():
        assert lines and lines[0]["exten"], f"[{name}] must start with an exten => ...,1 line"
        labels = {line["label"] for line in lines if line["label"]}
        for line in lines:
            assert line["app"] in APPLICATIONS, line
            assert line["args"].count("(") == line["args"].count(")"), line
            assert line["args"].count("${") == line["args"].count("}"), line
            for target in re.findall(r"\?(\w+)\]?\)?$", line["args"]) if line["app"] == "GotoIf" else []:
                assert target in labels, f"GotoIf to a missing label {target} in [{name}]"


def test_it_uses_what_the_agi_sets_and_the_apps_that_exist():
    text = DIALPLAN.read_text()
    assert set(re.findall(r"\$\{(BILL_\w+)\}", text)) <= {
        "BILL_STATUS",
        "BILL_SESSION",
        "BILL_MAX_MS",
        "BILL_DIAL",
        "BILL_NUMBER",
    }
    assert set(re.findall(r"AGI\(agi://127\.0\.0\.1:4573/(\w+)", text)) <= set(APP_NAMES)
    assert "Dial(${BILL_DIAL},60,L(${BILL_MAX_MS}" in text


def test_the_hangup_handler_exists_and_speaks_like_the_captured_dialplan():
    found = contexts()
    for handler in re.findall(r"hangup_handler_push\)=([\w-]+),s,1", DIALPLAN.read_text()):
        assert handler in found
    [event] = [line["args"] for line in found["asteriskbill-hangup"] if line["app"] == "UserEvent"]
    captured = re.search(r"UserEvent\((asteriskbill,session: .*)\)$", CAPTURE.read_text(), re.M).group(1)
    assert event == captured  # the listener reads this UserEvent exactly as the captures show it
