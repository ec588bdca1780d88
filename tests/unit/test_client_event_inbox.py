"""What the strategy client hands out and acknowledges, delivery by delivery: repeats and
malformed messages are dropped but acknowledged in turn, an event held for its order's sequence
is not acknowledged (nor anything after it) until it is handed out."""

from __future__ import annotations

import uuid

from oms.client import SequenceGap
from oms.client.event_inbox import EventInbox
from oms.contract.event_format import encode_event

CHANNEL = 1


def body(order_id: str | None, seq: int | None, event_id: str | None = None) -> bytes:
    return encode_event({"event_id": event_id or str(uuid.uuid4()), "order_id": order_id,
                         "seq": seq, "account": "DEMO1", "symbol": "AAPL", "exec_type": "new"})


def inbox_with(*bodies: bytes, now: float = 0.0) -> EventInbox:
    inbox = EventInbox(gap_timeout_s=5.0)
    inbox.new_channel(CHANNEL)
    for tag, message in enumerate(bodies, start=1):
        inbox.add(CHANNEL, tag, message, routing_key="DEMO1.AAPL.new", redelivered=False,
                  now=now)
    return inbox


def hand_out_all(inbox: EventInbox) -> list[tuple[str | None, int | None]]:
    handed = []
    while inbox.has_ready:
        event = inbox.pop()
        if event is not None:
            handed.append((event.order_id, event.seq))
    return handed


def test_an_event_held_for_its_order_keeps_itself_and_what_follows_unacknowledged() -> None:
    inbox = inbox_with(body("O1", 1), body("O1", 3), body("O2", 1))
    assert hand_out_all(inbox) == [("O1", 1), ("O2", 1)]
    assert inbox.ack_upto() == 1  # tag 2 (seq 3) is held: tag 3 waits with it
    inbox.acked(1)
    inbox.add(CHANNEL, 4, body("O1", 2), routing_key="k", redelivered=False, now=1.0)
    assert hand_out_all(inbox) == [("O1", 2), ("O1", 3)]
    assert inbox.ack_upto() == 4


def test_repeats_and_malformed_messages_are_dropped_and_acknowledged_in_turn() -> None:
    event_id = str(uuid.uuid4())
    inbox = inbox_with(body("O1", 1, event_id), b"not json", body("O1", 1, event_id))
    assert hand_out_all(inbox) == [("O1", 1)]
    assert inbox.ack_upto() == 3
    assert (inbox.malformed, inbox.dedup.duplicates) == (1, 1)


def test_a_hole_not_filled_in_time_is_handed_out_with_the_gap_then_the_late_event() -> None:
    inbox = inbox_with(body("O1", 1), body("O1", 4))
    inbox.expire(now=4.9)
    assert hand_out_all(inbox) == [("O1", 1)]
    inbox.expire(now=5.0)
    event = inbox.pop()
    assert event is not None and (event.seq, event.gap) == (4, SequenceGap("O1", 2, 3))
    inbox.add(CHANNEL, 3, body("O1", 2), routing_key="k", redelivered=False, now=6.0)
    late = inbox.pop()
    assert late is not None and (late.seq, late.late, late.gap) == (2, True, None)
    assert (inbox.gaps, inbox.late_events, inbox.ack_upto()) == (1, 1, 3)


def test_deliveries_of_a_closed_channel_are_handed_out_but_never_acknowledged() -> None:
    inbox = inbox_with(body("O1", 1))
    inbox.new_channel(CHANNEL + 1)
    assert hand_out_all(inbox) == [("O1", 1)]
    assert inbox.ack_upto() is None
