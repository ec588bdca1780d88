"""Which client requests of a batch were recorded before (duplicates and broker redeliveries).

``Handlers.begin`` asks the store (``OrderStore.recorded_requests``) about every request of the
batch at once: one key per request, each carrying the first trading day that counts
(``ClOrdIdScope.duplicates_since``): the request's own day for a day-scoped FIX session,
``EVERY_DAY`` otherwise.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date


@dataclass(frozen=True, slots=True)
class RequestKey:
    """A request to look for: its origin and ClOrdID, and the first trading day that counts."""

    origin: str
    cl_ord_id: str
    since: date


@dataclass(frozen=True, slots=True)
class Recorded:
    """The newest recorded request of a key: its trading day and the order it named."""

    trading_day: date
    order_id: str | None
