"""Companies, extensions and gateways to and from a sheet: `accounts export` and `accounts import`.

The import is all or nothing, like the rates import: every line is checked (its fields, its company,
its tariff and currency, names, extensions and accountcodes unique in the file and in the database)
and the problems are listed by line number before anything is written. A company may come after its
accounts in the file. Cards have their own files (`cards generate`, `cards export`).

Balances are exported for the operator to read, and the import ignores them, saying so: a balance
changes only through the ledger (a recharge with its order number, a call charge), so an imported
account starts at 0 and money is moved with `accounts recharge`.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TextIO

from sqlalchemy import Connection, Engine
from sqlalchemy.exc import IntegrityError

from asteriskbill.billing import accounts as rules
from asteriskbill.billing.accounts import CLOSED, COMPANY, AccountError, AccountState
from asteriskbill.billing.numbers import is_digits
from asteriskbill.errors import UserError
from asteriskbill.money import format_amount, parse_amount, parse_currency
from asteriskbill.services import accounts, audit, sheets
from asteriskbill.services.accounts import AccountView, NewAccount
from asteriskbill.services.sheet_cells import Kind
from asteriskbill.services.tariffs import sold_tariff
from asteriskbill.store.models import Account

FIELDS = (
    "kind",
    "name",
    "parent",
    "tariff",
    "currency",
    "credit_limit",
    "max_calls",
    "extension",
    "accountcode",
    "status",
    "booth",
    "balance",
)
YES, NO = ("yes", "true", "1"), ("", "no", "false", "0")
KINDS = rules.SHEET_KINDS
WIDTHS = {
    name: width
    for name, width in sheets.widths(Account.__table__).items()
    if name in ("name", "extension", "accountcode")
}  # the rest are looked up, or checked by their rules
UNIQUE = ("name", "extension", "accountcode")
EXPORT_TYPES = {"credit_limit": Kind.AMOUNT, "max_calls": Kind.INTEGER, "balance": Kind.AMOUNT}  # the rest: text


@dataclass(frozen=True)
class ImportResult:
    counts: dict[str, int]  # accounts created, by kind
    balance_ignored: bool  # the file had a balance column

    @property
    def total(self) -> int:
        return sum(self.counts.values())


@dataclass
class _Line:
    """One account of the file, and what checking it against the database found."""

    number: int
    new: NewAccount
    status: str
    currency: str = ""
    tariff_id: int | None = None
    tariff: str | None = None  # its own, else its company's
    parent_id: int | None = None  # a company in the database
    bad: bool = False  # a problem was reported for it
    children: list[_Line] = field(default_factory=list)


def import_accounts(engine: Engine, operator: str, source: str | Path) -> ImportResult:
    """Create every account of a CSV or XLSX file in ONE transaction, or none of them."""
    source = Path(source)
    rows = sheets.read(source)
    columns = sheets.header(source, rows, FIELDS, ("kind", "name"))
    problems = sheets.Problems(source)
    lines = list(_parsed(columns, rows, problems))
    _check_unique(lines, problems)
    try:
        with engine.begin() as conn:
            _check_places(conn, lines, problems)
            problems.check()
            counts = _insert(conn, operator, source.name, lines)
            audit.record(conn, operator, "accounts.import", source.name, counts)
    except IntegrityError:  # an account created meanwhile took a name, extension or accountcode
        raise UserError(
            f"{source.name}: an account created meanwhile took a name, extension or accountcode "
            "of the file; nothing was imported: run the import again to see which"
        ) from None
    return ImportResult(counts, "balance" in columns)


# -- one line on its own --------------------------------------------------------------------------------


def _parsed(columns: list[str], rows: Iterable[sheets.Line], problems: sheets.Problems) -> Iterator[_Line]:
    for number, values in rows:
        if not any(v.strip() for v in values):
            continue
        try:
            yield _line(number, sheets.fields(columns, values))
        except UserError as exc:
            problems.add(number, str(exc))


def _line(number: int, values: dict[str, str]) -> _Line:
    text = {name: value.strip() for name, value in values.items()}
    sheets.check_widths(WIDTHS, text)
    given = {name: value for name, value in text.items() if value}  # an empty cell is no value
    kind = given.get("kind", "").lower()
    if kind not in KINDS:
        raise UserError(
            f"kind {given.get('kind', '')!r} must be one of {', '.join(KINDS)} (cards: `asteriskbill cards generate`)"
        )
    credit_limit = given.get("credit_limit")
    new = NewAccount(
        kind=kind,
        name=given.get("name", ""),
        parent=given.get("parent"),
        tariff=given.get("tariff"),
        currency=given.get("currency") and parse_currency(given["currency"]),
        credit_limit=parse_amount(credit_limit, what="credit_limit") if credit_limit else 0,
        max_calls=_max_calls(given.get("max_calls")),
        extension=given.get("extension"),
        accountcode=given.get("accountcode"),
        booth=_booth(given.get("booth", "")),
    )
    accounts.check_new(new)
    status = given.get("status", rules.ACTIVE).lower()
    if status not in rules.STATUSES:
        raise UserError(f"status {given['status']!r} must be one of {', '.join(rules.STATUSES)} (empty: active)")
    return _Line(number, new, status)


def _booth(text: str) -> bool:
    if text.lower() not in YES + NO:
        raise UserError(f"booth {text!r} must be yes or no (empty: no)")
    return text.lower() in YES


def _max_calls(text: str | None) -> int | None:
    if text is None:
        return None
    if not is_digits(text) or int(text) < 1:
        raise UserError(f"max_calls {text!r} must be a whole number of calls, at least 1 (empty: no limit)")
    return int(text)


def _check_unique(lines: list[_Line], problems: sheets.Problems) -> None:
    """A name, extension or accountcode on two lines: the later line is wrong."""
    for what in UNIQUE:
        first: dict[str, int] = {}
        for line in lines:
            value = getattr(line.new, what)
            if value is None:
                continue
            if value in first:
                problems.add(line.number, f"{what} {value} is on line {first[value]} already")
                line.bad = True
            else:
                first[value] = line.number


# -- lines against the database and each other ------------------------------------------------------------


def _check_places(conn: Connection, lines: list[_Line], problems: sheets.Problems) -> None:
    """Company, tariff, currency and free names of every line; companies first, so that their
    accounts can be checked against them wherever they are in the file."""
    named: dict[str, _Line] = {}
    for line in lines:
        named.setdefault(line.new.name, line)  # a name's first line: a later one is the duplicate
    tariffs: dict[str, tuple] = {}
    for line in sorted(lines, key=lambda line: line.new.kind != COMPANY):
        if line.bad:
            continue
        try:
            _check_place(conn, line, named, tariffs)
        except UserError as exc:
            problems.add(line.number, str(exc))
            line.bad = True
    for company in (line for line in lines if line.new.kind == COMPANY):
        still_open = [child.number for child in company.children if child.status != CLOSED]
        if company.status == CLOSED and still_open:
            problems.add(
                company.number,
                f"company {company.new.name} is closed but its accounts on lines "
                f"{', '.join(map(str, still_open))} are not: close them too",
            )


def _check_place(conn: Connection, line: _Line, named: dict[str, _Line], tariffs: dict[str, tuple]) -> None:
    new = line.new
    accounts.check_free(conn, new)
    if new.tariff is not None and new.tariff not in tariffs:
        tariffs[new.tariff] = sold_tariff(conn, new.tariff)
    line.tariff_id, tariff = tariffs[new.tariff] if new.tariff else (None, None)
    parent, parent_tariff = _parent(conn, line, named)
    if parent is not None and parent.status == CLOSED and line.status == CLOSED:
        parent = replace(parent, status=rules.ACTIVE)  # a closed account of a closed company: history, kept as is
    line.currency = accounts.check_placement(new, parent, parent_tariff, tariff)
    line.tariff = new.tariff or parent_tariff


def _parent(conn: Connection, line: _Line, named: dict[str, _Line]) -> tuple[AccountState | None, str | None]:
    """The line's company as the rules read it, and the company's tariff; from the file or the database."""
    name = line.new.parent
    if name is None:
        return None, None
    company = named.get(name)
    if company is not None:
        if company.new.kind != COMPANY:
            raise UserError(f"parent {name} is not a company (line {company.number} has it as kind {company.new.kind})")
        if company.bad:
            raise UserError(f"its company {name} (line {company.number}) has errors")
        company.children.append(line)
        return AccountState(name, COMPANY, company.status, None, company.currency), company.tariff
    try:
        found = accounts.find(conn, name, lock=True)
    except AccountError:
        raise UserError(f"no company named {name!r} in the file or the database") from None
    line.parent_id = found.id
    return found.state, found.tariff  # its own: a company's plan rates the company alone


def _insert(conn: Connection, operator: str, source: str, lines: list[_Line]) -> dict[str, int]:
    """Companies first, then their accounts with the new companies' ids; counts by kind."""
    ids: dict[str, int] = {}
    counts = dict.fromkeys(KINDS, 0)
    for line in sorted(lines, key=lambda line: line.new.kind != COMPANY):
        parent_id = line.parent_id if line.parent_id is not None else ids.get(line.new.parent or "")
        ids[line.new.name] = accounts.insert_account(
            conn, operator, line.new, parent_id, line.tariff_id, line.currency, line.status, source
        )
        counts[line.new.kind] += 1
    return counts


