"""A rates import's lines to rows of the rates table, and the rows into it: plain tuples, no objects per rate.

A row holds the RATE_COLUMNS values (dates as ISO text); a row whose columns past the first SHORT are their
defaults stops there. Most price lists give prefix, destination, price and increments (maybe a connect fee
and grace) and leave the validity columns empty: the fast path turns such a line straight into its short
row. Any other line, a bad one included, goes the general way (parse_rate, rate_values, the width check), so
every error reads as it always did: the fast path only answers for lines whose row it knows to be the
general path's (the tests prove it).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from datetime import date
from functools import lru_cache
from itertools import groupby
from operator import itemgetter
from typing import Any

from sqlalchemy import Connection

from asteriskbill.money import DECIMALS, MAX_AMOUNT, MICRO
from asteriskbill.rating.csvrow import parse_increments, parse_rate
from asteriskbill.rating.model import Rate, RatingError, groups_from_increments
from asteriskbill.services import sheets
from asteriskbill.store import tariffs as repo
from asteriskbill.store.models import RateRow

RATES = RateRow.__table__
WIDTHS = sheets.widths(RATES)
COLUMNS = repo.RATE_COLUMNS  # a row's values, in this order
SHORT = 5  # prefix, destination, intervals, connect_fee, grace: what the fast path gives
prefix_of = itemgetter(0)  # the sort key of rows: an index grows fastest in key order
# What makes two rates of a tariff the same rate: its prefix and its validity.
IDENTITY = ("prefix", "weekdays", "time_from", "time_to", "date_from", "date_to")

Row = tuple
Parser = Callable[[list[str]], Row | None]

_DEFAULT = repo.rate_values(Rate("0", groups_from_increments(0)))
_DEFAULTS = tuple(_DEFAULT[name] for name in COLUMNS[SHORT:])  # a short row's other columns
_identity = itemgetter(*map(COLUMNS.index, IDENTITY))
_DEFAULT_VALIDITY = _identity((None,) * SHORT + _DEFAULTS)[1:]
_FAST_FIELDS = ("prefix", "destination", "price", "increments", "connect_fee", "grace")  # the others are empty
_WHOLE_DIGITS = len(str(MAX_AMOUNT // MICRO)) - 1  # any whole part with fewer digits is below the ceiling
_MARK = 10**40 + 1  # a price standing for the line's in an encoded interval text


def identity_of(row: Row) -> tuple:
    """The row's prefix and validity (IDENTITY)."""
    return _identity(row) if len(row) > SHORT else (row[0], *_DEFAULT_VALIDITY)


def identity_key(values: Sequence) -> tuple:
    """IDENTITY values as read from the database, as a row holds them."""
    return tuple(value.isoformat() if isinstance(value, date) else value for value in values)


# -- lines to rows --------------------------------------------------------------------------------------------


def parser(columns: list[str]) -> Parser:
    """The row of a line's fields under the header ``columns``; None for a blank line. A bad line raises
    UserError, its message the general path's."""
    general = _general(columns)
    fast = fast_parser(columns)
    if fast is None:
        return general
    return lambda fields: fast(fields) or general(fields)


def _general(columns: list[str]) -> Parser:
    def general(fields: list[str]) -> Row | None:
        if not any(f.strip() for f in fields):
            return None
        values = repo.rate_values(parse_rate(sheets.fields(columns, fields)))
        sheets.check_widths(WIDTHS, values)
        row = tuple(value.isoformat() if isinstance(value, date) else value for value in map(values.get, COLUMNS))
        return row[:SHORT] if row[SHORT:] == _DEFAULTS else row

    return general


def fast_parser(columns: list[str]) -> Parser | None:
    """The fast path for lines under ``columns``: a line's row, or None to leave the line to the general path.
    None when the header has no price column (intervals are for the general path)."""
    if "price" not in columns:
        return None
    width = len(columns)
    at = {name: columns.index(name) for name in columns}
    prefix_at, price_at = at["prefix"], at["price"]
    destination_at, increments_at = at.get("destination"), at.get("increments")
    fee_at, grace_at = at.get("connect_fee"), at.get("grace")
    others = [i for name, i in at.items() if name not in _FAST_FIELDS]
    rest = itemgetter(*others) if others else None  # one field: the field itself, which joins the same
    prefix_width, destination_width, intervals_width = WIDTHS["prefix"], WIDTHS["destination"], WIDTHS["intervals"]

    def fast(fields: list[str]) -> Row | None:
        if len(fields) != width or (rest is not None and "".join(rest(fields)).strip()):
            return None
        prefix = fields[prefix_at].strip()
        if not (prefix.isdigit() and prefix.isascii() and len(prefix) <= prefix_width):
            return None
        destination = "" if destination_at is None else fields[destination_at].strip()
        price = _amount(fields[price_at])
        parts = _interval_parts("" if increments_at is None else fields[increments_at].strip())
        if len(destination) > destination_width or price is None or parts is None:
            return None
        intervals = str(price).join(parts)
        fee = 0 if fee_at is None or not (text := fields[fee_at].strip()) else _amount(text)
        grace = 0 if grace_at is None else _count(fields[grace_at])
        if len(intervals) > intervals_width or fee is None or grace is None:
            return None
        return prefix, destination, intervals, fee, grace

    return fast


