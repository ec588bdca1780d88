"""Duplicate-order detection: the same order (account, symbol, side, quantity, prices) accepted
again within a configured window is most likely a strategy or client resending by mistake."""

from __future__ import annotations

from collections import deque
from datetime import datetime, timedelta
from decimal import Decimal

from oms.domain.values import Side

OrderKey = tuple[str, str, Side, Decimal, Decimal | None, Decimal | None]
"""account, symbol, side, quantity, price, stop price."""


class DuplicateOrderGuard:
    """When each recent order key was last accepted; entries older than the window are dropped.

    Decimals that are equal hash equal (``100`` and ``100.00`` are the same quantity).
    """

    __slots__ = ("_last_seen", "_log")

    def __init__(self) -> None:
        self._last_seen: dict[OrderKey, datetime] = {}
        self._log: deque[tuple[datetime, OrderKey]] = deque()

    def last_seen(self, key: OrderKey, now: datetime, window: timedelta) -> datetime | None:
        """When the same order was accepted within ``(now - window, now]``, else ``None``."""
        self._evict(now - window)
        return self._last_seen.get(key)

    def record(self, key: OrderKey, now: datetime, window: timedelta) -> None:
        self._evict(now - window)
        self._last_seen[key] = now
        self._log.append((now, key))

    def __len__(self) -> int:
        return len(self._last_seen)

    def _evict(self, cutoff: datetime) -> None:
        log, last_seen = self._log, self._last_seen
        while log and log[0][0] <= cutoff:
            at, key = log.popleft()
            if last_seen.get(key) == at:
                del last_seen[key]
