"""agi-bin style program for the replay tests: ``agi_replay_program.py TRANSCRIPT [AGI args...]``."""

import sys

from agi_replay_app import exit_status, make_app

from asteriskbill.agi import stdio

status = stdio.run(make_app(sys.argv[1]))
sys.exit(status or exit_status(sys.argv[1]))
