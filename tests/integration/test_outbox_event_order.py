"""Each order's events reach the bus in ``seq`` order: after a reconnection (the backlog in the
table goes before rows the core hands off meanwhile) and when the broker refuses a publish (the
order's later events wait until it is taken or parked; other orders' events do not wait).
Real RabbitMQ and PostgreSQL of this run."""

from __future__ import annotations

import json
import logging
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any, cast

import pika
import pytest
from sqlalchemy import Engine, Table, delete, insert, select, update

from oms.bus.outbox_relay import OutboxRelay
from oms.bus.topology import EVENTS_EXCHANGE, declare_topology_at
from oms.store.models import OutboxEvent
from tests.integration.conftest import FULL_QUEUE, WAIT_S, Broker, relay_starter, wait_until

pytestmark = pytest.mark.integration

OUTBOX = cast(Table, OutboxEvent.__table__)


@pytest.fixture
def outbox(db_engine: Engine) -> Engine:
    with db_engine.begin() as conn:
        conn.execute(delete(OUTBOX))
    return db_engine


@pytest.fixture
def events(broker: Broker) -> Broker:
    declare_topology_at(broker.url)
    return broker


@pytest.fixture
def start_relay(events: Broker, outbox: Engine) -> Iterator[Callable[..., OutboxRelay]]:
    start, stop_all = relay_starter(events.url, outbox, poll_interval_s=3600)
    yield start
    stop_all()


def commit(engine: Engine, events: list[tuple[str, int]], routing_key: str
           ) -> list[dict[str, Any]]:
    """Outbox rows for ``(order_id, seq)`` events, committed as the core writes them."""
    rows = [{"event_id": uuid.uuid4(), "exchange": EVENTS_EXCHANGE,
             "routing_key": f"{routing_key}.{order_id}.new",
             "body": {"order_id": order_id, "seq": seq, "exec_type": "new"},
             "created_at": datetime.now(UTC)} for order_id, seq in events]
    with engine.begin() as conn:
        conn.execute(insert(OUTBOX), rows)
    return rows


def interleaved(orders: list[str], seqs: range) -> list[tuple[str, int]]:
    return [(order_id, seq) for seq in seqs for order_id in orders]


def bind(broker: Broker, queue: str, routing_key: str, **arguments: Any) -> None:
    broker.bind_fresh_queue(queue, routing_key, arguments=arguments or None)


def take_all(broker: Broker, queue: str) -> list[dict[str, Any]]:
    """Every message ready in ``queue`` now (acknowledged)."""
    bodies: list[dict[str, Any]] = []
    with broker.connect() as connection:
        channel = connection.channel()
        while True:
            method, _properties, body = channel.basic_get(queue, auto_ack=True)
            if method is None:
                return bodies
            bodies.append(json.loads(body))


def take(broker: Broker, queue: str, count: int) -> list[dict[str, Any]]:
    return [json.loads(broker.get(queue)[1]) for _ in range(count)]


def fill_up(broker: Broker, queue: str, count: int) -> None:
    """Put ``count`` messages in ``queue`` itself (through the default exchange)."""
    with broker.connect() as connection:
        channel = connection.channel()
        channel.confirm_delivery()
        for n in range(count):
            channel.basic_publish("", queue, json.dumps({"filler": n}).encode(),
                                  pika.BasicProperties(delivery_mode=2))


def attempts_of(engine: Engine, row: dict[str, Any]) -> Any:
    with engine.connect() as conn:
        return conn.execute(select(OUTBOX.c.attempts, OUTBOX.c.parked_reason,
                                   OUTBOX.c.published_at)
                            .where(OUTBOX.c.event_id == row["event_id"])).one()


def seqs_per_order(bodies: list[dict[str, Any]]) -> dict[str, list[int]]:
    per_order: dict[str, list[int]] = {}
    for body in bodies:
        per_order.setdefault(body["order_id"], []).append(body["seq"])
    return per_order


