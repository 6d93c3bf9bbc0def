"""Sorting more rows than memory should hold: sorted runs spilled to a temporary file, merged back in order."""

from __future__ import annotations

import pickle
import tempfile
from bisect import bisect_left
from collections.abc import Callable, Iterator
from itertools import chain
from typing import IO, Any

CHUNK = 2_000  # rows per pickle: a spilled run is read back a chunk at a time


class SortedRuns:
    """Rows added in any order, given back sorted by ``key``, stably (rows of equal keys in the order added).

    At most ``run`` rows are held in memory: each full run is sorted and spilled to an anonymous temporary
    file (gone when closed, or when the process dies), and the runs are merged as they are read back, a
    chunk or two of each at a time. Rows are pickled: tuples of plain values."""

    def __init__(self, key: Callable[[Any], Any], run: int, chunk: int = CHUNK):
        self.key = key
        self.run = run
        self.chunk = chunk
        self.pending: list = []
        self.spilled: list[list[int]] = []  # each spilled run: the offsets of its chunks
        self.file: IO[bytes] | None = None
        self.spilled_rows = 0

    def add(self, row: Any) -> None:
        if len(self.pending) == self.run:  # a full run is spilled only when more come: a single run stays
            self._spill()
        self.pending.append(row)

    def __len__(self) -> int:
        return self.spilled_rows + len(self.pending)

    def __iter__(self) -> Iterator:
        self.pending.sort(key=self.key)
        sources = [self._chunks(offsets) for offsets in self.spilled]
        if self.pending:
            sources.append(iter([self.pending]))
        return chain.from_iterable(_merged(sources, self.key))

    def _spill(self) -> None:
        if self.file is None:
            self.file = tempfile.TemporaryFile(prefix="asteriskbill-sort-")  # noqa: SIM115  # closed by close()
        self.pending.sort(key=self.key)
        offsets = []
        for start in range(0, len(self.pending), self.chunk):
            offsets.append(self.file.tell())
            pickler = pickle.Pickler(self.file, pickle.HIGHEST_PROTOCOL)
            pickler.fast = True  # no memo: rows share no objects worth a reference (a third faster)
            pickler.dump(self.pending[start : start + self.chunk])
        self.spilled.append(offsets)
        self.spilled_rows += len(self.pending)
        self.pending = []

    def _chunks(self, offsets: list[int]) -> Iterator[list]:
        assert self.file is not None
        for offset in offsets:
            self.file.seek(offset)
            yield pickle.load(self.file)  # our own rows, written above

    def close(self) -> None:
        if self.file is not None:
            self.file.close()

    def __enter__(self) -> SortedRuns:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()


def _merged(sources: list[Iterator[list]], key: Callable[[Any], Any]) -> Iterator[list]:
    """The rows of sorted sources (each a series of sorted, non-empty chunks) merged, stably, in sorted blocks.

    Each round takes from every source the rows below the smallest last key that a source still loading
    holds (no row it has yet to load sorts below its last one) and sorts them together: Python's sort merges
    such sorted stretches at C speed, where a heap would take a Python step for each row."""
    held = [next(source) for source in sources]
    start = [0] * len(sources)  # of each source's rows held, those before are given out
    loading = set(range(len(sources)))
    while True:
        bound = min((key(held[i][-1]) for i in loading), default=None)
        block: list = []
        for i, rows in enumerate(held):
            cut = len(rows) if bound is None else bisect_left(rows, bound, start[i], key=key)
            block += rows[start[i] : cut]
            start[i] = cut
        block.sort(key=key)  # stable: rows of equal keys in the order of their sources
        if block:
            yield block
        if bound is None:
            return
        for i in [i for i in loading if key(held[i][-1]) == bound]:
            chunk = next(sources[i], None)
            if chunk is None:
                loading.discard(i)
            else:
                held[i], start[i] = held[i][start[i] :] + chunk, 0
