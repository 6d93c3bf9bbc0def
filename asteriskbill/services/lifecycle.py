"""The call's lifecycle, and its one owner: authorize -> up -> extend -> settle, or release / flag (up and extend,
the credit held in slices while the call is up, are in services/slices.py).

Every change of a reservation (its status, the credit and time it holds, its deadline) is made here, as
CGRateS' SessionS owns a session while its agents only translate: the AGI asks to authorize and to
release, the ARI listener reports the answer and the end, `serve` asks to extend and to recover, the
CLI releases and clears by hand. The states are billing.reservation.ReservationStatus (the database
checks them); open is the only state that holds credit, and every other is final.

``authorize`` is ONE transaction on statements built once: it locks the account row (with its company, card and
booth in the same select), takes the number plan, route, tariff and rates from the catalog (in memory in `serve`),
prices, reads the credit held by open reservations, decides (billing.authorize.grant) and writes the reservation.
``extend`` takes the same lock and the same rule for each new slice: concurrent calls on one balance can never
hold more than balance + credit limit, and no call is billed beyond what it holds. The ``*_in`` functions work in
the caller's transaction: `serve`'s writer (store/writer.py) runs many of them under one commit.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, Engine, bindparam, insert, select, update

from asteriskbill.billing import cards as card_rules
from asteriskbill.billing.accounts import CARD
from asteriskbill.billing.authorize import BillStatus, Grant, grant
from asteriskbill.billing.incoming import IN, OUT, caller_number, dial_string
from asteriskbill.billing.numbers import NumberError, normalize
from asteriskbill.billing.reservation import FLAGGED, OPEN, RELEASED, SETTLED, deadline, first_hold
from asteriskbill.billing.settle import CallResult
from asteriskbill.rating.engine import NoRateError, Pricing
from asteriskbill.services import bundles, routing, settlement
from asteriskbill.services.calls import (
    NO_CALLER,
    Authorization,
    Caller,
    Login,
    card_state,
    funds,
    locked_extension_subject,
    locked_subject,
    verdict,
)
from asteriskbill.services.incoming import locked_called_subject
from asteriskbill.settings import Settings
from asteriskbill.store import tariffs as tariff_store
from asteriskbill.store.catalog import SQL_CATALOG, Catalog
from asteriskbill.store.models import Card, Reservation
from asteriskbill.store.rawsql import RawSelectIn, RawWrite
from asteriskbill.store.types import utcnow

_RESERVATION = (
    "session", "account_id", "payer_id", "status", "amount", "held_seconds", "max_seconds", "deadline_at", "dialled",
    "number", "call_class", "destination", "prefix", "dial", "priced_at", "pricing", "channel", "uniqueid", "callerid",
    "created_at", "routes", "trunk_id", "direction", "bundle_id", "bundle_seconds", "bundle_amount",
)  # fmt: skip
# On the driver's cursor, each built once: SQLAlchemy's execute costs more than these statements themselves.
_NEW_RESERVATION = RawWrite(insert(Reservation).values({name: bindparam(name) for name in _RESERVATION}), *_RESERVATION)
_CARD_USED = RawWrite(
    update(Card)
    .where(Card.id == bindparam("card_id"))
    .values(
        last_used_at=bindparam("now"),
        first_used_at=bindparam("first"),
        status=bindparam("card_status"),
        activated_at=bindparam("activated"),
        expires_at=bindparam("expires"),
    ),
    "card_id", "now", "first", "card_status", "activated", "expires",
)  # fmt: skip


# --- authorize ------------------------------------------------------------------------------------


def authorize(
    engine: Engine,
    settings: Settings,
    account_id: int,
    dialled: str,
    caller: Caller = NO_CALLER,
    now: datetime | None = None,
    *,
    slice_seconds: int = 0,
    catalog: Catalog = SQL_CATALOG,
) -> Authorization:
    """Normalise, route and rate the call, then hold the credit of its first slice (0: of its whole maximum)."""
    with engine.begin() as conn:
        return authorize_in(conn, catalog, settings, account_id, dialled, caller, now, slice_seconds)


def authorize_in(
    conn: Connection,
    catalog: Catalog,
    settings: Settings,
    account_id: int,
    dialled: str,
    caller: Caller = NO_CALLER,
    now: datetime | None = None,
    slice_seconds: int = 0,
) -> Authorization:
    """``authorize`` in the caller's transaction (serve's writer groups them): the account row locked first, so
    its money and its open calls are decided on until the transaction ends."""
    account = locked_subject(conn, account_id)
    return _authorize_subject(conn, catalog, settings, account, dialled, caller, now, slice_seconds)


def _authorize_subject(
    conn: Connection,
    catalog: Catalog,
    settings: Settings,
    account,
    dialled: str,
    caller: Caller,
    now: datetime | None,
    slice_seconds: int,
) -> Authorization:
    """``authorize_in`` of the account's subject, locked by the caller."""
    now = now or utcnow()
    login = verdict(account, now)
    if login.status is not BillStatus.OK:
        return Authorization(login.status, login.reason)
    try:
        number = normalize(dialled, catalog.number_plan(conn, settings, account.parent_id or account.id))
    except NumberError as exc:
        return Authorization(BillStatus.INVALID_NUMBER, str(exc))
    tariff_id = login.tariff_id
    group_id = routing.group_of(conn, catalog, account, tariff_id) if tariff_id is not None else None
    route = catalog.route(conn, number.number) if group_id is None else None
    if group_id is None and route is None:
        return Authorization(BillStatus.NO_ROUTE, f"no route for {number.number} (see `asteriskbill routes`)")
    if tariff_id is None:
        return Authorization(BillStatus.NO_RATE, "the account has no tariff")
    try:
        tariff = catalog.tariff(conn, tariff_id)
        pricing = Pricing(
            tariff, catalog.rates(conn, tariff_id, number.number), number.number, now, settings.max_call_seconds
        )
    except NoRateError as exc:
        return Authorization(BillStatus.NO_RATE, str(exc))
    if group_id is None:
        assert route is not None  # refused above
        routes = _Routes((route.dial_string(number.number),))
        return _reserve(conn, settings, account, pricing, number, routes, caller, now, slice_seconds)
    routed = routing.routes_in(conn, catalog, group_id, pricing, lock=True)
    if not routed.usable:
        return Authorization(BillStatus.NO_ROUTE, routed.refusal())
    chosen = _Routes(routed.dials, routed.text, routed.trunk_id)
    return _reserve(conn, settings, account, pricing, number, chosen, caller, now, slice_seconds)


