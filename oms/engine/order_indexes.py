"""Indexes of the core whose entries each belong to one order, dropped with it.

``CoreState`` keeps, besides the orders themselves, lookups by client ClOrdID, by venue
ClOrdID and by request. Each entry belongs to one order; when that order closes and its batch
has committed, ``forget`` drops every entry of it at once (no scan), so memory holds what the
open orders need and nothing of the orders closed since the start. A lookup that misses reads
the database, which holds every entry, exactly as after a restart.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class OrderKeyed(Generic[K, V]):
    """A mapping whose every entry belongs to the order ``owner(key, value)`` names.

    A key written again for another order moves to that order (the newest writer wins, as in
    a dict): forgetting the first order then leaves it alone."""

    __slots__ = ("_entries", "_keys_of", "_owner")

    def __init__(self, owner: Callable[[K, V], str]) -> None:
        self._owner = owner
        self._entries: dict[K, V] = {}
        self._keys_of: dict[str, list[K]] = {}
        """order_id -> the keys it owns (one to a few: its requests)."""

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, key: object) -> bool:
        return key in self._entries

    def __getitem__(self, key: K) -> V:
        return self._entries[key]

    def get(self, key: K) -> V | None:
        return self._entries.get(key)

    def __setitem__(self, key: K, value: V) -> None:
        owner = self._owner(key, value)
        old = self._entries.get(key)
        if old is not None:
            old_owner = self._owner(key, old)
            if old_owner == owner:
                self._entries[key] = value
                return
            self._drop_key(old_owner, key)
        self._entries[key] = value
        self._keys_of.setdefault(owner, []).append(key)

    def forget(self, order_id: str) -> None:
        """Drop every entry of ``order_id``."""
        for key in self._keys_of.pop(order_id, ()):
            del self._entries[key]

    def owners(self) -> int:
        """How many orders have entries."""
        return len(self._keys_of)

    def _drop_key(self, order_id: str, key: K) -> None:
        keys = self._keys_of.get(order_id)
        if keys is None:
            return
        keys.remove(key)
        if not keys:
            del self._keys_of[order_id]
