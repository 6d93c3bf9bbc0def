"""Card batches: generating one (numbers, PINs, card accounts and their face value, in bulk) and listing them.

A batch is generated in one transaction, in chunks: each chunk draws fresh numbers (redrawing any
already taken), inserts the accounts and cards with executemany and credits every card its face value
through the ledger; the PINs leave only through ``deliver``, called before the commit so that a file
that cannot be written leaves no cards whose PINs nobody knows (``pin_writer``: the PIN file).
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, Engine, Select, case, func, insert, select, update

from asteriskbill.billing import accounts as account_rules
from asteriskbill.billing import cards as rules
from asteriskbill.billing.cards import ACTIVATIONS, ACTIVE, DELETED, NEW, NOW, CardError
from asteriskbill.billing.ledger import FACE_VALUE
from asteriskbill.billing.numbers import is_digits
from asteriskbill.money import CEILING, Limits, format_amount, parse_currency
from asteriskbill.rating.model import Tariff as TariffValue
from asteriskbill.services import audit, ledger, sheets
from asteriskbill.services.sheet_cells import Kind
from asteriskbill.services.tariffs import sold_tariff
from asteriskbill.store.models import Account, Card, CardBatch, Tariff
from asteriskbill.store.types import utcnow

CHUNK = 2000  # cards per round of inserts (and per progress step)
PIN_COLUMNS = ("number", "pin", "value", "currency", "batch", "validity")
PIN_TYPES = {"value": Kind.AMOUNT}  # the rest is text: numbers and PINs keep their leading zeros


@dataclass(frozen=True)
class BatchSpec:
    count: int
    value: int  # face value, micro-units
    tariff: str
    currency: str | None = None  # default: the tariff's
    activation: str = NOW
    valid_days: int | None = None  # validity counted from activation ...
    expires: date | None = None  # ... or a last day (in the tariff's time zone)
    number_digits: int = 12
    pin_digits: int = 6
    max_calls: int | None = 1
    name: str | None = None  # default: batch-<id>


@dataclass(frozen=True)
class BatchView:
    id: int
    name: str
    created_at: datetime
    count: int
    face_value: int
    currency: str
    tariff: str
    activation: str
    valid_days: int | None
    expires_at: datetime | None
    operator: str
    used: int  # cards used for a call at least once
    deleted: int

    @property
    def unused(self) -> int:
        return self.count - self.used


@dataclass(frozen=True)
class NewCard:
    number: str
    pin: str


Deliver = Callable[[BatchView, list[NewCard]], None]
Progress = Callable[[int], None]


def validity_text(valid_days: int | None, expires_at: datetime | None, zone: ZoneInfo | None = None) -> str:
    """How long a batch's cards are valid, in words; the expiry shown in ``zone`` (default: as stored)."""
    if expires_at is not None:
        return f"until {(expires_at.astimezone(zone) if zone else expires_at).isoformat(timespec='seconds')}"
    return f"{valid_days} days from activation" if valid_days else "no expiry"


def pin_rows(batch: BatchView, cards: list[NewCard]) -> Iterator[list[str]]:
    """The rows of the PIN file, by PIN_COLUMNS."""
    validity = validity_text(batch.valid_days, batch.expires_at)
    value = format_amount(batch.face_value)
    return ([c.number, c.pin, value, batch.currency, batch.name, validity] for c in cards)


def pin_writer(path: str | os.PathLike[str]) -> Deliver:
    """What writes the PIN file to ``path`` (CSV or XLSX by its suffix, readable by its owner only) once the
    cards exist, before they commit."""

    def deliver(batch: BatchView, cards: list[NewCard]) -> None:
        sheets.write_file(path, PIN_COLUMNS, pin_rows(batch, cards), PIN_TYPES, sheet="cards")

    return deliver


