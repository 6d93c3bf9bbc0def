"""agi-bin style program for the replay tests: ``python -m tests.helpers.agi_replay_program TRANSCRIPT [args...]``."""

import sys

from asteriskbill.agi import stdio
from tests.helpers.agi_replay_app import exit_status, make_app

status = stdio.run(make_app(sys.argv[1]))
sys.exit(status or exit_status(sys.argv[1]))
