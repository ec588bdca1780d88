"""Sliding-window event counters for order and message rate limits.

A window is state owned by the engine and passed in with the risk context. Checks only read it
(dropping events that have slid out); the engine calls ``record(now)`` after it accepts an order
or message, through ``record_new_order`` / ``record_replace`` / ``record_cancel``, which record
only into windows whose limit is set. New orders and replaces never take a window past its
limit; cancels, never refused, may (a message window then holds at most its limit plus the
cancels of the last period).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from datetime import datetime, timedelta

KEPT_FOR = timedelta(hours=1)
"""Longer than any rate window the limits can name (they are per second)."""


class SlidingWindow:
    """Times of recorded events, oldest first. ``count`` counts those in ``(now - per, now]``."""

    __slots__ = ("_times",)

    def __init__(self) -> None:
        self._times: deque[datetime] = deque()

    def count(self, now: datetime, per: timedelta) -> int:
        times = self._times
        if times:
            cutoff = now - per
            while times and times[0] <= cutoff:
                times.popleft()
        return len(times)

    def record(self, now: datetime) -> None:
        """Record an event at ``now``; times older than ``KEPT_FOR`` are dropped, so a window
        that is recorded but never counted (an account that only cancels) stays bounded."""
        times = self._times
        cutoff = now - KEPT_FOR
        while times and times[0] <= cutoff:
            times.popleft()
        times.append(now)

    def __len__(self) -> int:
        return len(self._times)


@dataclass(slots=True)
class RateWindows:
    """The windows one order or message counts against: its account's and its session's.

    The session windows are ``None`` for an origin without a session limit (e.g. AMQP intake).
    """

    account_orders: SlidingWindow = field(default_factory=SlidingWindow)
    account_messages: SlidingWindow = field(default_factory=SlidingWindow)
    session_orders: SlidingWindow | None = None
    session_messages: SlidingWindow | None = None
