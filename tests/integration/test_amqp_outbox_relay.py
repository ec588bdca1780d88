"""Order events leave through the transactional outbox: published with confirms, at least once,
in order, marked after the broker confirms them (real RabbitMQ and PostgreSQL of this run)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import Engine, delete, insert, select

from oms.bus.outbox_relay import OutboxRelay
from oms.bus.topology import EVENTS_EXCHANGE, declare_topology_at
from oms.store.models import OutboxEvent
from tests.integration.conftest import FULL_QUEUE, Broker, relay_starter, wait_until

pytestmark = pytest.mark.integration

OUTBOX = OutboxEvent.__table__
WATCH_QUEUE = "test.events.DEMO1"


@pytest.fixture
def outbox(db_engine: Engine) -> Engine:
    with db_engine.begin() as conn:
        conn.execute(delete(OUTBOX))
    return db_engine


@pytest.fixture
def events(broker: Broker) -> Broker:
    """oms.events exists, with a queue that receives every DEMO1 event."""
    declare_topology_at(broker.url)
    broker.bind_fresh_queue(WATCH_QUEUE, "DEMO1.#", durable=True)
    return broker


@pytest.fixture
def start_relay(
    events: Broker, outbox: Engine
) -> Iterator[Callable[..., OutboxRelay]]:
    start, stop_all = relay_starter(events.url, outbox, poll_interval_s=0.05)
    yield start
    stop_all()


def add_events(engine: Engine, count: int, *, first_seq: int = 1,
               exchange: str = EVENTS_EXCHANGE, routing_key: str = "DEMO1.AAPL.new",
               order_id: str = "O1") -> list[int]:
    rows = [
        {"event_id": uuid.uuid4(), "exchange": exchange, "routing_key": routing_key,
         "body": {"seq": seq, "price": "190.25", "order_id": order_id},
         "created_at": datetime.now(UTC)}
        for seq in range(first_seq, first_seq + count)
    ]
    with engine.begin() as conn:
        return list(conn.execute(insert(OUTBOX).returning(OUTBOX.c.id), rows).scalars())


def outbox_row(engine: Engine, row_id: int) -> Any:
    with engine.connect() as conn:
        return conn.execute(select(OUTBOX).where(OUTBOX.c.id == row_id)).one()


def all_published(engine: Engine, ids: list[int]) -> bool:
    with engine.connect() as conn:
        published = conn.execute(
            select(OUTBOX.c.id).where(OUTBOX.c.id.in_(ids), OUTBOX.c.published_at.isnot(None))
        ).scalars().all()
    return len(published) == len(ids)


def received(broker: Broker, count: int) -> list[tuple[Any, dict[str, Any]]]:
    return [
        (properties, json.loads(body))
        for properties, body in (broker.get(WATCH_QUEUE) for _ in range(count))
    ]


def test_pending_events_are_published_in_order_then_marked_published(
    start_relay: Callable[..., OutboxRelay], events: Broker, outbox: Engine
) -> None:
    ids = add_events(outbox, 120)
    start_relay(window=16, mark_batch=10)
    messages = received(events, 120)
    assert [body["seq"] for _, body in messages] == list(range(1, 121))
    assert messages[0][1] == {"seq": 1, "price": "190.25", "order_id": "O1"}
    properties = messages[0][0]
    first = outbox_row(outbox, ids[0])
    assert properties.message_id == str(first.event_id)
    assert (properties.content_type, properties.delivery_mode) == ("application/json", 2)
    wait_until(lambda: all_published(outbox, ids), what="every row to be marked")


def test_new_events_go_out_when_the_core_wakes_the_relay(
    start_relay: Callable[..., OutboxRelay], events: Broker, outbox: Engine
) -> None:
    relay = start_relay(poll_interval_s=3600)  # only a wake-up can publish within the test
    add_events(outbox, 1, first_seq=7)
    relay.wake()
    [(_, body)] = received(events, 1)
    assert body["seq"] == 7


def test_publishing_resumes_from_the_table_after_a_restart(
    start_relay: Callable[..., OutboxRelay], events: Broker, outbox: Engine
) -> None:
    first_ids = add_events(outbox, 3)
    first = start_relay()
    wait_until(lambda: all_published(outbox, first_ids), what="the first rows to be marked")
    first.stop()
    later_ids = add_events(outbox, 3, first_seq=4)  # committed while no relay runs
    second = start_relay()
    wait_until(lambda: all_published(outbox, later_ids), what="the later rows to be marked")
    second.stop()
    assert [body["seq"] for _, body in received(events, 6)] == [1, 2, 3, 4, 5, 6]
    assert events.ready_count(WATCH_QUEUE) == 0  # marked rows are not published again


def test_a_row_naming_a_missing_exchange_is_parked_holding_back_only_its_order_till_then(
    start_relay: Callable[..., OutboxRelay], events: Broker, outbox: Engine
) -> None:
    [before] = add_events(outbox, 1, first_seq=1)
    [bad] = add_events(outbox, 1, first_seq=2, exchange="no.such.exchange")
    [after] = add_events(outbox, 1, first_seq=3)
    [other] = add_events(outbox, 1, order_id="O2")
    relay = start_relay(max_attempts=3)
    # O2's event goes out at once; O1's seq 3 only once its seq 2 is parked
    assert [(body["order_id"], body["seq"]) for _, body in received(events, 3)] == [
        ("O1", 1), ("O2", 1), ("O1", 3)]
    wait_until(lambda: outbox_row(outbox, bad).parked_reason is not None, what="parking")
    parked = outbox_row(outbox, bad)
    assert parked.parked_reason == "exchange 'no.such.exchange' does not exist"
    assert (parked.attempts, parked.published_at) == (3, None)
    wait_until(lambda: all_published(outbox, [before, after, other]), what="the marks")
    assert relay.parked_count == 1


def test_a_row_the_broker_refuses_is_retried_then_parked(
    start_relay: Callable[..., OutboxRelay], events: Broker, outbox: Engine
) -> None:
    events.bind_fresh_queue("test.events.full", "FULL.#", arguments=FULL_QUEUE)
    [refused] = add_events(outbox, 1, routing_key="FULL.AAPL.new")
    [fine] = add_events(outbox, 1, first_seq=2)
    start_relay(max_attempts=2)
    wait_until(lambda: outbox_row(outbox, refused).parked_reason is not None, what="parking")
    row = outbox_row(outbox, refused)
    assert row.parked_reason == "the broker refused the message (basic.nack)"
    assert row.attempts == 2
    wait_until(lambda: all_published(outbox, [fine]), what="the other row to be marked")


def test_the_relay_reconnects_after_the_broker_closes_its_connection(
    start_relay: Callable[..., OutboxRelay], events: Broker, outbox: Engine
) -> None:
    relay = start_relay()
    events.close_client_connections()
    wait_until(lambda: relay.connections_made == 2 and relay.is_ready, what="reconnection")
    add_events(outbox, 1, first_seq=9)
    relay.wake()
    [(_, body)] = received(events, 1)
    assert body["seq"] == 9


def test_the_relay_declares_the_events_exchange_again_if_it_was_deleted(
    start_relay: Callable[..., OutboxRelay], events: Broker, outbox: Engine
) -> None:
    relay = start_relay()
    connection = events.connect()
    try:
        connection.channel().exchange_delete(EVENTS_EXCHANGE)
    finally:
        connection.close()
    [row_id] = add_events(outbox, 1)
    relay.wake()
    wait_until(lambda: all_published(outbox, [row_id]), what="the row to be published")
    assert relay.connections_made == 2
    assert outbox_row(outbox, row_id).attempts == 0