# -- export ---------------------------------------------------------------------------------------------------


def export_accounts(
    engine: Engine, destination: str | Path | TextIO, kind: str | None = None, parent: str | None = None
) -> int:
    """Write companies, extensions and gateways (``kind`` only; ``parent``: that company and its
    accounts), companies first, as CSV (a path or a text stream) or XLSX (a path); how many."""
    if kind is not None and kind not in KINDS:
        raise UserError(
            f"cannot export {kind} accounts here: use one of {', '.join(KINDS)}"
            + (" (cards: `asteriskbill cards export`)" if kind == rules.CARD else "")
        )
    found = [a for a in accounts.list_accounts(engine, kind=kind, parent=parent) if a.kind in KINDS]
    if parent is not None and kind in (None, COMPANY):
        found.append(accounts.show(engine, parent))
    rows = (_row(a) for a in sorted(found, key=lambda a: (a.kind != COMPANY, a.name)))
    if isinstance(destination, (str, Path)):
        return sheets.write_file(destination, FIELDS, rows, EXPORT_TYPES, sheet="accounts")
    return sheets.write_csv(destination, FIELDS, rows, EXPORT_TYPES)


def _row(a: AccountView) -> list:
    return [
        a.kind,
        a.name,
        a.parent,
        a.tariff,
        a.currency,
        format_amount(a.credit_limit),
        a.max_calls,
        a.extension,
        a.accountcode,
        a.status,
        "yes" if a.booth else "",
        format_amount(a.balance),
    ]
