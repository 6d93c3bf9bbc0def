"""Run the benchmarks and print one table.

Each ``bench/bench_<name>.py`` defines ``run() -> list[Row]``; ``python -m bench lookup cards`` runs a subset.
Figures are measured on this machine in this run, bounds included, since machines are noisy. Each benchmark runs
in a process of its own, so none measures a heap, caches or threads another left behind (the SQL rate lookup
measured 44 % of its bound after the 1M-card authorization bench in the same process, 62 % alone).
"""

from __future__ import annotations

import dataclasses
import importlib
import json
import pkgutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.common import Row

ONE = "--one"  # ``python -m bench --one bench_x FILE``: run that module here, its rows to FILE as JSON


def main(names: list[str]) -> int:
    if names[:1] == [ONE]:
        measured = importlib.import_module(f"bench.{names[1]}").run()
        Path(names[2]).write_text(json.dumps([dataclasses.astuple(row) for row in measured]))
        return 0
    modules = sorted(m.name for m in pkgutil.iter_modules([str(Path(__file__).parent)]) if m.name.startswith("bench_"))
    chosen = [m for m in modules if not names or m.removeprefix("bench_") in names]
    if not chosen:
        print(f"no benchmark named {' '.join(names)}; have: {' '.join(m[6:] for m in modules)}", file=sys.stderr)
        return 2
    rows: list[Row] = []
    failed = []
    with tempfile.TemporaryDirectory(prefix="bench_rows_") as folder:
        for name in chosen:
            began = time.perf_counter()
            print(f"running {name} ...", file=sys.stderr, flush=True)
            out = Path(folder) / f"{name}.json"
            if subprocess.run([sys.executable, "-m", "bench", ONE, name, str(out)]).returncode:
                failed.append(name)
                continue
            rows.extend(Row(*cells) for cells in json.loads(out.read_text()))
            print(f"  {name} took {time.perf_counter() - began:.1f} s", file=sys.stderr, flush=True)
    print_table(rows)
    if failed:
        print(f"failed (their rows are left out): {' '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


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
