"""Bundles before the balance, in the one formula: a call that may use ``b`` seconds of minutes, or ``B`` of money.

The bundle pays for the call's first ``b`` seconds: what ``Pricing.cost(b)`` bills (its connect fee, and the whole
block that second ``b`` falls in). The money pays the rest: ``cost(d) - cost(min(d, b))``, both costs rounded by
the tariff's rule, so money is 0 while the bundle lasts and then grows with the blocks started after it. A call of
``d`` seconds uses the bundle seconds its covered part bills (whole increments, none within the grace seconds), at
most ``b``.

``Bundled`` has the interface authorization, slices and settlement use of ``Pricing`` (``rate``, ``horizon``,
``cost``, ``max_duration``): its charges' ``cost`` is the money part and ``bundle_seconds`` the bundle part, so the
maximum duration of a call comes from the very function that prices it. ``max_duration(m)`` is the longest call
whose money part fits ``m``: ``Pricing.max_duration(m + cost(b))``, since cost(d) <= m + cost(b) is exactly
money(d) <= m for d >= b; the bundle alone pays for ``b`` seconds even when ``m`` is negative (a debt).

``Credited`` is a money bundle: it pays the first ``B`` of what the call costs, the balance the rest, max(0,
cost(d) - B); so ``max_duration(m)`` is ``Pricing.max_duration(m + B)``.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from asteriskbill.rating.engine import Charge, Pricing

if TYPE_CHECKING:
    from asteriskbill.rating.model import Rate


class _BeforeTheBalance:
    """What authorization asks of a pricing besides cost and max_duration: the plain pricing's."""

    def __init__(self, pricing: Pricing):
        self.pricing = pricing

    @property
    def rate(self) -> Rate:
        return self.pricing.rate

    @property
    def horizon(self) -> int:
        return self.pricing.horizon


class Bundled(_BeforeTheBalance):
    """Prices a call that uses up to ``bundle_seconds`` of a bundle before money."""

    def __init__(self, pricing: Pricing, bundle_seconds: int):
        super().__init__(pricing)
        self.bundle = max(0, min(bundle_seconds, pricing.horizon))
        self._covered = pricing.cost(self.bundle).cost  # what the bundle's seconds pay for

    def cost(self, seconds: int) -> Charge:
        """The money and the bundle seconds the first ``seconds`` of the call take (its spans: the whole call's)."""
        full = self.pricing.cost(seconds)
        covered = min(seconds, self.bundle)
        paid = self._covered if covered == self.bundle else self.pricing.cost(covered).cost
        used = min(self.bundle, self.pricing.billed(covered))
        return replace(full, cost=full.cost - paid, bundle_seconds=used)

    def max_duration(self, available: int) -> Charge:
        """The longest call (up to the horizon) whose money part is at most ``available`` micro-units; with less than
        nothing available (a debt), what the bundle alone pays for."""
        if available < 0:
            return self.cost(self.bundle)
        seconds = self.pricing.max_duration(available + self._covered).seconds
        return self.cost(max(seconds, self.bundle))


class Credited(_BeforeTheBalance):
    """Prices a call that uses up to ``amount`` micro-units of a money bundle before the balance."""

    def __init__(self, pricing: Pricing, amount: int):
        super().__init__(pricing)
        self.amount = max(0, amount)

    def cost(self, seconds: int) -> Charge:
        """What the balance and the bundle pay for the first ``seconds`` of the call (its spans: the whole call's)."""
        full = self.pricing.cost(seconds)
        used = min(full.cost, self.amount)
        return replace(full, cost=full.cost - used, bundle_amount=used)

    def max_duration(self, available: int) -> Charge:
        """The longest call (up to the horizon) whose part beyond the bundle is at most ``available``."""
        return self.cost(self.pricing.max_duration(max(available, 0) + self.amount).seconds)


def bundled(pricing: Pricing, seconds: int = 0, amount: int = 0) -> Pricing | Bundled | Credited:
    """The pricing of a call drawing on ``seconds`` of minutes or ``amount`` of money of a bundle; ``pricing`` itself
    when it draws on none: the calls without a bundle stay on the plain path."""
    if amount > 0:
        return Credited(pricing, amount)
    return Bundled(pricing, seconds) if seconds > 0 else pricing
