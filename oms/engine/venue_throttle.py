"""Each venue's outbound message-rate limit as the core sees it when it takes a request: a
token bucket that admits a message at once while the rate allows, holds it for a bounded time
when the rate is reached, and refuses a new order or replace beyond that bound (the caller
rejects it with the reason). A cancel is never refused: it takes its token however long the
wait (``reserve_always``), so the new orders and replaces after a burst of cancels see the load.

The messages themselves are paced on the wire by the venue's sender (``venue_outbound``), at
the same rate, cancels first. Times are passed in (monotonic seconds), so it is deterministic
under test."""

from __future__ import annotations


class OutboundThrottle:
    def __init__(self, per_second: int, hold_s: float, now_s: float) -> None:
        if per_second <= 0:
            raise ValueError("per_second must be positive")
        self.per_second = per_second
        self.hold_s = hold_s
        self._tokens = float(per_second)
        self._at = now_s

    def reserve(self, now_s: float) -> float | None:
        """Seconds to wait before sending one message, or None if that exceeds the hold."""
        wait = self.reserve_always(now_s)
        if wait > self.hold_s:
            self._tokens += 1.0
            return None
        return wait

    def reserve_always(self, now_s: float) -> float:
        """Seconds to wait before sending one message that must go (a cancel), however long."""
        elapsed = max(0.0, now_s - self._at)
        self._at = now_s
        self._tokens = min(float(self.per_second), self._tokens + elapsed * self.per_second)
        self._tokens -= 1.0
        return 0.0 if self._tokens >= 0 else -self._tokens / self.per_second

    def describe(self) -> str:
        return f"{self.per_second} msg/s, held at most {self.hold_s * 1000:.0f} ms"
