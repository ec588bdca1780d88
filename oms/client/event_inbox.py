"""Event deliveries on their way to the strategy (no network; the caller gives the time).

Each delivery of the client's events queue is read (``OrderEvent.from_body``; a message that is
not an order event is logged and counted in ``malformed``), dropped if its ``event_id`` was seen
(``EventDeduplicator``), and put in its order's ``seq`` order (``EventSequencer``). ``pop`` hands
the deliveries out in that order. ``ack_upto`` says how far the channel's deliveries may be
acknowledged: every one up to it has been handed out or dropped, none is held or waiting.
"""

from __future__ import annotations

import dataclasses
import logging
from collections import deque
from dataclasses import dataclass

from oms.client.events import EventDeduplicator, MalformedEventError, OrderEvent
from oms.client.sequencing import EventSequencer, Released

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Delivery:
    generation: int
    """Which channel it came on (deliveries of a closed channel are never acknowledged)."""
    tag: int
    event: OrderEvent | None
    """None for a duplicate or malformed message: acknowledged in turn, never handed out."""


class EventInbox:
    def __init__(self, dedup_capacity: int = 100_000, gap_timeout_s: float = 5.0) -> None:
        self.dedup = EventDeduplicator(dedup_capacity)
        self.sequencer: EventSequencer[Delivery] = EventSequencer(gap_timeout_s)
        self._ready: deque[Delivery] = deque()
        self._generation = 0
        self._handed_upto = 0
        self._acked_upto = 0
        self.malformed = 0
        self.gaps = 0
        """Holes in an order's sequence reported (``event.gap``)."""
        self.late_events = 0

    @property
    def has_ready(self) -> bool:
        return bool(self._ready)

    def new_channel(self, generation: int) -> None:
        """Deliveries now come on a new channel, whose delivery tags start again at 1."""
        self._generation = generation
        self._handed_upto = self._acked_upto = 0

    def add(self, generation: int, tag: int, body: bytes, *, routing_key: str,
            redelivered: bool, now: float) -> None:
        try:
            event: OrderEvent | None = OrderEvent.from_body(
                body, routing_key=routing_key, redelivered=redelivered)
        except MalformedEventError as exc:
            self.malformed += 1
            log.warning("dropping a message on %s that is not an order event: %s",
                        routing_key, exc)
            event = None
        if event is not None and not self.dedup.is_new(event.event_id):
            event = None
        delivery = Delivery(generation, tag, event)
        if event is None:
            self._ready.append(delivery)
            return
        for released in self.sequencer.offer(delivery, event.order_id, event.seq, now):
            self._ready.append(self._noted(released))

    def expire(self, now: float) -> None:
        """Make ready what was held for its order's sequence for ``gap_timeout_s``."""
        if self.sequencer.held:
            for released in self.sequencer.expire(now):
                self._ready.append(self._noted(released))

    def next_deadline(self) -> float | None:
        return self.sequencer.next_deadline()

    def pop(self) -> OrderEvent | None:
        """The next ready delivery, now handed out: its event (None: dropped, nothing to hand
        out). Only when ``has_ready``."""
        delivery = self._ready.popleft()
        if delivery.generation == self._generation:
            self._handed_upto = max(self._handed_upto, delivery.tag)
        return delivery.event

    def ack_upto(self) -> int | None:
        """The delivery tag to acknowledge now (with ``multiple``), or None: nothing new."""
        upto = self._handed_upto
        if self.sequencer.held or self._ready:
            for delivery in (*self._ready, *self.sequencer.held_items()):
                if delivery.generation == self._generation and delivery.tag <= upto:
                    upto = delivery.tag - 1
        return upto if upto > self._acked_upto else None

    def acked(self, upto: int) -> None:
        self._acked_upto = upto

    def _noted(self, released: Released[Delivery]) -> Delivery:
        """The delivery to hand out, its event marked with its gap or as late."""
        delivery, event = released.item, released.item.event
        if event is None or (released.gap is None and not released.late):
            return delivery
        if released.gap is not None:
            self.gaps += 1
            log.warning("%s: not received within %gs; handing out the events after them "
                        "(seq %s on)", released.gap, self.sequencer.gap_timeout_s, event.seq)
        else:
            self.late_events += 1
            log.warning("order %s: event seq %s (%s) arrived after later events of its order; "
                        "handed out marked late", event.order_id, event.seq, event.exec_type)
        event = dataclasses.replace(event, gap=released.gap, late=released.late)
        return dataclasses.replace(delivery, event=event)
