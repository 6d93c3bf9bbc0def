"""Run the benchmarks and print one table.

Each ``bench/bench_<name>.py`` defines ``run() -> list[Row]``; ``python -m bench lookup cards`` runs a subset.
Figures are measured on this machine in this run, bounds included, since machines are noisy.
"""

from __future__ import annotations

import importlib
import pkgutil
import sys
import time
from pathlib import Path

from bench.common import Row


def main(names: list[str]) -> int:
    modules = sorted(m.name for m in pkgutil.iter_modules([str(Path(__file__).parent)]) if m.name.startswith("bench_"))
    chosen = [m for m in modules if not names or m.removeprefix("bench_") in names]
    if not chosen:
        print(f"no benchmark named {' '.join(names)}; have: {' '.join(m[6:] for m in modules)}", file=sys.stderr)
        return 2
    rows: list[Row] = []
    for name in chosen:
        began = time.perf_counter()
        print(f"running {name} ...", file=sys.stderr, flush=True)
        rows.extend(importlib.import_module(f"bench.{name}").run())
        print(f"  {name} took {time.perf_counter() - began:.1f} s", file=sys.stderr, flush=True)
    print_table(rows)
    return 0


def print_table(rows: list[Row]) -> None:
    header = ("benchmark", "measure", "figure", "note")
    cells = [header] + [(r.benchmark, r.measure, r.figure, r.note) for r in rows]
    widths = [max(len(c[i]) for c in cells) for i in range(4)]
    for index, cell in enumerate(cells):
        print("| " + " | ".join(v.ljust(w) for v, w in zip(cell, widths, strict=True)) + " |")
        if index == 0:
            print("|" + "|".join("-" * (w + 2) for w in widths) + "|")


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