def test_after_a_reconnection_rows_handed_off_wait_behind_the_backlog_in_the_table(
    start_relay: Callable[..., OutboxRelay], events: Broker, outbox: Engine
) -> None:
    bind(events, "test.order.all", "ORD.#")
    orders = ["O1", "O2", "O3"]
    relay = start_relay(window=2)  # a small window: the backlog takes many round trips
    commit(outbox, interleaved(orders, range(1, 201)), "ORD")  # committed, never handed off
    events.close_client_connections()
    deadline = time.monotonic() + WAIT_S
    while relay.connections_made < 2 and time.monotonic() < deadline:
        time.sleep(0.001)
    assert relay.wait_until_ready(WAIT_S)
    # the core commits and hands off more while the relay drains the backlog
    relay.handoff(commit(outbox, interleaved(orders, range(201, 221)), "ORD"))
    per_order = seqs_per_order(take(events, "test.order.all", 3 * 220))
    assert per_order == {order_id: list(range(1, 221)) for order_id in orders}
    assert take_all(events, "test.order.all") == []  # and each once


def test_a_refused_event_holds_back_its_orders_later_events_but_not_other_orders(
    start_relay: Callable[..., OutboxRelay], events: Broker, outbox: Engine
) -> None:
    # a consumer's queue that is full (it refuses what comes) until it is emptied
    bind(events, "test.order.bounded", "REF.#", **{"x-max-length": 5,
                                                   "x-overflow": "reject-publish"})
    fill_up(events, "test.order.bounded", 5)
    bind(events, "test.order.watch", "REF.#")  # takes every copy published
    bind(events, "test.order.others", "OTHER.#")
    relay = start_relay(poll_interval_s=0.3, max_attempts=1000)
    [first] = commit(outbox, [("O1", 1)], "REF")
    relay.handoff([first])
    wait_until(lambda: attempts_of(outbox, first).attempts >= 1, what="the refusal")
    later = commit(outbox, [("O1", 2), ("O1", 3)], "REF")
    relay.handoff([*later, *commit(outbox, [("O2", 1)], "OTHER")])
    assert [b["order_id"] for b in take(events, "test.order.others", 1)] == ["O2"]
    # O2's event went out after O1's seq 2 and 3 were handed off: they were not published
    assert {b["seq"] for b in take_all(events, "test.order.watch")} == {1}
    # the consumer catches up: the queue has room again (and may take seq 1 at once)
    seqs = [b["seq"] for b in take_all(events, "test.order.bounded") if "seq" in b]
    seqs += [b["seq"] for b in take(events, "test.order.bounded", 3 - len(seqs))]
    assert seqs == [1, 2, 3]
    wait_until(lambda: all(attempts_of(outbox, r).published_at for r in [first, *later]),
               what="the marks")
    assert attempts_of(outbox, later[0]).attempts == 0


def test_a_parked_event_lets_its_orders_later_events_go_and_says_so(
    start_relay: Callable[..., OutboxRelay], events: Broker, outbox: Engine,
    caplog: pytest.LogCaptureFixture,
) -> None:
    bind(events, "test.order.full", "PARK.#", **FULL_QUEUE)
    bind(events, "test.order.copies", "PARK.#")
    relay = start_relay(poll_interval_s=0.05, max_attempts=2)
    rows = commit(outbox, [("O1", 1), ("O1", 2)], "PARK")
    with caplog.at_level(logging.ERROR, logger="oms.bus.outbox_relay"):
        relay.handoff(rows)
        wait_until(lambda: all(attempts_of(outbox, r).parked_reason for r in rows),
                   what="both rows parked")
    # seq 2 was tried only once seq 1 was given up on
    assert [b["seq"] for b in take_all(events, "test.order.copies")] == [1, 1, 2, 2]
    assert relay.parked_count == 2
    parked = [r.getMessage() for r in caplog.records if "parked event" in r.getMessage()]
    assert "order O1, seq 1" in parked[0] and "the order's later events go out" in parked[0]
    # the operator fixes the cause and re-enables seq 1: it goes out at the next poll, late
    with events.connect() as connection:
        connection.channel().queue_delete("test.order.full")
    with outbox.begin() as conn:
        conn.execute(update(OUTBOX).where(OUTBOX.c.event_id == rows[0]["event_id"])
                     .values(parked_reason=None, attempts=0))
    assert [b["seq"] for b in take(events, "test.order.copies", 1)] == [1]
    wait_until(lambda: attempts_of(outbox, rows[0]).published_at is not None, what="the mark")
