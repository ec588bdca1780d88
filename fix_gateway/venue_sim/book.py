"""A limit order book for one symbol: price levels in price-time priority.

Each side keeps its price keys sorted so that the best level is at the end of a list (removing
it is O(1)), and each level is an insertion-ordered dict of orders (time priority, O(1) removal
from anywhere). The book only stores orders; the matching engine decides what trades.
"""

from __future__ import annotations

from bisect import bisect_left, insort
from collections.abc import Iterator
from decimal import Decimal

from fix_gateway.venue_sim.model import ZERO, Order, Side


class BookSide:
    def __init__(self, side: Side) -> None:
        self.side = side
        # Bids are keyed by price, asks by -price: in both cases the best level has the largest
        # key and sits at the end of ``_keys``.
        self._sign = 1 if side is Side.BUY else -1
        self._keys: list[Decimal] = []
        self._levels: dict[Decimal, dict[str, Order]] = {}

    def __bool__(self) -> bool:
        return bool(self._keys)

    def best_price(self) -> Decimal | None:
        return self._keys[-1] * self._sign if self._keys else None

    def best_order(self) -> Order | None:
        if not self._keys:
            return None
        return next(iter(self._levels[self._keys[-1]].values()))

    def add(self, order: Order) -> None:
        """Append ``order`` at the back of its price level (last in time priority)."""
        assert order.price is not None, "only limit orders rest"
        key = order.price * self._sign
        level = self._levels.get(key)
        if level is None:
            level = self._levels[key] = {}
            insort(self._keys, key)
        level[order.order_id] = order

    def remove(self, order: Order) -> bool:
        assert order.price is not None
        key = order.price * self._sign
        level = self._levels.get(key)
        if level is None or level.pop(order.order_id, None) is None:
            return False
        if not level:
            del self._levels[key]
            index = bisect_left(self._keys, key)
            del self._keys[index]
        return True

    def crosses(self, limit: Decimal | None) -> bool:
        """Would an incoming order on the other side with this limit trade at the best level?"""
        if not self._keys:
            return False
        if limit is None:
            return True
        return self._keys[-1] >= limit * self._sign

    def quantity_up_to(self, limit: Decimal | None, wanted: Decimal) -> Decimal:
        """Quantity available to an incoming order with ``limit`` (None = market), counted
        until ``wanted`` is reached: what a fill-or-kill order checks before trading."""
        total = ZERO
        for key in reversed(self._keys):
            if limit is not None and key < limit * self._sign:
                break
            for order in self._levels[key].values():
                total += order.leaves_qty
                if total >= wanted:
                    return total
        return total

    def levels(self) -> Iterator[tuple[Decimal, list[Order]]]:
        """Price levels best first, each with its orders in time priority."""
        for key in reversed(self._keys):
            yield key * self._sign, list(self._levels[key].values())

    def depth(self) -> list[tuple[Decimal, Decimal]]:
        """(price, total leaves quantity) per level, best first."""
        return [
            (price, sum((o.leaves_qty for o in orders), ZERO)) for price, orders in self.levels()
        ]


class OrderBook:
    def __init__(self, symbol: str) -> None:
        self.symbol = symbol
        self.bids = BookSide(Side.BUY)
        self.asks = BookSide(Side.SELL)

    def side(self, side: Side) -> BookSide:
        return self.bids if side is Side.BUY else self.asks

    def opposite(self, side: Side) -> BookSide:
        return self.asks if side is Side.BUY else self.bids

    def would_cross(self, side: Side, price: Decimal) -> bool:
        """Would a limit order on ``side`` at ``price`` trade on arrival?"""
        return self.opposite(side).crosses(price)