def _query() -> Select:
    batch = CardBatch.__table__.c
    return (
        select(
            *(column for column in batch if column.name != "tariff_id"),
            Tariff.name.label("tariff"),
            func.count(Card.first_used_at).label("used"),
            func.coalesce(func.sum(case((Card.status == DELETED, 1), else_=0)), 0).label("deleted"),
        )
        .join(Tariff, Tariff.id == CardBatch.tariff_id)
        .join(Card, Card.batch_id == CardBatch.id, isouter=True)
        .group_by(CardBatch.id, Tariff.name)
    )


def find_batch(conn: Connection, name_or_id: str) -> BatchView:
    """A batch by name, or by id when all digits (batch names are never all digits)."""
    key = CardBatch.id == int(name_or_id) if is_digits(name_or_id) else CardBatch.name == name_or_id
    row = conn.execute(_query().where(key)).one_or_none()
    if row is None:
        raise CardError(f"no batch {name_or_id!r} (see `asteriskbill batches list`)")
    return BatchView(**row._mapping)


def list_batches(engine: Engine) -> list[BatchView]:
    with engine.begin() as conn:
        return [BatchView(**row._mapping) for row in conn.execute(_query().order_by(CardBatch.id))]


def show_batch(engine: Engine, name_or_id: str) -> BatchView:
    with engine.begin() as conn:
        return find_batch(conn, name_or_id)


def _check(spec: BatchSpec, limits: Limits) -> None:
    if spec.count < 1:
        raise CardError("--count must be at least 1")
    if spec.value <= 0:
        raise CardError("--value must be more than 0")
    limits.check(spec.value, spec.value, "each card")
    if spec.activation not in ACTIVATIONS:
        raise CardError(f"activation {spec.activation!r}: use one of {', '.join(ACTIVATIONS)}")
    if spec.valid_days is not None and spec.expires is not None:
        raise CardError("give --valid-days or --expires, not both")
    if spec.valid_days is not None and spec.valid_days < 1:
        raise CardError("--valid-days must be at least 1")
    if spec.max_calls is not None and spec.max_calls < 1:
        raise CardError("--max-calls must be at least 1")
    if spec.name is not None and (not spec.name.strip() or is_digits(spec.name)):
        raise CardError(f"batch name {spec.name!r}: give a name that is not only digits (digits are batch ids)")


def _last_moment(day: date | None, tariff: TariffValue, now: datetime) -> datetime | None:
    """The end of ``day`` in the tariff's time zone, as UTC: a card "valid until 30 June" works all that day."""
    if day is None:
        return None
    end = datetime.combine(day + timedelta(days=1), time(), ZoneInfo(tariff.timezone)).astimezone(UTC)
    if end <= now:
        raise CardError(f"--expires {day} is in the past")
    return end


def generate(
    engine: Engine,
    secret: bytes,
    operator: str,
    spec: BatchSpec,
    *,
    limits: Limits = CEILING,
    deliver: Deliver | None = None,
    progress: Progress | None = None,
) -> tuple[BatchView, list[NewCard]]:
    """Create a batch of ``spec.count`` cards, their value within ``limits``; returns the batch and each
    card's number and PIN."""
    _check(spec, limits)
    with engine.begin() as conn:
        now = utcnow()
        tariff_id, tariff = sold_tariff(conn, spec.tariff)
        currency = parse_currency(spec.currency) if spec.currency else tariff.currency
        account_rules.check_currencies("these cards", currency, None, (tariff.name, tariff.currency))
        taken = conn.execute(
            select(func.count()).select_from(Card).where(func.length(Card.number) == spec.number_digits)
        ).scalar_one()
        rules.check_sizes(spec.number_digits, spec.pin_digits, taken + spec.count)
        if spec.name and conn.execute(select(CardBatch.id).where(CardBatch.name == spec.name)).first():
            raise CardError(f"batch {spec.name!r} exists already")
        fixed = _last_moment(spec.expires, tariff, now)
        batch = _insert_batch(conn, spec, operator, tariff_id, currency, fixed, now)
        cards: list[NewCard] = []
        for start in range(0, spec.count, CHUNK):
            size = min(CHUNK, spec.count - start)
            cards += _insert_cards(conn, secret, spec, batch, tariff_id, currency, fixed, now, size)
            if progress:
                progress(size)
        ledger.credit_new_accounts(
            conn,
            select(Card.account_id).where(Card.batch_id == batch.id),
            FACE_VALUE,
            spec.value,
            operator=operator,
            reference=batch.name,
        )
        audit.record(
            conn,
            operator,
            "batch.generate",
            batch.name,
            {
                "count": spec.count,
                "face_value": format_amount(spec.value),
                "currency": currency,
                "tariff": tariff.name,
                "activation": spec.activation,
                "valid_days": spec.valid_days,
                "expires_at": fixed,
            },
        )
        view = find_batch(conn, str(batch.id))
        cards.sort(key=lambda card: card.number)
        if deliver:
            deliver(view, cards)
    return view, cards


