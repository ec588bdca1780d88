"""The outbox relay's ordering rule: an order's next event is published only once the one
before it is confirmed or parked, whatever the broker confirms, refuses, or the relay parks."""

from __future__ import annotations

import itertools

from hypothesis import given
from hypothesis import strategies as st

from oms.bus.outbox_rows import OutboxRow
from oms.bus.publish_queue import PublishQueue

_numbers = itertools.count(1)


def row(order_id: str | None, seq: int | None) -> OutboxRow:
    return OutboxRow(0, f"event-{next(_numbers)}", "oms.events", "DEMO1.AAPL.new", b"{}", 0,
                     order_id, seq)


class Broker:
    """What the relay does with the queue, and what the broker did with each publish."""

    def __init__(self, queue: PublishQueue) -> None:
        self.queue = queue
        self.tag = 0
        self.published: list[OutboxRow] = []
        self.accepted: list[OutboxRow] = []
        self.finished: set[str] = set()
        """Accepted or parked."""

    def send_all(self) -> None:
        while (sendable := self.queue.next_outgoing()) is not None:
            for earlier in self.published_rows_of(sendable.order_id):
                assert earlier.seq is not None and sendable.seq is not None
                if earlier.seq < sendable.seq:
                    assert earlier.event_id in self.finished, (
                        f"seq {sendable.seq} of {sendable.order_id} published while seq "
                        f"{earlier.seq} is unconfirmed")
            self.tag += 1
            self.queue.sent(self.tag, sendable)
            self.published.append(sendable)

    def published_rows_of(self, order_id: str | None) -> list[OutboxRow]:
        return [r for r in self.published if order_id is not None and r.order_id == order_id]

    def ack(self, tag: int) -> None:
        confirmed = self.queue.confirmed(tag)
        self.accepted.append(confirmed)
        self.finished.add(confirmed.event_id)


orders = st.lists(st.integers(min_value=1, max_value=6), min_size=1, max_size=4)
"""Number of events of each order (order i has seqs 1..n)."""


@given(counts=orders, orderless=st.integers(0, 3), data=st.data())
def test_each_orders_events_are_accepted_in_seq_order_through_nacks_and_parking(
    counts: list[int], orderless: int, data: st.DataObject,
) -> None:
    queue = PublishQueue()
    broker = Broker(queue)
    pending = {f"O{i}": [row(f"O{i}", seq) for seq in range(1, n + 1)]
               for i, n in enumerate(counts)}
    pending["-"] = [row(None, None) for _ in range(orderless)]
    refused: dict[str, OutboxRow] = {}
    parked: set[str] = set()
    for _ in range(400):
        actions = []
        if any(pending.values()):
            actions.append("commit")
        if queue.inflight:
            actions += ["ack", "nack"]
        if refused:
            actions += ["retry", "park"]
        if not actions:
            break
        action = data.draw(st.sampled_from(actions))
        if action == "commit":  # rows are taken in commit order: seq order within an order
            order = data.draw(st.sampled_from([o for o, rows in pending.items() if rows]))
            queue.take(pending[order].pop(0))
        elif action == "ack":
            broker.ack(data.draw(st.sampled_from(list(queue.inflight))))
        elif action == "nack":
            nacked = queue.nacked(data.draw(st.sampled_from(list(queue.inflight))))
            refused[nacked.event_id] = nacked
        elif action == "retry":
            queue.retry_now()
            refused.clear()
        else:
            event_id = data.draw(st.sampled_from(list(refused)))
            assert queue.parked(event_id) is not None
            del refused[event_id]
            parked.add(event_id)
            broker.finished.add(event_id)
        broker.send_all()
    for order in pending:
        seqs = [r.seq or 0 for r in broker.accepted if r.order_id == order]
        assert seqs == sorted(seqs)
        assert order == "-" or len(set(seqs)) == len(seqs)


def test_a_refused_event_holds_back_its_order_only() -> None:
    queue = PublishQueue()
    first, second, other = row("O1", 1), row("O1", 2), row("O2", 1)
    for taken in (first, second, other):
        queue.take(taken)
    assert [queue.next_outgoing(), queue.next_outgoing()] == [first, other]
    assert queue.next_outgoing() is None  # O1's seq 2 waits for seq 1's confirm
    queue.sent(1, first)
    queue.sent(2, other)
    queue.confirmed(2)
    queue.nacked(1)
    assert queue.next_outgoing() is None and queue.retrying == 1
    queue.retry_now()
    again = queue.next_outgoing()
    assert again is not None and again.event_id == first.event_id and again.attempts == 1
    queue.sent(3, again)
    queue.confirmed(3)
    assert queue.next_outgoing() == second


def test_a_parked_event_lets_its_orders_next_event_go_and_is_forgotten() -> None:
    queue = PublishQueue()
    first, second = row("O1", 1), row("O1", 2)
    queue.take(first)
    queue.take(second)
    queue.sent(1, queue.next_outgoing() or first)
    queue.nacked(1)
    assert queue.parked(first.event_id) is not None
    assert queue.next_outgoing() == second
    assert first.event_id not in queue.recent  # read again if an operator un-parks it
    assert queue.held == 0


def test_a_lost_channel_forgets_everything_not_confirmed() -> None:
    queue = PublishQueue()
    confirmed, in_flight, waiting = row("O1", 1), row("O1", 2), row("O1", 3)
    for taken in (confirmed, in_flight, waiting):
        queue.take(taken)
    queue.sent(1, queue.next_outgoing() or confirmed)
    queue.confirmed(1)
    queue.sent(2, queue.next_outgoing() or in_flight)
    queue.clear()
    assert confirmed.event_id in queue.recent
    assert in_flight.event_id not in queue.recent and waiting.event_id not in queue.recent
    assert queue.held == 0 and queue.next_outgoing() is None
