"""The strategy client hands each order's events out in ``seq`` order, whatever order they
arrive in from the real broker: a repeat is dropped, an event past a hole is held until the
hole fills or ``gap_timeout_s`` passes (then handed out with ``event.gap``), and a held event is
not acknowledged, so it is not lost with the client."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pika
import pytest

from oms.bus.topology import EVENTS_EXCHANGE, declare_topology_at
from oms.client import ReconnectPolicy, SequenceGap, StrategyClient
from oms.contract.event_format import encode_event, event_routing_key
from tests.integration.conftest import Broker
from tests.support.events import first_events

pytestmark = pytest.mark.integration

FAST = ReconnectPolicy(initial_delay_s=0.05, max_delay_s=0.5, max_attempts=40)
EXEC_TYPES = {1: "pending_new", 2: "new", 3: "partial_fill", 4: "fill"}


@pytest.fixture
def topology(broker: Broker) -> Broker:
    declare_topology_at(broker.url)
    return broker


@pytest.fixture
def clients() -> Iterator[list[StrategyClient]]:
    made: list[StrategyClient] = []
    yield made
    for client in made:
        client.close()


def client(made: list[StrategyClient], url: str, **options: Any) -> StrategyClient:
    c = StrategyClient(url, ["DEMO1"], reconnect=FAST, **options)
    made.append(c)
    return c.connect()


def publish(broker: Broker, *events: tuple[str, int], ids: dict[tuple[str, int], str]
            ) -> None:
    """The events ``(order_id, seq)`` on ``oms.events``, in the order given; the same
    ``(order_id, seq)`` always gets the same event id (``ids``)."""
    connection = broker.connect()
    try:
        channel = connection.channel()
        channel.confirm_delivery()
        for order_id, seq in events:
            event_id = ids.setdefault((order_id, seq), str(uuid.uuid4()))
            exec_type = EXEC_TYPES[seq]
            body = {"event_id": event_id, "order_id": order_id, "seq": seq, "cl_ord_id": "c",
                    "account": "DEMO1", "symbol": "AAPL", "exec_type": exec_type}
            channel.basic_publish(EVENTS_EXCHANGE, event_routing_key("DEMO1", "AAPL", exec_type),
                                  encode_event(body),
                                  pika.BasicProperties(content_type="application/json",
                                                       delivery_mode=2, message_id=event_id))
    finally:
        connection.close()




def test_events_that_arrive_out_of_order_and_repeated_are_handed_out_in_seq_order_once(
    topology: Broker, clients: list[StrategyClient],
) -> None:
    c = client(clients, topology.url)
    ids: dict[tuple[str, int], str] = {}
    publish(topology, ("O1", 1), ("O1", 3), ("O2", 2), ("O1", 3), ("O2", 1), ("O1", 2),
            ("O1", 4), ids=ids)
    events = first_events(c, 6)
    assert [(e.order_id, e.seq) for e in events if e.order_id == "O1"] == [
        ("O1", 1), ("O1", 2), ("O1", 3), ("O1", 4)]
    assert all(e.gap is None and not e.late for e in events if e.order_id == "O1")
    # O2 is seen first at seq 2, where its sequence starts: its seq 1 comes after, late
    assert [(e.seq, e.late) for e in events if e.order_id == "O2"] == [(2, False), (1, True)]
    assert c.dedup.duplicates == 1


def test_an_event_past_a_hole_that_stays_open_comes_out_after_the_timeout_with_the_gap(
    topology: Broker, clients: list[StrategyClient], caplog: pytest.LogCaptureFixture,
) -> None:
    c = client(clients, topology.url, gap_timeout_s=0.5)
    ids: dict[tuple[str, int], str] = {}
    publish(topology, ("O1", 1), ("O1", 4), ids=ids)
    first, after_the_gap = first_events(c, 2)
    assert (first.seq, first.gap) == (1, None)
    assert (after_the_gap.seq, after_the_gap.gap) == (4, SequenceGap("O1", 2, 3))
    assert c.gaps == 1
    assert any("order O1: seq 2..3 missing" in r.getMessage() for r in caplog.records)
    publish(topology, ("O1", 2), ids=ids)
    [late] = first_events(c, 1)
    assert (late.seq, late.late, c.late_events) == (2, True, 1)


def test_an_event_held_for_its_order_is_not_acknowledged_and_comes_back_to_a_new_client(
    topology: Broker, clients: list[StrategyClient],
) -> None:
    queue = f"strategy-{uuid.uuid4().hex[:8]}"
    first_client = client(clients, topology.url, queue=queue, gap_timeout_s=60)
    ids: dict[tuple[str, int], str] = {}
    publish(topology, ("O1", 1), ("O1", 3), ids=ids)
    assert [e.seq for e in first_events(first_client, 1)] == [1]
    assert first_client.poll(timeout=0.5) == []  # seq 3 is held, waiting for seq 2
    first_client.close()  # acknowledges seq 1 only
    second_client = client(clients, topology.url, queue=queue)
    [again] = first_events(second_client, 1)
    assert (again.seq, again.event_id) == (3, ids[("O1", 3)])
    second_client.close()
    with topology.connect() as connection:
        connection.channel().queue_delete(queue)
