"""`asteriskbill rates ...`: import, export and look up the rates of a tariff."""

from __future__ import annotations

import click


@click.group()
def rates() -> None:
    """Rates: prefixes of a tariff with their prices, increments and validity."""


COMMANDS = [rates]
