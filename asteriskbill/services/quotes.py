"""`quote`: what a call would cost, or what an authorization would grant, decided exactly as for a call.

The dialled number goes through the number plan a call would (the account's company's, or the global one),
and a balance is judged by the authorization's own decision (billing.authorize.grant) over the same horizon
(``max_call_seconds``), so a quote never promises a call that the engine would refuse or cut sooner.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine

from asteriskbill.billing.authorize import BillStatus, Funds, Grant, grant
from asteriskbill.billing.numbers import Normalized
from asteriskbill.rating.engine import Charge, NoRateError, Pricing
from asteriskbill.services.numbers import normalize_for
from asteriskbill.services.tariffs import call_start, get_tariff
from asteriskbill.settings import Settings
from asteriskbill.store import tariffs as repo


@dataclass(frozen=True)
class Quote:
    """A call to a dialled number as the engine would see it: its number, pricing, charge and decision."""

    number: Normalized
    pricing: Pricing
    charge: Charge  # the quoted seconds; with a balance, the seconds granted (0 when refused)
    decision: Grant | BillStatus | None = None  # with a balance: what an authorization answers

    @property
    def status(self) -> BillStatus | None:
        return BillStatus.OK if isinstance(self.decision, Grant) else self.decision


def _pricing(
    engine: Engine,
    settings: Settings,
    tariff_name: str,
    dialled: str,
    at: datetime | None,
    account: str | None,
    horizon: int,
) -> tuple[Normalized, Pricing]:
    number = normalize_for(engine, settings, dialled, account)
    with engine.begin() as conn:
        tid, tariff = get_tariff(conn, tariff_name)
        rates = repo.rates_for_number(conn, tid, number.number)
    try:
        return number, Pricing(tariff, rates, number.number, call_start(tariff, at), horizon)
    except NoRateError as exc:
        if number.number == number.dialled:
            raise
        rules = ", ".join(number.rules)  # say why: "35921234567" dialled is local, not Bulgaria
        raise NoRateError(f"{exc} (dialled {dialled}: {rules}; see `asteriskbill numbers normalize`)") from None


def quote_seconds(
    engine: Engine,
    settings: Settings,
    tariff_name: str,
    dialled: str,
    seconds: int,
    at: datetime | None = None,
    account: str | None = None,
) -> Quote:
    """What ``seconds`` billable seconds of a call to ``dialled`` cost in the tariff."""
    number, pricing = _pricing(engine, settings, tariff_name, dialled, at, account, seconds)
    return Quote(number, pricing, pricing.cost(seconds))


def quote_balance(
    engine: Engine,
    settings: Settings,
    tariff_name: str,
    dialled: str,
    balance: int,
    at: datetime | None = None,
    account: str | None = None,
) -> Quote:
    """What an authorization would grant an account holding just ``balance`` for a call to ``dialled``."""
    number, pricing = _pricing(engine, settings, tariff_name, dialled, at, account, settings.max_call_seconds)
    decision = grant(Funds.alone(balance), pricing)
    granted = decision.max_seconds if isinstance(decision, Grant) else 0
    return Quote(number, pricing, pricing.cost(granted), decision)
