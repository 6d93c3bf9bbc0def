"""The billing applications the dialplan calls: ``card`` (calling-card IVR), ``ext`` (PBX extensions) and ``in``
(incoming calls to our numbers, paid by the account called).

They end the same way: the call is normalised, routed, rated and its credit reserved, and the dialplan
gets BILL_STATUS=OK with BILL_SESSION, BILL_MAX_MS, BILL_ROUTES, BILL_DIAL_1..N (BILL_DIAL: the first) and
BILL_NUMBER — or BILL_STATUS saying why not. A call that holds one slice of its maximum (services/lifecycle.py)
also gets TIMEOUT(absolute) = that slice on its channel: Asterisk hangs it up there unless `serve` extends the
hold (credit_control.py).
They only translate between AGI and the services; the database work runs in worker threads so one FastAGI
server keeps serving hundreds of channels.

If the caller hangs up after the credit was reserved but before the dialplan dials, the channel's
abort hook releases the reservation: nothing stays held for a call that never happened. The same holds
when `serve` stops (SIGTERM cancels the sessions): a reservation being written in a worker thread, which
cancelling cannot stop, is waited for and released. From the moment BILL_STATUS=OK is sent the dialplan
may dial, so the hold is kept whatever happens next: the call's settlement (ARI, or recovery) closes it.

Environment values that are not UTF-8 (a caller ID or accountcode with stray bytes) are taken as unknown:
no account has such an identity, and the database could not store it.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from collections.abc import Callable
from typing import Concatenate, ParamSpec, TypeVar

from sqlalchemy import Connection, Engine

from asteriskbill import dialplan
from asteriskbill.agi.channel import Channel
from asteriskbill.agi.protocol import ENCODING, ERRORS, Env, PromptMissing, build_env
from asteriskbill.agi.session import App
from asteriskbill.billing.authorize import BillStatus
from asteriskbill.billing.cards import luhn_valid
from asteriskbill.billing.reservation import RELEASED
from asteriskbill.billing.speech import DIGITS, JOINER, NUMBER, POINT, Say, say_amount
from asteriskbill.services import calls, lifecycle, servers
from asteriskbill.settings import Settings
from asteriskbill.store.catalog import SQL_CATALOG, Catalog
from asteriskbill.store.writer import Writer, write_now

# Stock Asterisk prompts; every one can be replaced with the `prompts` table of the settings.
DEFAULT_PROMPTS = {
    "card_number": "agent-user",  # "please enter your ... number followed by the pound key"
    "pin": "agent-pass",  # "please enter your password followed by the pound key"
    "destination": "vm-enter-num-to-call",
    "invalid": "invalid",
    "you_have": "vm-youhave",
    "minutes": "minutes",
    "goodbye": "vm-goodbye",
    "refused": "ss-noservice",  # any refusal without a prompt of its own
    "refused_TOO_MANY_CALLS": "all-circuits-busy-now",
    "refused_NO_RATE": "cannot-complete-as-dialed",
    "refused_INVALID_NUMBER": "cannot-complete-as-dialed",
    "refused_NO_ROUTE": "cannot-complete-as-dialed",
    "and": JOINER,  # between units and cents of a balance ("one dollar and 84 cents")
    "point": POINT,  # in a balance of a currency without words (the currency_words setting)
}
# A locked card hears the same as a wrong PIN: nothing tells a guesser that the lock exists.
SILENT_REFUSALS = {BillStatus.UNKNOWN_CARD, BillStatus.WRONG_PIN, BillStatus.LOCKED}
TRIES = 3
APP_NAMES = ("card", "ext", "in")  # AGI(agi://host/card), AGI(agi://host/ext,NUMBER), AGI(agi://host/in,NUMBER)
log = logging.getLogger("asteriskbill.agi")
DIGIT_TIMEOUT_MS = 6000
SLICING_TTL = 30.0  # `servers add` of a server without AMI stops new slices within this
_P = ParamSpec("_P")
_R = TypeVar("_R")
Authorize = Callable[[Connection, int], calls.Authorization]  # (conn, slice seconds): one call's authorization


class BillingApps:
    """The AGI applications, bound to one database and one set of settings. In `serve` their writes go through its
    one writer (group commit) and their rates, routes and plans come from its in-memory catalog."""

    def __init__(
        self, engine: Engine, settings: Settings, *, writer: Writer | None = None, catalog: Catalog = SQL_CATALOG
    ):
        self.engine = engine
        self.settings = settings
        self.writer = writer
        self.catalog = catalog
        self.prompts = {**DEFAULT_PROMPTS, **settings.prompts}
        self._slicing = (0, 0.0)  # (slice seconds, valid until time.monotonic())

    async def _slice_seconds(self) -> int:
        """The slice calls hold now (0: their whole maximum), read again at most every SLICING_TTL seconds."""
        value, until = self._slicing
        if time.monotonic() >= until:
            value = await self._db(servers.slicing, self.settings)
            self._slicing = value, time.monotonic() + SLICING_TTL
        return value

    @property
    def apps(self) -> dict[str, App]:
        return {"card": self.card, "ext": self.ext, "in": self.incoming}  # `in` is Python's: its method is named

    async def _db(self, function: Callable[Concatenate[Engine, _P], _R], *args: _P.args, **kwargs: _P.kwargs) -> _R:
        return await asyncio.to_thread(functools.partial(function, self.engine, *args, **kwargs))

    async def _write(self, work: Callable[[Connection], _R]) -> _R:
        """``work(conn)`` in a transaction: the writer's next group in `serve`, else one of its own."""
        return await self._write_future(work)

    def _write_future(self, work: Callable[[Connection], _R]) -> asyncio.Future[_R]:
        """``_write`` as a future, which a cancelled session can shield: `serve`'s writer answers it directly."""
        if self.writer is not None:
            return self.writer.future(work)
        return asyncio.ensure_future(asyncio.to_thread(write_now, self.engine, work))

    # -- calling cards ---------------------------------------------------------------------------------
    async def card(self, channel: Channel, env: Env) -> None:
        """AGI(agi://host/card[,DESTINATION]): CallerID or card number + PIN, then the destination."""
        env = _text_only(env)
        await channel.answer()
        login = await self._db(calls.callerid_login, _callerid(env))
        if login is None:
            login = await self._card_login(channel)
        if login.status is not BillStatus.OK:
            await self._refuse(channel, login.status, login.reason)
            return
        assert login.account_id is not None  # an OK login names its account
        await self._announce_balance(channel, login.account_id)
        dialled = (
            env.args[0]
            if env.args and env.args[0]
            else (await channel.get_data(self.prompts["destination"], 10_000, 20)).digits
        )
        account_id, caller = login.account_id, _caller(env)
        await self._authorize(
            channel,
            lambda conn, slices: lifecycle.authorize_in(
                conn, self.catalog, self.settings, account_id, dialled, caller, None, slices
            ),
            announce=True,
        )

    async def _card_login(self, channel: Channel) -> calls.Login:
        for _ in range(TRIES - 1):
            login = await self._card_try(channel)
            if login.status not in SILENT_REFUSALS or login.status is BillStatus.LOCKED:
                return login
            await self._play(channel, "invalid")
        return await self._card_try(channel)  # after the last try the refusal itself says "invalid" and goodbye

    async def _card_try(self, channel: Channel) -> calls.Login:
        number = (await channel.get_data(self.prompts["card_number"], DIGIT_TIMEOUT_MS, 19)).digits
        if not luhn_valid(number):  # mistyped: refused before any lookup
            return calls.Login(BillStatus.UNKNOWN_CARD, reason=f"card number {number!r} is not valid")
        pin = (await channel.get_data(self.prompts["pin"], DIGIT_TIMEOUT_MS, 12)).digits
        return await self._db(calls.card_login, self.settings, number, pin)

    async def _announce_balance(self, channel: Channel, account_id: int) -> None:
        balance = await self._db(calls.balance, account_id, self.settings.timezone)
        await self._play(channel, "you_have")
        words = self.settings.currency_words
        for step in say_amount(balance.available, balance.currency, words, self.prompts["and"], self.prompts["point"]):
            await self._say(channel, step, f"currency_words.{balance.currency}")

    async def _say(self, channel: Channel, step: Say, setting: str) -> None:
        if step.kind == NUMBER:
            await channel.say_number(int(step.value))
        elif step.kind == DIGITS:
            await channel.say_digits(step.value)
        else:
            await self._stream(channel, step.value, setting)

    # -- extensions ------------------------------------------------------------------------------------
    async def ext(self, channel: Channel, env: Env) -> None:
        """AGI(agi://host/ext,DESTINATION[,EXTENSION]): the caller's extension (or accountcode) pays."""
        env = _text_only(env)
        if not env.args or not env.args[0]:
            await self._refuse(channel, BillStatus.INVALID_NUMBER, "no destination given to the ext AGI", speak=False)
            return
        extension = env.args[1] if len(env.args) > 1 and env.args[1] else _callerid(env)
        accountcode, dialled, caller = env.accountcode.strip(), env.args[0], _caller(env)
        await self._authorize(  # who the extension is, and its call, in one transaction
            channel,
            lambda conn, slices: lifecycle.authorize_extension_in(
                conn, self.catalog, self.settings, extension, accountcode, dialled, caller, slices
            ),
            announce=False,
        )

    # -- incoming calls --------------------------------------------------------------------------------
    async def incoming(self, channel: Channel, env: Env) -> None:
        """AGI(agi://host/in[,NUMBER]): a call TO one of our numbers, NUMBER (else the extension the call came in
        on): the account it reaches pays by its incoming tariff, priced by the caller's number; BILL_DIAL rings it.
        Not billed (no incoming tariff): BILL_STATUS=OK and BILL_DIAL alone, no session, no limit."""
        env = _text_only(env)
        called = env.args[0] if env.args and env.args[0] else _called(env)
        caller_id, caller = _callerid(env), _caller(env)
        await self._authorize(  # who is called, and the call, in one transaction
            channel,
            lambda conn, slices: lifecycle.authorize_incoming_in(
                conn, self.catalog, self.settings, called, caller_id, caller, slices
            ),
            announce=False,
        )

    # -- shared ----------------------------------------------------------------------------------------
    async def _authorize(self, channel: Channel, authorize: Authorize, announce: bool) -> None:
        result = await self._reserve(authorize)
        if result.status is not BillStatus.OK:
            await self._refuse(channel, result.status, result.reason, speak=announce)
            return
        if not result.session:  # an incoming call not billed: where to ring it, and nothing held to release
            await channel.set_variable(dialplan.DIAL, result.dial)
            await channel.set_variable(dialplan.STATUS, "OK")
            return
        release = functools.partial(self._release, result.session, "caller left the AGI")
        channel.on_abort(release)
        if announce:
            await channel.say_number(result.max_seconds // 60)
            await self._play(channel, "minutes")
        dials = result.dials or (result.dial,)
        # One route: the dialplan's defaults (BILL_ROUTES 1, BILL_DIAL_1 = BILL_DIAL) save the hot path two commands.
        routes = [] if len(dials) == 1 else [(dialplan.ROUTES, len(dials)), *_numbered(dials)]
        for name, value in (
            (dialplan.SESSION, result.session),
            (dialplan.MAX_MS, result.max_ms),
            (dialplan.DIAL, dials[0]),
            *routes,
            (dialplan.NUMBER, result.number),
        ):
            await channel.set_variable(name, value)
        if result.held_seconds < result.max_seconds:  # a slice: the channel may not outlast what it holds
            await channel.set_variable(dialplan.HARD_LIMIT, result.held_seconds)
        channel.forget_abort(release)  # once OK is sent the dialplan may dial: only the settlement ends the hold
        await channel.set_variable(dialplan.STATUS, "OK")

    async def _reserve(self, authorize: Authorize) -> calls.Authorization:
        """``authorize`` in the writer, which cancelling the session (serve stopping) cannot stop: then a reservation
        not begun is skipped, and one being written is waited for and released, unheard of."""
        abandoned: list[bool] = []  # appended to when the session is cancelled (a flag the writer thread reads)
        slices = await self._slice_seconds()

        def work(conn: Connection) -> calls.Authorization | None:
            return None if abandoned else authorize(conn, slices)

        job = self._write_future(work)
        try:
            result = await asyncio.shield(job)
        except asyncio.CancelledError:
            abandoned.append(True)
            late = await job
            if late is not None and late.status is BillStatus.OK:
                await self._release(late.session, "serve stopped before the dialplan heard of the call")
            raise
        assert result is not None  # only an abandoned authorization is skipped
        return result

    async def _release(self, session: str, note: str) -> None:
        await self._write(lambda conn: lifecycle.close(conn, session, RELEASED, note))

    async def _refuse(self, channel: Channel, status: BillStatus, reason: str, speak: bool = True) -> None:
        await channel.set_variable(dialplan.STATUS, status.value)
        await channel.verbose(f"asteriskbill: {status.value}: {reason}")
        if speak:
            key = "invalid" if status in SILENT_REFUSALS else f"refused_{status.value}"
            await self._play(channel, key if key in self.prompts else "refused")
            await self._play(channel, "goodbye")

    async def _play(self, channel: Channel, key: str) -> None:
        await self._stream(channel, self.prompts.get(key), f"prompts.{key}")

    async def _stream(self, channel: Channel, name: str | None, setting: str) -> None:
        """An announcement: a missing sound file is logged (with the setting that names it), and the call goes on."""
        if not name:
            return
        try:
            await channel.stream_file(name)
        except PromptMissing:
            log.warning("prompt %r is missing on %s: set %s", name, channel.env.channel, setting)


def _text_only(env: Env) -> Env:
    """``env`` with the values that are not UTF-8 (the decoder keeps such bytes as lone surrogates) made unknown
    (""), told in one short warning (a caller could otherwise fill the log)."""
    if "".join(env.values).isascii() and "".join(env.values.values()).isascii():  # nearly every call
        return env
    bad = [name for name, value in env.values.items() if not (_is_text(name) and _is_text(value))]
    if not bad:
        return env
    shown = ", ".join(f"{_ascii(name)}={_ascii(env.values[name])}" for name in bad[:5])
    more = f" and {len(bad) - 5} more" if len(bad) > 5 else ""
    log.warning("%s: AGI values not UTF-8, taken as unknown: %s%s", _ascii(env.channel), shown, more)
    return build_env({name: "" if name in bad else value for name, value in env.values.items()})


def _is_text(value: str) -> bool:
    try:
        value.encode(ENCODING)
    except UnicodeEncodeError:
        return False
    return True


def _ascii(value: str) -> str:
    """The first 40 bytes of ``value`` as they came, printable: stray bytes as ``\\xff``."""
    return value.encode(ENCODING, ERRORS)[:40].decode("ascii", "backslashreplace")


def _caller(env: Env) -> calls.Caller:
    return calls.Caller(env.channel, env.uniqueid, _callerid(env))


def _callerid(env: Env) -> str:
    number = env.callerid
    return "" if number in ("", "unknown") else number


def _called(env: Env) -> str:
    """The number an incoming call was made to: the extension it came in on, else the dialled number (DNID)."""
    for number in (env.extension, env.dnid):
        if number not in ("", "s", "unknown"):
            return number
    return ""


def _numbered(dials: tuple[str, ...]) -> list[tuple[str, str]]:
    """BILL_DIAL_1..N."""
    return [(dialplan.dial_variable(route), dial) for route, dial in enumerate(dials, start=1)]
