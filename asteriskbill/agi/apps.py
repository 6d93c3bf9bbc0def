"""The billing applications the dialplan calls: ``card`` (calling-card IVR) and ``ext`` (PBX extensions).

Both end the same way: the call is normalised, routed, rated and its credit reserved, and the dialplan
gets BILL_STATUS=OK with BILL_SESSION, BILL_MAX_MS, BILL_DIAL and BILL_NUMBER — or BILL_STATUS saying
why not. They only translate between AGI and the services; the database work runs in worker threads
so one FastAGI server keeps serving hundreds of channels.

If the caller hangs up after the credit was reserved but before the dialplan dials, the channel's
abort hook releases the reservation: nothing stays held for a call that never happened.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Callable
from typing import Concatenate, ParamSpec, TypeVar

from sqlalchemy import Engine

from asteriskbill.agi.channel import Channel
from asteriskbill.agi.protocol import Env, PromptMissing
from asteriskbill.agi.session import App
from asteriskbill.billing.authorize import BillStatus
from asteriskbill.billing.cards import luhn_valid
from asteriskbill.money import MICRO
from asteriskbill.services import calls
from asteriskbill.settings import Settings

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
}
# A locked card hears the same as a wrong PIN: nothing tells a guesser that the lock exists.
SILENT_REFUSALS = {BillStatus.UNKNOWN_CARD, BillStatus.WRONG_PIN, BillStatus.LOCKED}
TRIES = 3
APP_NAMES = ("card", "ext")  # AGI(agi://host/card), AGI(agi://host/ext,NUMBER)
log = logging.getLogger("asteriskbill.agi")
DIGIT_TIMEOUT_MS = 6000
_P = ParamSpec("_P")
_R = TypeVar("_R")


class BillingApps:
    """The AGI applications, bound to one database and one set of settings."""

    def __init__(self, engine: Engine, settings: Settings):
        self.engine = engine
        self.settings = settings
        self.prompts = {**DEFAULT_PROMPTS, **settings.prompts}

    @property
    def apps(self) -> dict[str, App]:
        return {name: getattr(self, name) for name in APP_NAMES}

    async def _db(self, function: Callable[Concatenate[Engine, _P], _R], *args: _P.args, **kwargs: _P.kwargs) -> _R:
        return await asyncio.to_thread(functools.partial(function, self.engine, *args, **kwargs))

    # -- calling cards ---------------------------------------------------------------------------------
    async def card(self, channel: Channel, env: Env) -> None:
        """AGI(agi://host/card[,DESTINATION]): CallerID or card number + PIN, then the destination."""
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
        await self._authorize(channel, env, login.account_id, dialled, announce=True)

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
        balance = await self._db(calls.balance, account_id)
        await self._play(channel, "you_have")
        await channel.say_number(max(balance.available, 0) // MICRO)
        await self._play(channel, f"currency_{balance.currency}")

    # -- extensions ------------------------------------------------------------------------------------
    async def ext(self, channel: Channel, env: Env) -> None:
        """AGI(agi://host/ext,DESTINATION[,EXTENSION]): the caller's extension (or accountcode) pays."""
        if not env.args or not env.args[0]:
            await self._refuse(channel, BillStatus.INVALID_NUMBER, "no destination given to the ext AGI", speak=False)
            return
        extension = env.args[1] if len(env.args) > 1 and env.args[1] else _callerid(env)
        login = await self._db(calls.extension_login, extension, env.accountcode.strip())
        if login.status is not BillStatus.OK:
            await self._refuse(channel, login.status, login.reason, speak=False)
            return
        assert login.account_id is not None  # an OK login names its account
        await self._authorize(channel, env, login.account_id, env.args[0], announce=False)

    # -- shared ----------------------------------------------------------------------------------------
    async def _authorize(self, channel: Channel, env: Env, account_id: int, dialled: str, announce: bool) -> None:
        caller = calls.Caller(env.channel, env.uniqueid, _callerid(env))
        result = await self._db(calls.authorize, self.settings, account_id, dialled, caller)
        if result.status is not BillStatus.OK:
            await self._refuse(channel, result.status, result.reason, speak=announce)
            return
        channel.on_abort(functools.partial(self._db, calls.release, result.session, "caller left the AGI"))
        if announce:
            await channel.say_number(result.max_seconds // 60)
            await self._play(channel, "minutes")
        for name, value in (
            ("BILL_SESSION", result.session),
            ("BILL_MAX_MS", result.max_ms),
            ("BILL_DIAL", result.dial),
            ("BILL_NUMBER", result.number),
            ("BILL_STATUS", "OK"),
        ):
            await channel.set_variable(name, value)

    async def _refuse(self, channel: Channel, status: BillStatus, reason: str, speak: bool = True) -> None:
        await channel.set_variable("BILL_STATUS", status.value)
        await channel.verbose(f"asteriskbill: {status.value}: {reason}")
        if speak:
            key = "invalid" if status in SILENT_REFUSALS else f"refused_{status.value}"
            await self._play(channel, key if key in self.prompts else "refused")
            await self._play(channel, "goodbye")

    async def _play(self, channel: Channel, key: str) -> None:
        """An announcement: a missing sound file is logged, and the call goes on without it."""
        name = self.prompts.get(key)
        if not name:
            return
        try:
            await channel.stream_file(name)
        except PromptMissing:
            log.warning("prompt %s (%r) is missing on %s: set prompts.%s", key, name, channel.env.channel, key)


def _callerid(env: Env) -> str:
    number = env.callerid
    return "" if number in ("", "unknown") else number
