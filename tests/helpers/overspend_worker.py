"""One process of the parallel-authorization test: connect, say so, wait for the start file, authorize once.

``python -m tests.helpers.overspend_worker DB ACCOUNT_ID READY_FILE GO_FILE``: READY_FILE is created once
connected; the test creates GO_FILE when every worker is ready, so that all race for the same moment.
"""

import json
import sys
import time
from pathlib import Path

from asteriskbill.services import calls
from asteriskbill.settings import load
from asteriskbill.store.engine import make_engine

db, account_id, ready, go = sys.argv[1], int(sys.argv[2]), Path(sys.argv[3]), Path(sys.argv[4])
settings = load(db=db)
engine = make_engine(settings)
with engine.connect():
    pass  # connected before the start, so that the race is about authorizing, not about starting
ready.touch()
deadline = time.monotonic() + 60
while not go.exists():
    if time.monotonic() > deadline:
        sys.exit(f"{go} did not appear within 60 s")
    time.sleep(0.005)
result = calls.authorize(engine, settings, account_id, "00442071234567")
print(json.dumps({"status": result.status.value, "amount": result.amount}))