@dataclass(frozen=True)
class _Routes:
    """Where an authorized call goes: its Dial() targets in order, what the reservation keeps of them."""

    dials: tuple[str, ...]
    text: str = ""  # services/routing.py Routed.text; "": routed by the routes table
    trunk_id: int | None = None  # the first trunk: the call counts against its channels


def authorize_extension_in(
    conn: Connection,
    catalog: Catalog,
    settings: Settings,
    extension: str,
    accountcode: str,
    dialled: str,
    caller: Caller = NO_CALLER,
    slice_seconds: int = 0,
) -> Authorization:
    """A PBX extension's call: its account found by extension number or accountcode, then ``authorize_in``."""
    found = locked_extension_subject(conn, extension, accountcode)  # found and locked in one select
    if isinstance(found, Login):
        return Authorization(found.status, found.reason)
    return _authorize_subject(conn, catalog, settings, found, dialled, caller, None, slice_seconds)


def authorize_incoming_in(
    conn: Connection,
    catalog: Catalog,
    settings: Settings,
    called: str,
    caller_id: str,
    caller: Caller = NO_CALLER,
    slice_seconds: int = 0,
) -> Authorization:
    """A call TO ``called`` (a DID or an extension): the account it reaches pays by its incoming tariff, priced by
    the caller's number (billing/incoming.py), with the hold and limits of its own calls. Without an incoming tariff
    the call is let through unbilled: OK with where to ring and no session."""
    found = locked_called_subject(conn, called)  # found and locked in one select
    if isinstance(found, Login):
        return Authorization(found.status, found.reason)
    dial, tariff_id = dial_string(settings.incoming_dial, found.extension), found.incoming_tariff_id
    if tariff_id is None:
        return Authorization(BillStatus.OK, "no incoming tariff: not billed", dial=dial, dials=(dial,))
    now = utcnow()
    login = verdict(found, now)
    if login.status is not BillStatus.OK:
        return Authorization(login.status, login.reason)
    number = caller_number(caller_id, called, catalog.number_plan(conn, settings, found.parent_id or found.id))
    try:
        tariff, rates = catalog.tariff(conn, tariff_id), catalog.rates(conn, tariff_id, number.number)
        pricing = Pricing(tariff, rates, number.number, now, settings.max_call_seconds)
    except NoRateError as exc:
        return Authorization(BillStatus.NO_RATE, f"incoming: {exc}")
    return _reserve(conn, settings, found, pricing, number, _Routes((dial,)), caller, now, slice_seconds, IN)


def _reserve(
    conn: Connection,
    settings: Settings,
    account,
    pricing: Pricing,
    number,
    routes: _Routes,
    caller: Caller,
    now: datetime,
    slice_seconds: int,
    direction: str = OUT,
) -> Authorization:
    money, payer_id = funds(conn, account, now, settings.timezone)
    # a plan's bundles are for the calls an account makes; a call to it is priced by its incoming tariff alone
    bundle = bundles.drawn(conn, account, payer_id, number, now, settings.timezone) if direction == OUT else None
    priced = pricing if bundle is None else bundles.pricing_with(pricing, bundle.bundle, bundle.left)  # bundle first
    decision = grant(money, priced)
    if not isinstance(decision, Grant):
        return Authorization(decision, _refusal_reason(decision, account.name))
    hold = first_hold(priced, decision.max_seconds, slice_seconds, decision.charge)
    if account.kind == CARD:
        _use_card(conn, account, now)
    session = str(uuid.uuid4())
    _NEW_RESERVATION.many(
        conn,
        [
            (
                session,
                account.id,
                payer_id,
                OPEN.value,
                hold.amount,
                hold.seconds,
                decision.max_seconds,
                deadline(now, None, hold.seconds),
                number.dialled,
                number.number,
                number.call_class,
                pricing.rate.destination,
                pricing.rate.prefix,
                routes.dials[0],
                pricing.start,
                tariff_store.snapshot(pricing.tariff, pricing.rates),
                caller.channel,
                caller.uniqueid,
                caller.callerid,
                now,
                routes.text,
                routes.trunk_id,
                direction,
                None if bundle is None else bundle.id,
                hold.bundle_seconds,
                hold.bundle_amount,
            )
        ],
    )
    return Authorization(
        BillStatus.OK,
        "",
        session,
        decision.max_seconds,
        hold.amount,
        number.number,
        routes.dials[0],
        pricing.rate.destination,
        account.currency,
        hold.seconds,
        routes.dials,
    )


