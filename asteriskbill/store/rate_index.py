"""A tariff's rates in memory, by prefix: `serve`'s longest-prefix lookup in a few dict probes.

Each prefix with rates maps to its whole answer: what ``rates_for_number`` gives for a number whose longest
prefix with rates it is — its own rates and, unless one of them is valid at every moment (which shadows every
shorter prefix), the answer of its own longest prefix with rates, in id order. A lookup is then the first hit
probing the number longest first, like a plain dict probe. Most prefixes have one rate: kept bare, not in a
1-tuple (56 bytes each, a million of them).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from itertools import groupby
from operator import itemgetter

from sqlalchemy import Engine, bindparam, select

from asteriskbill.rating.model import Rate
from asteriskbill.store.engine import reading
from asteriskbill.store.models import RateRow
from asteriskbill.store.models import Tariff as TariffRow
from asteriskbill.store.tariffs import RATE_COLUMNS, Shared, always_valid, in_effect, rate_of

STOP_EVERY = 10_000  # rows between two looks at ``stop`` while building
Answer = Rate | tuple[Rate, ...]
_ID, _PREFIX = 0, 1  # the loaded rows: id, then RATE_COLUMNS
_by_id = itemgetter(0)


class RateIndex:
    """The rates of one revision of a tariff's rates in effect, answering as ``rates_for_number``."""

    __slots__ = ("_answers", "revision")

    def __init__(self, revision: int, answers: dict[str, Answer]):
        self.revision = revision
        self._answers = answers

    def rates(self, number: str) -> tuple[Rate, ...]:
        answers = self._answers
        for length in range(len(number), 0, -1):
            prefix = number[:length]
            if prefix in answers:  # an operator, not a call: most probes miss
                found = answers[prefix]
                return (found,) if isinstance(found, Rate) else found
        return ()

    def __len__(self) -> int:
        return len(self._answers)


class Stopped(Exception):
    """The build was asked to stop (the server is stopping)."""


def build(revision: int, rows: Iterable[Sequence], stop: Callable[[], bool] = lambda: False) -> RateIndex:
    """The index of ``rows`` (id, then RATE_COLUMNS), ordered by prefix then id: a prefix's own prefixes come
    before it, so ``chain`` holds them, each with its answer as (id, rate) pairs."""
    shared = Shared()
    answers: dict[str, Answer] = {}
    chain: list[tuple[str, list[tuple[int, Rate]]]] = []
    seen = 0
    for prefix, group in groupby(rows, key=itemgetter(_PREFIX)):
        own = list(group)
        seen += len(own)
        if seen >= STOP_EVERY:
            if stop():
                raise Stopped
            seen = 0
        while chain and not prefix.startswith(chain[-1][0]):
            chain.pop()
        values = [row[_PREFIX:] for row in own]
        answer = [(row[_ID], rate_of(value, shared)) for row, value in zip(own, values, strict=True)]
        if chain and not any(always_valid(value) for value in values):
            answer = sorted(answer + chain[-1][1], key=_by_id)
        answers[prefix] = answer[0][1] if len(answer) == 1 else tuple(rate for _, rate in answer)
        chain.append((prefix, answer))
    return RateIndex(revision, answers)


_REVISION = select(TariffRow.rates_revision).where(TariffRow.id == bindparam("tariff_id"))
_IN_EFFECT = (
    in_effect(select(RateRow.id, *[RateRow.__table__.c[name] for name in RATE_COLUMNS]))
    .where(RateRow.tariff_id == bindparam("tariff_id"))
    .order_by(RateRow.prefix, RateRow.id)
)


def load(engine: Engine, tariff_id: int, stop: Callable[[], bool] = lambda: False) -> RateIndex | None:
    """The index of the tariff's rates in effect now (None: no such tariff), read in one transaction of its own.

    The revision is read again after the rows: on PostgreSQL each statement sees what was committed before it,
    and an import switched in between would label the rows read with the wrong revision; then it reads again.
    """
    parameters = {"tariff_id": tariff_id}
    while True:
        with reading(engine) as conn:
            revision = conn.execute(_REVISION, parameters).scalar()
            if revision is None:
                return None
            rows = conn.execution_options(stream_results=True, yield_per=STOP_EVERY).execute(_IN_EFFECT, parameters)
            index = build(revision, rows, stop)
            if conn.execute(_REVISION, parameters).scalar() == revision:
                return index
