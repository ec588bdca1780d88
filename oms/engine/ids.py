"""Order ids and venue ClOrdIDs, drawn in blocks from Postgres sequences.

A sequence never hands out a number twice, even across crashes and rolled-back transactions,
so a venue ClOrdID is unique per venue for all time. Numbers are written in base 36 to stay far
inside FIX's 20-character budget for ClOrdID at venues.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable

DIGITS = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
MAX_VENUE_CL_ORD_ID = 20


def base36(number: int) -> str:
    if number < 0:
        raise ValueError("negative")
    out = ""
    while True:
        number, rem = divmod(number, 36)
        out = DIGITS[rem] + out
        if number == 0:
            return out


class IdAllocator:
    """Hands out ids from blocks reserved by ``reserve(count)`` (a short transaction)."""

    def __init__(self, prefix: str, reserve: Callable[[int], list[int]], block: int = 1000) -> None:
        self._prefix = prefix
        self._reserve = reserve
        self._block = block
        self._free: deque[int] = deque()

    def ensure(self, count: int) -> None:
        """At least ``count`` ids at hand (reserved now if fewer)."""
        if len(self._free) < count:
            self._free.extend(self._reserve(max(self._block, count - len(self._free))))

    def next(self) -> str:
        if not self._free:
            self._free.extend(self._reserve(self._block))
        value = f"{self._prefix}{base36(self._free.popleft())}"
        if len(value) > MAX_VENUE_CL_ORD_ID:
            raise OverflowError(f"id {value!r} is longer than {MAX_VENUE_CL_ORD_ID} characters")
        return value
