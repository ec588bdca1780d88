"""How many times a command has been delivered, to dead-letter one that keeps failing.

Two sources, the larger wins: the quorum queue's ``x-delivery-count`` header (survives a
restart of the gateway) and an in-memory count of redeliveries keyed by message id and body
hash (covers a queue of another type). The in-memory table is bounded: the oldest entries go
first, so at worst a very old message gets a few more attempts than the limit.
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from collections.abc import Mapping

from oms.bus.topology import DELIVERY_COUNT_HEADER


def message_key(message_id: str | None, body: bytes) -> str:
    digest = hashlib.sha256(body).hexdigest()
    return f"{message_id}:{digest}" if message_id else digest


def broker_attempt(headers: Mapping[str, object] | None) -> int:
    """The attempt number the broker's delivery count implies (1 when it has none)."""
    count = (headers or {}).get(DELIVERY_COUNT_HEADER)
    if isinstance(count, int) and not isinstance(count, bool) and count >= 0:
        return count + 1
    return 1


class DeliveryAttempts:
    """Counts deliveries per message key. Used by the consumer's thread only."""

    def __init__(self, capacity: int = 100_000) -> None:
        self._capacity = capacity
        self._counts: OrderedDict[str, int] = OrderedDict()

    def record(self, key: str, redelivered: bool) -> int:
        """Count one delivery and return its attempt number (1 for a first delivery)."""
        if redelivered:
            # A redelivery we never saw (the gateway restarted) is at least the second attempt.
            attempt = self._counts.pop(key, 1) + 1
        else:
            self._counts.pop(key, None)
            attempt = 1
        self._counts[key] = attempt
        while len(self._counts) > self._capacity:
            self._counts.popitem(last=False)
        return attempt

    def forget(self, key: str) -> None:
        """The message was settled for good (acknowledged or dead-lettered)."""
        self._counts.pop(key, None)

    def __len__(self) -> int:
        return len(self._counts)
