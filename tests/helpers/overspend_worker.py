"""One process of the parallel-authorization tests: connect, say so, wait for the start file, authorize once.

``python -m tests.helpers.overspend_worker DB ACCOUNT_ID READY_FILE GO_FILE NUMBER SLICE_SECONDS``: READY_FILE
is created once connected; the test creates GO_FILE when every worker is ready, so that all race for the same
moment. With SLICE_SECONDS > 0 a granted call then holds one slice at a time: it extends its hold a random number
of times (while the others authorize, extend and settle), looking after each extension at what the account's open
calls hold against its money, and settles at a random talk time within what it held (half of the time, all of it).
"""

import json
import random
import sys
import time
from pathlib import Path

from sqlalchemy import func, select

from asteriskbill.billing.authorize import BillStatus
from asteriskbill.billing.reservation import OPEN
from asteriskbill.billing.settle import ANSWER, CallResult
from asteriskbill.services import lifecycle, slices
from asteriskbill.settings import load
from asteriskbill.store.engine import make_engine, reading
from asteriskbill.store.models import Account, Reservation

db, account_id, ready, go = sys.argv[1], int(sys.argv[2]), Path(sys.argv[3]), Path(sys.argv[4])
number, slice_seconds = sys.argv[5], int(sys.argv[6])
settings = load(db=db)
engine = make_engine(settings)
# balance + credit limit - what the open calls hold, in ONE statement (one snapshot): never below 0
_FREE = select(
    Account.balance
    + Account.credit_limit
    - select(func.coalesce(func.sum(Reservation.amount), 0))
    .where(Reservation.account_id == Account.id, Reservation.status == OPEN)
    .scalar_subquery()
).where(Account.id == account_id)


def free() -> int:
    with reading(engine) as conn:
        return int(conn.execute(_FREE).scalar_one())  # PostgreSQL sums to a Decimal


with engine.connect():
    pass  # connected before the start, so that the race is about authorizing, not about starting
ready.touch()
deadline = time.monotonic() + 60
while not go.exists():
    if time.monotonic() > deadline:
        sys.exit(f"{go} did not appear within 60 s")
    time.sleep(0.005)
result = lifecycle.authorize(engine, settings, account_id, number, slice_seconds=slice_seconds)
report = {"status": result.status.value, "amount": result.amount}
if slice_seconds and result.status is BillStatus.OK:
    chance = random.Random(ready.name)  # reproducible per worker
    extensions, lowest = 0, free()
    for _ in range(chance.randint(0, 40)):
        if slices.extend(engine, result.session, slice_seconds) is None:
            break
        extensions, lowest = extensions + 1, min(lowest, free())
    with reading(engine) as conn:
        held, amount = conn.execute(
            select(Reservation.held_seconds, Reservation.amount).where(Reservation.session == result.session)
        ).one()
    talked_ms = chance.choice([held * 1000, chance.randint(0, held * 1000)])  # often all it holds
    settled = lifecycle.settle(engine, CallResult(result.session, ANSWER, talked_ms))
    report |= {"extensions": extensions, "lowest_free": lowest, "held": amount, "charged": settled.cost}
print(json.dumps(report))
