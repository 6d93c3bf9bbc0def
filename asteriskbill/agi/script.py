"""Process-per-call AGI: the console scripts ``asteriskbill-card`` / ``asteriskbill-ext`` / ``asteriskbill-in`` run
one call over stdin/stdout, relayed to the running ``serve`` when it answers (agi/relay.py), else in this process
(``main``; ``python -m asteriskbill.agi.script card|ext|in`` always runs it here).

Settings come from the config file and ASTERISKBILL_* variables, as for every command. SIGHUP (Asterisk's
hang-up) is ignored from the entry function's first statement, as ``trap "" HUP`` did in the shell wrappers,
until the relay or ``stdio.run`` turns it into a hang-up. Everything heavier is imported after that, so when
Asterisk starts a console script directly only the interpreter's own start-up is unprotected (agi-bin/'s
wrappers trap it before that too).
"""

from __future__ import annotations

import signal
import sys

TYPE_CHECKING = False  # typing costs milliseconds at every agi-bin start: it is for the annotations only
if TYPE_CHECKING:
    from typing import BinaryIO


def main(argv: list[str], stdin: BinaryIO | None = None) -> int:
    """Run the app named by ``argv[0]`` (``card``, ``ext`` or ``in``; the AGI arguments follow) for the call on
    stdin (or ``stdin``: the relay's replay of what it read) and stdout; returns the exit status."""
    if not argv or argv[0] not in ("card", "ext", "in"):  # the AGI arguments follow; they come in the env block too
        print("usage: python -m asteriskbill.agi.script card|ext|in", file=sys.stderr)
        return 2
    from asteriskbill.agi import stdio
    from asteriskbill.agi.apps import BillingApps
    from asteriskbill.errors import UserError
    from asteriskbill.settings import load
    from asteriskbill.store.ready import connect

    try:
        settings = load()
        engine = connect(settings)  # refused unless `asteriskbill init` made it at this code's schema
    except UserError as exc:  # bad settings, or a database not ready or out of reach: one line for the log
        print(f"asteriskbill-{argv[0]}: error: {exc}", file=sys.stderr)
        return 1
    try:
        app = BillingApps(engine, settings).apps[argv[0]]
        return stdio.run(app, stdin=stdin, reply_timeout=settings.agi_reply_timeout)
    finally:
        engine.dispose()


def _ignore_sighup() -> None:
    # SIGHUP's default action kills the process: before stdio.run handles it, a hang-up must not stop the
    # script half-way (settings read, engine opened), so it is ignored like the shell's `trap "" HUP`
    signal.signal(signal.SIGHUP, signal.SIG_IGN)


def _relayed(app: str) -> int:
    from asteriskbill.agi import relay

    return relay.run(app, sys.argv[1:], main)


def card() -> int:
    """Console script ``asteriskbill-card``: ``AGI(/path/to/asteriskbill-card)``."""
    _ignore_sighup()
    return _relayed("card")


def ext() -> int:
    """Console script ``asteriskbill-ext``: ``AGI(/path/to/asteriskbill-ext[,NUMBER])``."""
    _ignore_sighup()
    return _relayed("ext")


def incoming() -> int:
    """Console script ``asteriskbill-in``: ``AGI(/path/to/asteriskbill-in[,NUMBER])``, a call to NUMBER of ours."""
    _ignore_sighup()
    return _relayed("in")


if __name__ == "__main__":
    _ignore_sighup()
    sys.exit(main(sys.argv[1:]))
