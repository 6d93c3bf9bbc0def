"""`asteriskbill batches ...`: the card batches generated, their face value and how many cards were used."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from asteriskbill.cli.common import App, echo_fields, echo_json, echo_table, json_option, money, pass_app, stamp
from asteriskbill.cli.lazy import LazyModule
from asteriskbill.money import format_amount

if TYPE_CHECKING:
    from asteriskbill.services import card_batches as service
else:
    service = LazyModule("asteriskbill.services.card_batches")


def batch_dict(batch: service.BatchView) -> dict:
    return {
        "id": batch.id,
        "name": batch.name,
        "created_at": stamp(batch.created_at),
        "count": batch.count,
        "face_value": format_amount(batch.face_value),
        "currency": batch.currency,
        "tariff": batch.tariff,
        "activation": batch.activation,
        "valid_days": batch.valid_days,
        "expires_at": stamp(batch.expires_at),
        "used": batch.used,
        "deleted": batch.deleted,
        "operator": batch.operator,
    }


@click.group()
def batches() -> None:
    """Card batches: the cards generated together, with their face value."""


@batches.command(name="list")
@json_option
@pass_app
def list_(app: App, as_json: bool) -> None:
    """List the batches: creation date, count, face value and how many cards were used.

    Example:

        asteriskbill batches list
    """
    found = service.list_batches(app.engine)
    if as_json:
        echo_json([batch_dict(b) for b in found])
        return
    echo_table(
        [
            {
                **batch_dict(b),
                "face_value": money(b.face_value, b.currency),
                "validity": service.validity_text(b.valid_days, b.expires_at),
            }
            for b in found
        ],
        ["id", "name", "created_at", "count", "face_value", "tariff", "activation", "validity", "used", "deleted"],
    )


@batches.command()
@click.argument("batch", metavar="NAME|ID")
@json_option
@pass_app
def show(app: App, batch: str, as_json: bool) -> None:
    """Show one batch (by name or id).

    Example:

        asteriskbill batches show batch-3
    """
    found = service.show_batch(app.engine, batch)
    if as_json:
        echo_json(batch_dict(found))
        return
    data = {
        **batch_dict(found),
        "face_value": money(found.face_value, found.currency),
        "validity": service.validity_text(found.valid_days, found.expires_at),
    }
    echo_fields(
        data,
        (
            "id",
            "name",
            "created_at",
            "operator",
            "count",
            "face_value",
            "tariff",
            "activation",
            "validity",
            "used",
            "deleted",
        ),
    )


COMMANDS = [batches]
