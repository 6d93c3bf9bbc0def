"""One process of the parallel-authorization test: get ready, wait for the start file, authorize once."""

import json
import sys
import time
from pathlib import Path

from asteriskbill.services import calls
from asteriskbill.settings import load
from asteriskbill.store.engine import make_engine

db, account_id, go = sys.argv[1], int(sys.argv[2]), Path(sys.argv[3])
settings = load(db=db)
engine = make_engine(settings)
with engine.connect():
    pass  # connected before the start, so that all processes race for the same moment
deadline = time.monotonic() + 60
while not go.exists() and time.monotonic() < deadline:
    time.sleep(0.005)
result = calls.authorize(engine, settings, account_id, "00442071234567")
print(json.dumps({"status": result.status.value, "amount": result.amount}))
