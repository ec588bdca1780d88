"""Open orders per account and their leaves per (account, symbol, side), kept as orders change.

The pre-trade risk check needs them for every new order and replace (max open orders, max
position and gross exposure counting open orders). Scanning every open order each time costs
O(open orders) per order: with a thousand orders in flight during a burst that scan was the
core's largest cost. Here each order's contribution is remembered and replaced whenever the
order changes, so a read is O(1). The core calls ``update`` after every change it applies to an
order (``Handlers._record``: an order only changes through ``Order.apply``, and every applied
change is recorded to be written) and when it adopts one (new, or read from Postgres).
Quantities are Decimals: additions and subtractions are exact.
"""

from __future__ import annotations

from decimal import Decimal

from oms.domain.orders import Order

ZERO = Decimal(0)


class OpenExposure:
    __slots__ = ("_contribution", "_leaves", "_open")

    def __init__(self) -> None:
        self._contribution: dict[str, tuple[str, str, bool, Decimal]] = {}
        """order_id -> (account, symbol, is buy, leaves) of each open order."""
        self._open: dict[str, int] = {}
        self._leaves: dict[tuple[str, str, bool], Decimal] = {}

    def update(self, order: Order) -> None:
        """Count ``order`` as it is now (an order that is not open counts for nothing)."""
        old = self._contribution.pop(order.order_id, None)
        if old is not None:
            account, symbol, buy, leaves = old
            self._open[account] -= 1
            self._leaves[(account, symbol, buy)] -= leaves
        if order.is_open:
            buy = order.side.sign > 0
            leaves = order.leaves_qty
            self._contribution[order.order_id] = (order.account, order.symbol, buy, leaves)
            self._open[order.account] = self._open.get(order.account, 0) + 1
            key = (order.account, order.symbol, buy)
            self._leaves[key] = self._leaves.get(key, ZERO) + leaves

    def __len__(self) -> int:
        """Open orders counted (the sums are per account and symbol: bounded by those)."""
        return len(self._contribution)

    def open_orders(self, account: str) -> int:
        return self._open.get(account, 0)

    def open_leaves(self, account: str, symbol: str) -> tuple[Decimal, Decimal]:
        """(buy leaves, sell leaves) of the open orders of ``account`` in ``symbol``."""
        get = self._leaves.get
        return get((account, symbol, True), ZERO), get((account, symbol, False), ZERO)
