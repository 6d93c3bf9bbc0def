"""An AGI program on the Channel API that issues, in order, the commands of a captured transcript.

Each recorded command goes through the Channel method that produces it (``answer()``, ``get_data()`` ...),
so a byte-exact replay proves the API writes what the captured program wrote and survives every reply.
Two kinds go through the raw ``channel.command()`` instead: wrong usage / unknown commands (no method
writes them), and media commands answered ``result=-1`` with no samples played, where the methods would
add a CHANNEL STATUS probe to tell a hang-up from a missing prompt (tested with the scripted peer).
"""

from __future__ import annotations

import re
from pathlib import Path

from asteriskbill.agi.channel import Channel
from asteriskbill.agi.peer import read_transcript
from asteriskbill.agi.protocol import AgiError, Env, decode_line, parse_command

METHODS = {
    "ANSWER": lambda ch, a: ch.answer(),
    "CHANNEL STATUS": lambda ch, a: ch.channel_status(),
    "VERBOSE": lambda ch, a: ch.verbose(a[0], int(a[1])),
    "STREAM FILE": lambda ch, a: ch.stream_file(a[0], a[1]),
    "GET DATA": lambda ch, a: ch.get_data(a[0], int(a[1]), int(a[2])),
    "WAIT FOR DIGIT": lambda ch, a: ch.wait_for_digit(int(a[0])),
    "SAY NUMBER": lambda ch, a: ch.say_number(int(a[0]), a[1]),
    "SAY DIGITS": lambda ch, a: ch.say_digits(a[0], a[1]),
    "SET VARIABLE": lambda ch, a: ch.set_variable(a[0], a[1]),
    "GET VARIABLE": lambda ch, a: ch.get_variable(a[0]),
    "GET FULL VARIABLE": lambda ch, a: ch.get_full_variable(a[0]),
    "EXEC": lambda ch, a: ch.exec(a[0], *a[1:]),
    "SET AUTOHANGUP": lambda ch, a: ch.set_autohangup(int(a[0])),
    "DATABASE PUT": lambda ch, a: ch.database_put(a[0], a[1], a[2]),
    "DATABASE GET": lambda ch, a: ch.database_get(a[0], a[1]),
    "DATABASE DEL": lambda ch, a: ch.database_del(a[0], a[1]),
    "NOOP": lambda ch, a: ch.noop(),
    "HANGUP": lambda ch, a: ch.hangup(),
}


def recorded_commands(path: str | Path) -> list[tuple[str, str | None]]:
    """Each command the program sent, with the first reply line that followed it (None if none)."""
    lines = read_transcript(path)
    commands = []
    for index, line in enumerate(lines):
        if line.direction != ">":
            continue
        replies = (decode_line(later.data) for later in lines[index + 1 :] if later.direction != "*")
        reply = next((r for r in replies if r != "HANGUP"), None)
        commands.append((decode_line(line.data), reply))
    return commands


def exit_status(path: str | Path) -> int:
    """The exit status the captured program ended with (stdio transcripts say so in a note)."""
    notes = [line.data for line in read_transcript(path) if line.direction == "*"]
    found = [int(m[1]) for note in notes if (m := re.search(r"exits with status (\d+)", note))]
    return found[-1] if found else 0


def _method(words: list[str]):
    for size in (3, 2, 1):
        name = " ".join(words[:size]).upper()
        if name in METHODS:
            return METHODS[name], words[size:]
    return None, words


def make_app(path: str | Path, outcomes: list | None = None):
    """The program for one transcript; ``outcomes`` collects (command, result or exception) pairs."""
    commands = recorded_commands(path)
    outcomes = [] if outcomes is None else outcomes

    async def app(channel: Channel, env: Env) -> None:
        for command, reply in commands:
            words = parse_command(command)
            method, args = _method(words)
            ambiguous = reply is not None and re.fullmatch(r"200 result=-1( endpos=0)?", reply)
            try:
                call = method(channel, args) if method and not ambiguous else None
            except (IndexError, ValueError):
                call = None
            try:
                outcomes.append((command, await (call or channel.command(*words))))
            except AgiError as exc:
                outcomes.append((command, exc))

    return app
