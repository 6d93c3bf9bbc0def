"""agi-bin entry: `python -m asteriskbill.agi.script card|ext` runs one call over stdin/stdout.

Settings come from the config file and ASTERISKBILL_* variables, as for every command.
"""

from __future__ import annotations

import sys

from asteriskbill.agi import stdio


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in ("card", "ext"):  # the AGI arguments follow; they come in the env block too
        print("usage: python -m asteriskbill.agi.script card|ext", file=sys.stderr)
        return 2
    from asteriskbill.agi.apps import BillingApps
    from asteriskbill.settings import load
    from asteriskbill.store.engine import make_engine

    settings = load()
    engine = make_engine(settings)
    try:
        return stdio.run(BillingApps(engine, settings).apps[argv[0]])
    finally:
        engine.dispose()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
