"""What the outbox relay has taken and not finished, and which of it may be published now
(pure: no I/O; the relay's thread only).

The rule: **at most one unconfirmed event per order.** An order's next event is published once
the broker has confirmed the one before it, or that one has been parked. A message cannot be
called back once published, so this is what keeps a refused publish (``basic.nack``) from
reordering an order's events. Events of other orders, and events without an order (order-less
rejections), do not wait: the relay still keeps up to its window of messages in flight.

Rows are taken in commit order, which is ``seq`` order within an order. A taken row is, in
turn: *waiting* behind its order's unconfirmed row, *outgoing* (its turn has come), *in flight*
(published, not yet confirmed), and, if refused, *to retry* (published again at the next poll;
its order's later rows keep waiting) until it is confirmed or parked.
"""

from __future__ import annotations

import dataclasses
from collections import OrderedDict, deque
from collections.abc import Iterator

from oms.bus.outbox_rows import OutboxRow
from oms.bus.recent_ids import RecentIds


class OrderLanes:
    """Orders with an unconfirmed row, and their rows waiting behind it."""

    def __init__(self) -> None:
        self._lanes: dict[str, deque[OutboxRow] | None] = {}
        """Order id -> rows waiting (None: none; most orders never have one, so no deque)."""
        self.waiting = 0

    def take(self, row: OutboxRow) -> bool:
        """True: ``row`` may go now. False: it waits and comes back from ``done``."""
        order_id = row.order_id
        if order_id is None:
            return True
        if order_id not in self._lanes:
            self._lanes[order_id] = None
            return True
        lane = self._lanes[order_id]
        if lane is None:
            lane = self._lanes[order_id] = deque()
        lane.append(row)
        self.waiting += 1
        return False

    def done(self, row: OutboxRow) -> OutboxRow | None:
        """``row``, its order's head, is finished: the order's next row, free to go now."""
        order_id = row.order_id
        if order_id is None:
            return None
        lane = self._lanes.get(order_id)
        if not lane:
            self._lanes.pop(order_id, None)
            return None
        self.waiting -= 1
        following = lane.popleft()
        if not lane:
            self._lanes[order_id] = None
        return following

    def waiting_rows(self) -> Iterator[OutboxRow]:
        for lane in self._lanes.values():
            if lane:
                yield from lane


class PublishQueue:
    def __init__(self, recent_capacity: int = 100_000) -> None:
        self.recent = RecentIds(recent_capacity)
        """Event ids taken (and those confirmed lately): a row found again is skipped."""
        self._lanes = OrderLanes()
        self.inflight: OrderedDict[int, OutboxRow] = OrderedDict()
        """Delivery tag -> row published and not yet confirmed, in publish order."""
        self._outgoing: deque[OutboxRow] = deque()
        self._retry: dict[str, OutboxRow] = {}

    @property
    def held(self) -> int:
        """Rows taken and not finished (they take room in the relay's window)."""
        return (len(self.inflight) + len(self._outgoing) + self._lanes.waiting
                + len(self._retry))

    @property
    def retrying(self) -> int:
        """Refused rows waiting for the next poll (each holds back its order)."""
        return len(self._retry)

    def take(self, row: OutboxRow) -> None:
        self.recent.add(row.event_id)
        if self._lanes.take(row):
            self._outgoing.append(row)

    def next_outgoing(self) -> OutboxRow | None:
        return self._outgoing.popleft() if self._outgoing else None

    def put_back(self, row: OutboxRow) -> None:
        """``row`` was taken by ``next_outgoing`` but could not be published yet: first again."""
        self._outgoing.appendleft(row)

    def sent(self, tag: int, row: OutboxRow) -> None:
        self.inflight[tag] = row

    def confirmed(self, tag: int) -> OutboxRow:
        """The broker took the message ``tag``: its order's next row may go."""
        row = self.inflight.pop(tag)
        self._finished(row)
        return row

    def nacked(self, tag: int) -> OutboxRow:
        """The broker refused the message ``tag``: see ``refused``."""
        return self.refused(self.inflight.pop(tag))

    def refused(self, row: OutboxRow) -> OutboxRow:
        """``row`` (in flight, or being checked) was not published: it is published again at
        ``retry_now``, its order's later rows still waiting. Returns it with one more attempt."""
        row = dataclasses.replace(row, attempts=row.attempts + 1)
        self._retry[row.event_id] = row
        return row

    def postpone(self, row: OutboxRow) -> None:
        """``row`` could not be tried (no answer): tried again at ``retry_now``, uncounted."""
        self._retry[row.event_id] = row

    def retry_now(self) -> None:
        self._outgoing.extend(self._retry.values())
        self._retry = {}

    def parked(self, event_id: str) -> OutboxRow | None:
        """The row ``event_id`` is given up on: its order's later rows go on without it.
        None if it is not waiting for a retry (published again meanwhile, or dropped)."""
        row = self._retry.pop(event_id, None)
        if row is not None:
            self.recent.discard(event_id)  # an operator may un-park it: read it again then
            self._finished(row)
        return row

    def clear(self) -> None:
        """The channel is gone: nothing taken and unconfirmed counts as taken any more (the
        table has every such row; it is read again in id order)."""
        for row in self._unconfirmed():
            self.recent.discard(row.event_id)
        self._lanes = OrderLanes()
        self.inflight = OrderedDict()
        self._outgoing = deque()
        self._retry = {}

    def _finished(self, row: OutboxRow) -> None:
        following = self._lanes.done(row)
        if following is not None:
            self._outgoing.append(following)

    def _unconfirmed(self) -> Iterator[OutboxRow]:
        yield from self.inflight.values()
        yield from self._outgoing
        yield from self._lanes.waiting_rows()
        yield from self._retry.values()
