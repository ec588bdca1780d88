"""Each order's events back in ``seq`` order (pure: no I/O; the caller gives the time).

The OMS publishes each order's events in ``seq`` order, and a queue keeps that order. A
consumer can still see one out of order: a gateway older than that rule, an event an operator
published again after it had been parked, several gateways' events in one queue. So the
strategy client holds an event whose ``seq`` is past the next one its order expects, until the
missing ones arrive or ``gap_timeout_s`` has passed since it was held; then it hands out what
it holds in ``seq`` order, and the first event after each hole carries a ``SequenceGap``.

- An order's sequence starts with the first of its events the client receives: a client
  started while an order was live sees it from there on, with no gap for what came before.
- An event without ``order_id`` or ``seq`` (an order-less rejection, an answer that changed no
  order) is handed out at once.
- An event whose ``seq`` its order has passed already (it came after its gap was reported, or
  before the first event the client received) is handed out at once, marked ``late``; so is a
  second event with the ``seq`` of one held.
- The sequences of the last ``capacity`` orders seen are remembered; an order forgotten and
  seen again starts over, and events held for an order as it is forgotten are handed out as
  if their time had run out.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Generic, TypeVar

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class SequenceGap:
    """Events ``first`` to ``last`` (by ``seq``) of order ``order_id`` did not arrive in time."""

    order_id: str
    first: int
    last: int

    @property
    def missing(self) -> int:
        return self.last - self.first + 1

    def __str__(self) -> str:
        seqs = str(self.first) if self.first == self.last else f"{self.first}..{self.last}"
        return f"order {self.order_id}: seq {seqs} missing"


@dataclass(frozen=True, slots=True)
class Released(Generic[T]):
    """An item to hand out now; ``gap``: the seqs missed right before it."""

    item: T
    gap: SequenceGap | None = None
    late: bool = False


@dataclass(slots=True)
class _Order(Generic[T]):
    next_seq: int
    held: dict[int, T] = field(default_factory=dict)


class EventSequencer(Generic[T]):
    def __init__(self, gap_timeout_s: float = 5.0, capacity: int = 100_000) -> None:
        if gap_timeout_s <= 0:
            raise ValueError("gap_timeout_s must be positive")
        if capacity < 1:
            raise ValueError("capacity must be positive")
        self.gap_timeout_s = gap_timeout_s
        self.capacity = capacity
        self._orders: OrderedDict[str, _Order[T]] = OrderedDict()
        self._holding: dict[str, float] = {}
        """Orders with held events -> when the first of them was held (in that order)."""
        self.held = 0

    def offer(self, item: T, order_id: str | None, seq: int | None, now: float
              ) -> list[Released[T]]:
        """``item`` (an event of ``order_id`` with ``seq``) has arrived: what to hand out now,
        in order (possibly nothing: it is held)."""
        if order_id is None or seq is None:
            return [Released(item)]
        order = self._orders.get(order_id)
        if order is None:
            self._orders[order_id] = _Order(seq + 1)
            return [Released(item), *self._forget_beyond_capacity()]
        self._orders.move_to_end(order_id)
        if seq < order.next_seq or seq in order.held:
            return [Released(item, late=True)]
        if seq > order.next_seq:
            order.held[seq] = item
            self.held += 1
            self._holding.setdefault(order_id, now)
            return []
        order.next_seq += 1
        released = [Released(item)]
        while order.held and order.next_seq in order.held:
            released.append(Released(order.held.pop(order.next_seq)))
            self.held -= 1
            order.next_seq += 1
        if not order.held:
            self._holding.pop(order_id, None)
        return released

    def expire(self, now: float) -> list[Released[T]]:
        """Hand out, in ``seq`` order, what was held for ``gap_timeout_s`` or longer."""
        released: list[Released[T]] = []
        while self._holding:
            order_id, since = next(iter(self._holding.items()))
            if now - since < self.gap_timeout_s:
                break
            released += self._give_up_waiting(order_id)
        return released

    def next_deadline(self) -> float | None:
        """When ``expire`` will next hand something out (None: nothing is held)."""
        for since in self._holding.values():
            return since + self.gap_timeout_s
        return None

    def held_items(self) -> list[T]:
        return [item for order_id in self._holding
                for item in self._orders[order_id].held.values()]

    def _give_up_waiting(self, order_id: str) -> list[Released[T]]:
        del self._holding[order_id]
        order = self._orders[order_id]
        released: list[Released[T]] = []
        for seq in sorted(order.held):
            gap = SequenceGap(order_id, order.next_seq, seq - 1) if seq > order.next_seq else None
            released.append(Released(order.held[seq], gap))
            order.next_seq = seq + 1
        self.held -= len(order.held)
        order.held.clear()
        return released

    def _forget_beyond_capacity(self) -> list[Released[T]]:
        released: list[Released[T]] = []
        while len(self._orders) > self.capacity:
            order_id = next(iter(self._orders))
            if order_id in self._holding:
                released += self._give_up_waiting(order_id)
            del self._orders[order_id]
        return released
