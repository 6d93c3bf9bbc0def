"""Start-up kept light: a command module is imported only when one of its commands runs or shows its help, and
the services a command module names only when a command uses them. `asteriskbill --help` would otherwise
import SQLAlchemy, its models, openpyxl and every service (~0.6 s) to print a page of text."""

from __future__ import annotations

import importlib
from collections.abc import Iterator, Mapping, MutableMapping
from typing import Any

import click


class LazyCommands(MutableMapping[str, click.Command]):
    """A group's commands (click.Group.commands is any MutableMapping), each given as the module that defines it
    until it is first looked up: listing the names imports nothing, as `--help` of another group needs."""

    def __init__(self, modules: Mapping[str, str]) -> None:
        self._entries: dict[str, click.Command | str] = dict(modules)

    def __getitem__(self, name: str) -> click.Command:
        entry = self._entries[name]
        if isinstance(entry, str):
            module = importlib.import_module(entry)
            entry = self._entries[name] = next(c for c in module.COMMANDS if c.name == name)
        return entry

    def __setitem__(self, name: str, command: click.Command) -> None:
        self._entries[name] = command

    def __delitem__(self, name: str) -> None:
        del self._entries[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._entries)

    def __len__(self) -> int:
        return len(self._entries)


class LazyModule:
    """Stands for a module, imported when an attribute is first read. Each read goes to the real module, so
    what a test patches there is seen. Use it with the real import under TYPE_CHECKING for the type checker:

        if TYPE_CHECKING:
            from asteriskbill.services import cards as service
        else:
            service = LazyModule("asteriskbill.services.cards")
    """

    def __init__(self, name: str) -> None:
        self._name = name

    def __getattr__(self, attribute: str) -> Any:
        return getattr(importlib.import_module(self._name), attribute)

    def __repr__(self) -> str:
        return f"<lazy module {self._name!r}>"
