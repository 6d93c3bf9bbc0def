"""CDRs as a sheet: the columns and cells of `asteriskbill cdr export` (the keys of `cdr list --json`), which the
console's calls page exports too, so both write the same file for the same filters."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import fields
from datetime import datetime
from functools import lru_cache
from operator import attrgetter

from sqlalchemy import Engine

from asteriskbill.errors import UserError
from asteriskbill.money import format_amount
from asteriskbill.services import cdrs
from asteriskbill.services.sheet_cells import Kind
from asteriskbill.store.types import utc

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
    "trunk",  # the trunk that carried the call, and the vendor whose buy cost it is: last, where they came
    "vendor",
    "paid_by",  # the account debited: the caller's own, or its company's pool
    "direction",  # out: the account called; in: it was called (number: the caller's)
    "bundle_seconds",  # of a bundle of minutes, used before the balance: cost is what the balance paid
    "bundle_amount",  # of a money bundle, likewise
)
TYPES = {
    **dict.fromkeys(("started_at", "answered_at", "ended_at"), Kind.MOMENT),
    **dict.fromkeys(("billable_ms", "billed_seconds", "bundle_seconds"), Kind.INTEGER),
    **dict.fromkeys(("cost", "buy_cost", "margin", "bundle_amount"), Kind.AMOUNT),
}  # the other columns are text (sheet_cells)
XLSX_MAX_ROWS = 1_048_575  # a worksheet's rows, less the header


def cdr_row(c: cdrs.CdrView) -> list:
    """One CDR's cells as `cdr list --json` gives them: integers as such, None for no value ("" for no moment)."""
    return _cells(_FIELDS(c), int, None)


def cdr_dict(c: cdrs.CdrView) -> dict:
    return dict(zip(COLUMNS, cdr_row(c), strict=True))


_FIELDS = attrgetter(*(f.name for f in fields(cdrs.CdrView)))
# Amounts repeat (a few rates times whole seconds or minutes): an export formats each once, not a million times
_amount = lru_cache(maxsize=1 << 14, typed=True)(format_amount)  # typed: 1.0 is no amount


def _cells(row: Sequence, integer: Callable[[int], object] = str, blank: str | None = "") -> list:
    """A CDR's cells from its CdrView fields, raw or not (its buy cost converted where it can be): its integers
    made cells by ``integer``, ``blank`` where it has no value; by default text, which CSV writes as it is.
    Spelled out, as an export calls it a million times."""
    (
        session,
        account,
        account_kind,
        company,
        callerid,
        dialled,
        number,
        destination,
        call_class,
        server,
        uniqueid,
        linkedid,
        started_at,
        answered_at,
        ended_at,
        billable_ms,
        billed_seconds,
        outcome,
        hangup_cause,
        prefix,
        cost,
        buy_cost,
        buy_currency,
        currency,
        source,
        _id,
        trunk,
        vendor,
        paid_by,
        direction,
        bundle_seconds,
        bundle_amount,
    ) = row
    if buy_cost is None:
        buy = margin = note = blank
    elif buy_currency is None:  # in the CDR's currency
        buy, margin, note = _amount(buy_cost), _amount(cost - buy_cost), blank
    else:  # why buy_cost and margin are empty although the rate has a buy price
        buy = margin = blank
        note = (
            f"{_amount(buy_cost)} {buy_currency}: no {buy_currency} {currency} "
            "rate for the call's day (asteriskbill currency set-rate)"
        )
    return [
        session,
        server,
        uniqueid,
        linkedid,
        account,
        account_kind,
        blank if company is None else company,
        callerid,
        dialled,
        number,
        destination,
        call_class,
        _stamp(started_at),
        _stamp(answered_at),
        _stamp(ended_at),
        integer(billable_ms),
        integer(billed_seconds),
        outcome,
        hangup_cause,
        prefix,
        _amount(cost),
        buy,
        margin,
        note,
        currency,
        source,
        blank if trunk is None else trunk,
        blank if vendor is None else vendor,
        blank if paid_by is None else paid_by,
        direction,
        integer(bundle_seconds),
        _amount(bundle_amount),
    ]


def _stamp(moment: datetime | str | None) -> str:
    """To the second, with its UTC offset; "" for none. SQLite's text as it stores it (UTC, to the microsecond) is
    cut and joined as it is: no datetime made and formatted three times per CDR."""
    if type(moment) is str and len(moment) == 26 and moment[10] == " " and moment[19] == ".":
        return f"{moment[:10]}T{moment[11:19]}+00:00"
    return "" if moment is None else utc(moment).isoformat(timespec="seconds")


@contextmanager
def export_rows(engine: Engine, f: cdrs.Filters, xlsx: bool) -> Iterator[tuple[int, Iterator[list]]]:
    """``(how many, their rows of cells)``: the CDRs the filters choose, streamed from one snapshot; refused
    before a row is written when ``xlsx`` and they would not fit in one worksheet."""
    with cdrs.stream(engine, f) as (matching, found):
        total = matching if f.limit is None else min(matching, f.limit)
        if xlsx and total > XLSX_MAX_ROWS:
            raise UserError(
                f"{total:,} CDRs do not fit in one XLSX sheet ({XLSX_MAX_ROWS:,} rows at most): "
                "use a .csv file, or fewer CDRs (a shorter period, a limit)"
            )
        yield total, map(_cells, found)