def _use_card(conn: Connection, card, now: datetime) -> None:
    """A call uses the card: stamp its use, and activate it on its first use (first-use cards)."""
    state = card_state(card)
    activated, expires = (card.activated_at, card.expires_at)
    status = card.card_status
    if card_rules.decide(state, now).activates:
        status = card_rules.ACTIVE
        activated, expires = card_rules.activation(state, now)
    _CARD_USED.many(conn, [(card.card_id, now, card.first_used_at or now, status, activated, expires)])


def _refusal_reason(status: BillStatus, name: str) -> str:
    if status is BillStatus.TOO_MANY_CALLS:
        return f"{name} is on as many calls as it may have at once"
    return f"{name} has no credit for this destination"


# --- the end: settle, release, flag ---------------------------------------------------------------


# In id order: PostgreSQL locks the rows as it returns them, so two groups sharing calls never deadlock.
_LOCKED_MANY = RawSelectIn(
    lambda sessions: (
        select(*settlement.COLUMNS).where(Reservation.session.in_(sessions)).order_by(Reservation.id).with_for_update()
    )
)
_SETTLED = RawWrite(
    update(Reservation)
    .where(Reservation.id == bindparam("reservation_id"))
    .values(status=SETTLED, closed_at=bindparam("now")),
    "reservation_id",
    "now",
)


def settle(engine: Engine, result: CallResult) -> settlement.Settled | None:
    """Write the call's CDR and charge it, once; None when no reservation has that session. Idempotent: a
    reservation no longer open (nor flagged) means the call was settled or released already."""
    with engine.begin() as conn:
        return settle_in(conn, result)


def settle_in(conn: Connection, result: CallResult) -> settlement.Settled | None:
    """``settle`` in the caller's transaction."""
    return settle_many(conn, [result])[0]


def settle_many(conn: Connection, results: list[CallResult]) -> list[settlement.Settled | None]:
    """``settle_in`` for each of ``results`` in order, in six statements for them all (serve's writer groups
    them): each answer is what settling them one by one answers, a call repeated among them charged once."""
    sessions = list(dict.fromkeys(result.session for result in results))
    found = {row.session: row for row in map(settlement.Reserved.of, _LOCKED_MANY.rows(conn, sessions))}
    closing: dict[str, CallResult] = {}
    for result in results:
        row = found.get(result.session)
        if row is not None and row.status in (OPEN, FLAGGED):
            closing.setdefault(result.session, result)  # a repeat is answered below as a repeated settle is
    done = {d.session: d for d in settlement.write(conn, ((found[s], r) for s, r in closing.items()))}
    if closing:
        now = utcnow()
        _SETTLED.many(conn, [(found[session].id, now) for session in closing])
    known = settlement.recorded(conn, [row for session, row in found.items() if session not in closing])
    answers: list[settlement.Settled | None] = []
    for result in results:
        new = done.pop(result.session, None)
        if new is not None:
            known[result.session] = new.again()
        answers.append(new or known.get(result.session))
    return answers


def release(engine: Engine, session: str, note: str) -> bool:
    """Give back the credit of a call that never reached the dialplan's Dial (caller hung up, error)."""
    return _close(engine, session, RELEASED, note)


def flag(engine: Engine, session: str, why: str) -> bool:
    """Give the credit back and flag the call for the operator (`calls flagged`), with why; closed_at says when."""
    return _close(engine, session, FLAGGED, why)


def _close(engine: Engine, session: str, status: str, note: str) -> bool:
    with engine.begin() as conn:
        return bool(close(conn, session, status, note))


def close(conn: Connection, session: str, status: str, note: str, *, was: str = OPEN) -> int:
    """Move a reservation from ``was`` to a final ``status`` with a note, in the caller's transaction (the
    operator's release and flag clearing audit it alongside): the one statement that ends a hold."""
    closing = {"closed_at": utcnow()} if was == OPEN else {}
    return conn.execute(
        update(Reservation)
        .where(Reservation.session == session, Reservation.status == was)
        .values(status=status, note=note[:200], **closing)
    ).rowcount