def _amount(text: str) -> int | None:
    """A plain decimal (0.05, .5, 12) in micro-units; None for anything else, empty included."""
    whole, _, fraction = text.strip().partition(".")
    digits = whole + fraction.ljust(DECIMALS, "0")
    if len(fraction) <= DECIMALS and len(whole) <= _WHOLE_DIGITS and (whole or fraction) and digits.isdigit():
        return int(digits) if digits.isascii() else None  # str.isdigit() takes other scripts' digits too
    return None


def _count(text: str) -> int | None:
    """A whole number of seconds, 0 for empty; None for anything else."""
    text = text.strip()
    if not text:
        return 0
    return int(text) if _ascii_digits(text) else None


def _ascii_digits(text: str) -> bool:
    return text.isdigit() and text.isascii()  # str.isdigit() alone takes "²" and other scripts' digits too


@lru_cache(maxsize=256)
def _interval_parts(increments: str) -> tuple[str, ...] | None:
    """The encoded interval text of a rate with these increments, split where its price goes: the price's
    digits join the parts. None for increments the general path refuses."""
    try:
        groups = groups_from_increments(_MARK, *parse_increments(increments))
    except RatingError:
        return None
    parts = tuple(repo.encode_groups(groups).split(str(_MARK)))
    return parts if len(parts) == len(groups) + 1 else None


# -- rows into the table --------------------------------------------------------------------------------------


def insert(conn: Connection, tid: int, revision: int, rows: list[Row]) -> None:
    """Insert rows of the tariff's revision by SQLite's executemany, with no per-row work of SQLAlchemy's (short rows
    bind only their SHORT values: the fewer, the faster)."""
    driver = conn.connection.driver_connection  # in the transaction begun
    assert driver is not None
    cursor = driver.cursor()
    try:  # rows in the order given (the ids of one prefix's rates are their order in the file): a run at a time
        for width, same in groupby(rows, len):
            cursor.executemany(_insert_sql(tid, revision, width), same)
    finally:
        cursor.close()


def copy(driver: Any, tid: int, revision: int, rows: list[Row]) -> None:
    """Insert rows of the tariff's revision by PostgreSQL's COPY on the psycopg connection ``driver``, in the
    transaction begun on it."""
    with driver.cursor() as cursor, cursor.copy(_COPY) as copying:
        for row in rows:
            copying.write_row((tid, revision, *row, *_DEFAULTS[len(row) - SHORT :]))


_COPY = f"COPY {RATES.name} (tariff_id, revision, {', '.join(COLUMNS)}) FROM STDIN"


@lru_cache(maxsize=16)
def _insert_sql(tid: int, revision: int, width: int) -> str:
    """The INSERT of rows of ``width`` values; the tariff, the revision and the defaults past them are literals."""
    literals = [str(int(value)) if value is not None else "NULL" for value in _DEFAULTS[width - SHORT :]]
    values = [str(int(tid)), str(int(revision)), *["?"] * width, *literals]
    return f"INSERT INTO {RATES.name} (tariff_id, revision, {', '.join(COLUMNS)}) VALUES ({', '.join(values)})"


class Twins:
    """Watches the batches of rows sorted by prefix for two rows that share prefix and validity: the rates of
    a prefix are next to each other, in one batch or across the end of one and the start of the next."""

    def __init__(self) -> None:
        self.found = False
        self.tail: list[Row] = []  # the rows of the last prefix of the batch before

    def check(self, batch: list[Row]) -> None:
        rows = self.tail + batch
        counts = Counter(map(prefix_of, rows))
        if len(counts) < len(rows):
            keys = [identity_of(row) for row in rows if counts[row[0]] > 1]
            self.found = self.found or len(set(keys)) < len(keys)
        self.tail = rows[-counts[rows[-1][0]] :]


class Repeats:
    """The prefixes that may be in more than one of the runs (each sorted, and checked by ``Twins`` alone) of a
    PostgreSQL import: a Bloom filter of the runs' prefixes so far (two bits a prefix in 16 MiB, whatever the file's
    size) names each prefix an earlier run may have had. Of 1M random prefixes it names a few dozen that no run had,
    and the SQL check looks at those alone (over the whole revision it took 0.7 s)."""

    BITS = 1 << 27

    def __init__(self) -> None:
        self.prefixes: set[str] = set()
        self._bits = bytearray(self.BITS >> 3)

    def check(self, run: list[Row]) -> None:
        bits, mask, last = self._bits, self.BITS - 1, None
        for row in run:
            prefix = row[0]
            if prefix == last:  # the run is sorted: a prefix's rates are next to each other
                continue
            last = prefix
            code = hash(prefix)
            one, two = code & mask, (code >> 27) & mask
            byte_one, bit_one, byte_two, bit_two = one >> 3, 1 << (one & 7), two >> 3, 1 << (two & 7)
            if bits[byte_one] & bit_one and bits[byte_two] & bit_two:
                self.prefixes.add(prefix)
            bits[byte_one] |= bit_one
            bits[byte_two] |= bit_two