def _insert_batch(
    conn: Connection,
    spec: BatchSpec,
    operator: str,
    tariff_id: int,
    currency: str,
    fixed: datetime | None,
    now: datetime,
):
    placeholder = f"new-{secrets.token_hex(8)}"  # unique until the id names the batch
    batch_id = conn.execute(
        insert(CardBatch)
        .values(
            name=spec.name or placeholder,
            created_at=now,
            count=spec.count,
            face_value=spec.value,
            currency=currency,
            tariff_id=tariff_id,
            activation=spec.activation,
            valid_days=spec.valid_days,
            expires_at=fixed,
            operator=operator,
        )
        .returning(CardBatch.id)
    ).scalar_one()
    name = spec.name or f"batch-{batch_id}"
    conn.execute(update(CardBatch).where(CardBatch.id == batch_id).values(name=name))
    return find_batch(conn, str(batch_id))


def _fresh_numbers(conn: Connection, digits: int, count: int) -> list[str]:
    """``count`` random numbers no account has (a card's account is named by its number)."""
    numbers: set[str] = set()
    while len(numbers) < count:
        drawn = {rules.new_number(digits) for _ in range(count - len(numbers))} - numbers
        taken = set(conn.execute(select(Account.name).where(Account.name.in_(drawn))).scalars())
        numbers |= drawn - taken
    return list(numbers)


def _insert_cards(
    conn: Connection,
    secret: bytes,
    spec: BatchSpec,
    batch: BatchView,
    tariff_id: int,
    currency: str,
    fixed: datetime | None,
    now: datetime,
    count: int,
) -> list[NewCard]:
    cards = [
        NewCard(number, rules.new_pin(spec.pin_digits)) for number in _fresh_numbers(conn, spec.number_digits, count)
    ]
    conn.execute(
        insert(Account),
        [
            {
                "kind": account_rules.CARD,
                "name": card.number,
                "tariff_id": tariff_id,
                "currency": currency,
                "balance": 0,
                "credit_limit": 0,
                "status": account_rules.ACTIVE,
                "max_calls": spec.max_calls,
                "created_at": now,
            }
            for card in cards
        ],
    )
    # A plain executemany and one SELECT beat INSERT ... RETURNING, which SQLite runs row by row here.
    numbers = [card.number for card in cards]
    ids = dict(conn.execute(select(Account.name, Account.id).where(Account.name.in_(numbers))).tuples().all())
    active_now = spec.activation == NOW
    expires_at = rules.expiry(spec.valid_days, fixed, now if active_now else None)
    conn.execute(
        insert(Card),
        [
            {
                "account_id": ids[card.number],
                "number": card.number,
                "pin_hash": rules.pin_hash(secret, card.number, card.pin),
                "batch_id": batch.id,
                "status": ACTIVE if active_now else NEW,
                "activation": spec.activation,
                "valid_days": spec.valid_days,
                "expires_at": expires_at,
                "activated_at": now if active_now else None,
                "pin_failures": 0,
            }
            for card in cards
        ],
    )
    return cards
