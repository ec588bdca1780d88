"""Simulated liquidity: a market maker that quotes a ladder around the reference price.

It keeps ``levels`` quotes on each side, the first ``first_offset_ticks`` from the reference
price and then ``spacing_ticks`` apart. A quote that has been filled is replaced at the same
price with a fresh size, so the book never runs dry; a level that would cross the other side
(someone rests an order through the ladder) waits until it no longer does. Sizes come from a
random generator seeded by (seed, symbol): the same seed gives the same book.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

from fix_gateway.venue_sim.book import OrderBook
from fix_gateway.venue_sim.model import Order, Side

PostQuote = Callable[[Side, Decimal, Decimal], Order]


@dataclass(frozen=True, slots=True)
class LiquidityProfile:
    levels: int = 5
    first_offset_ticks: int = 1
    spacing_ticks: int = 2
    min_lots: int = 100
    max_lots: int = 1000
    round_lots: int = 100

    def __post_init__(self) -> None:
        if self.levels < 1 or self.first_offset_ticks < 1 or self.spacing_ticks < 1:
            raise ValueError("levels, first_offset_ticks and spacing_ticks must be positive")
        if not 0 < self.min_lots <= self.max_lots or self.round_lots < 1:
            raise ValueError("need 0 < min_lots <= max_lots and round_lots >= 1")


class MarketMaker:
    def __init__(
        self,
        symbol: str,
        reference_price: Decimal,
        tick_size: Decimal,
        lot_size: Decimal,
        seed: int,
        profile: LiquidityProfile | None = None,
    ) -> None:
        self.symbol = symbol
        self.profile = profile or LiquidityProfile()
        self._lot_size = lot_size
        self._rng = random.Random(f"{seed}:{symbol}")
        self._quotes: dict[tuple[Side, Decimal], Order | None] = {}
        p = self.profile
        for i in range(p.levels):
            offset = tick_size * (p.first_offset_ticks + i * p.spacing_ticks)
            if reference_price - offset > 0:
                self._quotes[(Side.BUY, reference_price - offset)] = None
            self._quotes[(Side.SELL, reference_price + offset)] = None

    def _size(self) -> Decimal:
        p = self.profile
        steps = self._rng.randint(p.min_lots // p.round_lots or 1, p.max_lots // p.round_lots)
        return self._lot_size * steps * p.round_lots

    def replenish(self, book: OrderBook, post: PostQuote) -> None:
        """Post a quote at every ladder price that has none live and would not cross."""
        for key, order in self._quotes.items():
            if order is not None and order.is_live:
                continue
            side, price = key
            if book.would_cross(side, price):
                continue
            self._quotes[key] = post(side, price, self._size())
