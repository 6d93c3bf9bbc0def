"""What the benchmarks share: the row they report and a timer."""

from __future__ import annotations

import time
from contextlib import contextmanager
from dataclasses import dataclass


@dataclass(frozen=True)
class Row:
    benchmark: str  # e.g. "rate lookup"
    measure: str  # e.g. "asteriskbill rates_for_number + select_rate"
    figure: str  # e.g. "31,200 lookups/s"
    note: str = ""  # e.g. "bound: dict probe 170,000/s"


@contextmanager
def timer():
    """``with timer() as t: ...`` then ``t()`` is the elapsed seconds."""
    began = time.perf_counter()
    ended: list[float] = []
    yield lambda: (ended[0] if ended else time.perf_counter()) - began
    ended.append(time.perf_counter())


def per_second(count: int, seconds: float, unit: str) -> str:
    return f"{count / seconds:,.0f} {unit}/s"
