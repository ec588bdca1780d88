"""Venue requests awaiting the venue's answer, each with a deadline: no request waits silently.

A new, cancel or replace is watched from the moment the core sends it (``sent``). Unanswered at
its deadline (the venue's ``request_timeout_s``), the core asks the venue for the order's
status (``status_requested``); unanswered again, the request is ``in_doubt`` and waits for an
operator (no deadline any more; a later answer still settles it). The stages are the
``venue_requests.state`` values of the same names.

Memory and time are proportional to the requests in flight: a dict by (venue, venue ClOrdID),
an index by order, and a heap of deadlines whose stale entries (answered or re-armed requests)
are dropped as they come up, or all at once when they outnumber the live ones (or nothing is
watched any more).
Core thread only.
"""

from __future__ import annotations

import heapq
import itertools
import math
from dataclasses import dataclass
from datetime import datetime

SENT = "sent"
STATUS_REQUESTED = "status_requested"
IN_DOUBT = "in_doubt"
STAGES = (SENT, STATUS_REQUESTED, IN_DOUBT)

Key = tuple[str, str]
"""(venue, venue ClOrdID)."""


@dataclass(slots=True)
class WatchedRequest:
    venue: str
    venue_cl_ord_id: str
    order_id: str
    request_cl_ord_id: str
    kind: str
    """new, cancel or replace."""
    stage: str = SENT
    due: float = 0.0
    """When the current stage runs out (the core's monotonic clock); infinite once in doubt."""
    status_asked_at: datetime | None = None

    @property
    def key(self) -> Key:
        return (self.venue, self.venue_cl_ord_id)


class RequestWatch:
    def __init__(self) -> None:
        self._requests: dict[Key, WatchedRequest] = {}
        self._by_order: dict[str, dict[Key, WatchedRequest]] = {}
        self._deadlines: list[tuple[float, int, Key]] = []
        self._counter = itertools.count()
        self._doubtful: dict[str, int] = {}
        """In-doubt requests per order."""

    def __len__(self) -> int:
        return len(self._requests)

    def __contains__(self, key: object) -> bool:
        return key in self._requests

    def get(self, key: Key) -> WatchedRequest | None:
        return self._requests.get(key)

    def watch(self, request: WatchedRequest) -> None:
        """Start watching ``request`` (replacing any request under the same key)."""
        self.settle(request.key)
        self._requests[request.key] = request
        self._by_order.setdefault(request.order_id, {})[request.key] = request
        if request.stage == IN_DOUBT:
            request.due = math.inf
            self._doubtful[request.order_id] = self._doubtful.get(request.order_id, 0) + 1
        else:
            self._push(request)

    def arm(self, request: WatchedRequest, stage: str, due: float) -> None:
        """Move a watched request to ``stage``, running out at ``due`` (ignored in doubt)."""
        if stage not in STAGES:
            raise ValueError(f"unknown stage {stage!r}")
        was_doubtful = request.stage == IN_DOUBT
        request.stage = stage
        if stage == IN_DOUBT:
            request.due = math.inf
            if not was_doubtful:
                self._doubtful[request.order_id] = self._doubtful.get(request.order_id, 0) + 1
            return
        if was_doubtful:
            self._undoubt(request.order_id)
        request.due = due
        self._push(request)

    def settle(self, key: Key) -> WatchedRequest | None:
        """Stop watching ``key`` (answered); returns the request it was, if watched."""
        request = self._requests.pop(key, None)
        if request is None:
            return None
        of_order = self._by_order.get(request.order_id)
        if of_order is not None:
            of_order.pop(key, None)
            if not of_order:
                del self._by_order[request.order_id]
        if request.stage == IN_DOUBT:
            self._undoubt(request.order_id)
        if not self._requests:
            self._deadlines.clear()  # every entry left is stale
        return request

    def sizes(self) -> dict[str, int]:
        """Entries of each structure: proportional to the requests in flight."""
        return {"requests": len(self._requests), "orders": len(self._by_order),
                "deadlines": len(self._deadlines), "doubtful": len(self._doubtful)}

    def of_order(self, order_id: str) -> tuple[WatchedRequest, ...]:
        of_order = self._by_order.get(order_id)
        return tuple(of_order.values()) if of_order else ()

    def of_venue(self, venue: str) -> list[WatchedRequest]:
        """Every watched request of ``venue``, oldest key first (a scan: for logons only)."""
        return sorted((r for r in self._requests.values() if r.venue == venue),
                      key=lambda r: r.venue_cl_ord_id)

    def stage_of(self, key: Key) -> str | None:
        request = self._requests.get(key)
        return None if request is None else request.stage

    def in_doubt(self, order_id: str) -> bool:
        return order_id in self._doubtful

    def orders_in_doubt(self) -> int:
        return len(self._doubtful)

    def due(self, now: float) -> list[WatchedRequest]:
        """The watched requests whose stage ran out at ``now``, earliest first. They stay
        watched: the caller moves each on (``arm``) or stops watching it (``settle``)."""
        found: dict[Key, WatchedRequest] = {}
        heap = self._deadlines
        while heap and heap[0][0] <= now:
            due, _, key = heapq.heappop(heap)
            request = self._requests.get(key)
            if request is not None and request.due == due and request.stage != IN_DOUBT:
                found[key] = request
        return list(found.values())

    def _push(self, request: WatchedRequest) -> None:
        heapq.heappush(self._deadlines, (request.due, next(self._counter), request.key))
        if len(self._deadlines) > 2 * len(self._requests) + 64:
            self._deadlines = [
                (r.due, next(self._counter), r.key)
                for r in self._requests.values() if r.stage != IN_DOUBT
            ]
            heapq.heapify(self._deadlines)

    def _undoubt(self, order_id: str) -> None:
        left = self._doubtful.get(order_id, 0) - 1
        if left > 0:
            self._doubtful[order_id] = left
        else:
            self._doubtful.pop(order_id, None)
