"""CDRs as a sheet: the columns and cells of `asteriskbill cdr export` (the keys of `cdr list --json`), which the
console's calls page exports too, so both write the same file for the same filters."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime

from sqlalchemy import Engine

from asteriskbill.errors import UserError
from asteriskbill.money import format_amount
from asteriskbill.services import cdrs
from asteriskbill.services.sheet_cells import Kind

# In the order of ``cdr_row``.
COLUMNS = (
    "session",
    "server",
    "uniqueid",
    "linkedid",
    "account",
    "account_kind",
    "company",
    "callerid",
    "dialled",
    "number",
    "destination",
    "call_class",
    "started_at",
    "answered_at",
    "ended_at",
    "billable_ms",
    "billed_seconds",
    "outcome",
    "hangup_cause",
    "prefix",
    "cost",
    "buy_cost",
    "margin",
    "buy_note",
    "currency",
    "source",
)
TYPES = {
    **dict.fromkeys(("started_at", "answered_at", "ended_at"), Kind.MOMENT),
    **dict.fromkeys(("billable_ms", "billed_seconds"), Kind.INTEGER),
    **dict.fromkeys(("cost", "buy_cost", "margin"), Kind.AMOUNT),
}  # the other columns are text (sheet_cells)
XLSX_MAX_ROWS = 1_048_575  # a worksheet's rows, less the header


def _amount(value: int | None) -> str | None:
    return None if value is None else format_amount(value)


def _stamp(moment: datetime | None) -> str:
    """To the second, with its UTC offset; "" for none."""
    return "" if moment is None else moment.isoformat(timespec="seconds")


def cdr_row(c: cdrs.CdrView) -> list:
    """One CDR's cells; spelled out, as an export calls it a million times."""
    return [
        c.session,
        c.server,
        c.uniqueid,
        c.linkedid,
        c.account,
        c.account_kind,
        c.company,
        c.callerid,
        c.dialled,
        c.number,
        c.destination,
        c.call_class,
        _stamp(c.started_at),
        _stamp(c.answered_at),
        _stamp(c.ended_at),
        c.billable_ms,
        c.billed_seconds,
        c.outcome,
        c.hangup_cause,
        c.prefix,
        format_amount(c.cost),
        *_buy_cells(c),
        c.currency,
        c.source,
    ]


def _buy_cells(c: cdrs.CdrView) -> tuple:
    """buy_cost and margin in the CDR's currency, and buy_note: why they are empty although the rate
    has a buy price (no rate yet for that currency on the call's day)."""
    if c.buy_currency is None or c.buy_cost is None:
        return _amount(c.buy_cost), _amount(c.margin), None
    return (
        None,
        None,
        (
            f"{format_amount(c.buy_cost)} {c.buy_currency}: no {c.buy_currency} {c.currency} "
            "rate for the call's day (asteriskbill currency set-rate)"
        ),
    )


def cdr_dict(c: cdrs.CdrView) -> dict:
    return dict(zip(COLUMNS, cdr_row(c), strict=True))


@contextmanager
def export_rows(engine: Engine, f: cdrs.Filters, xlsx: bool) -> Iterator[tuple[int, Iterator[list]]]:
    """``(how many, their rows of cells)``: the CDRs the filters choose, streamed from one snapshot; refused
    before a row is written when ``xlsx`` and they would not fit in one worksheet."""
    with cdrs.stream(engine, f) as (total, found):
        if xlsx and total > XLSX_MAX_ROWS:
            raise UserError(
                f"{total:,} CDRs do not fit in one XLSX sheet ({XLSX_MAX_ROWS:,} rows at most): "
                "use a .csv file, or fewer CDRs (a shorter period, a limit)"
            )
        yield total, map(cdr_row, found)
