"""agi-bin style programs for the stdio tests: ``python -m tests.helpers.agi_stdio_apps NAME [AGI args...]``."""

import asyncio
import sys

from asteriskbill.agi import stdio
from asteriskbill.agi.protocol import CallerHangup, DeadChannel


async def card(channel, env):
    """Hang-up handling as the card IVR needs it; abort hooks report on stderr (the test reads it)."""
    channel.on_abort(lambda: print("released", file=sys.stderr))
    await channel.answer()
    try:
        number = await channel.get_data("enter-card", 5000, 16)
        await channel.set_variable("BILL_NUMBER", number.digits)
        await channel.stream_file("you-have")
        await channel.set_variable("BILL_STATUS", "OK")
    except CallerHangup:
        await channel.set_variable("BILL_STATUS", "HANGUP")


async def idle(channel, env):
    await channel.answer()
    await channel.set_variable("STEP", "1")  # the caller hangs up here: SIGHUP, then the reply
    await asyncio.wait_for(channel.hangup_event.wait(), 30)
    try:
        await channel.stream_file("beep")
    except DeadChannel:
        await channel.set_variable("BILL_STATUS", "HANGUP")


async def crash(channel, env):
    await channel.answer()
    raise RuntimeError("database is gone")


async def echo(channel, env):
    await channel.set_variable("ARGS", "|".join(env.args + tuple(sys.argv[2:])))


stdio.main({"card": card, "idle": idle, "crash": crash, "echo": echo}[sys.argv[1]])
