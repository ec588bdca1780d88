"""Rows the core hands off after its commit are published from memory, once, and marked by
event id; the table stays the truth (rows handed off and also read from it go out once, a row
the broker refuses is retried, its attempts counted in the table, rows not yet marked go out
again after a restart)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import Engine, insert, null, select, update

from oms.bus.outbox_relay import OutboxRelay
from oms.bus.topology import EVENTS_EXCHANGE, declare_topology_at
from oms.store.models import OrderEvent, OutboxEvent
from tests.integration.conftest import FULL_QUEUE, Broker, relay_starter, wait_until

pytestmark = pytest.mark.integration

OUTBOX = OutboxEvent.__table__
QUEUE = "test.handoff.events"


@pytest.fixture
def events(broker: Broker) -> Broker:
    declare_topology_at(broker.url)
    broker.bind_fresh_queue(QUEUE, "HANDOFF.#", durable=True)
    return broker


@pytest.fixture
def start_relay(events: Broker, db_engine: Engine) -> Iterator[Callable[..., OutboxRelay]]:
    start, stop_all = relay_starter(events.url, db_engine, poll_interval_s=3600)
    yield start
    stop_all()


def commit_rows(engine: Engine, count: int, routing_key: str = "HANDOFF.AAPL.new"
                ) -> list[dict[str, Any]]:
    """Rows as the core writes and then hands them off."""
    token = uuid.uuid4().hex[:6]
    rows = [{"event_id": uuid.uuid4(), "exchange": EVENTS_EXCHANGE, "routing_key": routing_key,
             "body": {"seq": seq, "token": token}, "created_at": datetime.now(UTC)}
            for seq in range(1, count + 1)]
    with engine.begin() as conn:
        conn.execute(insert(OUTBOX), rows)
    return rows


def published(engine: Engine, rows: list[dict[str, Any]]) -> bool:
    with engine.connect() as conn:
        marked = conn.execute(select(OUTBOX.c.event_id).where(
            OUTBOX.c.event_id.in_([r["event_id"] for r in rows]),
            OUTBOX.c.published_at.isnot(None))).all()
    return len(marked) == len(rows)


def bodies(broker: Broker, count: int) -> list[dict[str, Any]]:
    return [json.loads(broker.get(QUEUE)[1]) for _ in range(count)]


def test_handed_off_rows_go_out_in_order_without_a_wake_and_are_marked(
    start_relay: Callable[..., OutboxRelay], events: Broker, db_engine: Engine
) -> None:
    relay = start_relay()  # polls once an hour: only the handoff can publish within the test
    rows = commit_rows(db_engine, 30)
    relay.handoff(rows)
    assert [b["seq"] for b in bodies(events, 30)] == list(range(1, 31))
    relay.stop()
    assert published(db_engine, rows)
    assert events.ready_count(QUEUE) == 0


def test_a_row_handed_off_and_read_from_the_table_goes_out_once(
    start_relay: Callable[..., OutboxRelay], events: Broker, db_engine: Engine
) -> None:
    relay = start_relay()
    rows = commit_rows(db_engine, 5)
    relay.wake()  # the table's path publishes them first
    relay.handoff(rows)  # then they are handed off too
    assert len(bodies(events, 5)) == 5
    later = commit_rows(db_engine, 1)
    relay.handoff(later)
    [body] = bodies(events, 1)
    assert body["token"] == later[0]["body"]["token"]  # nothing of the first five again
    assert events.ready_count(QUEUE) == 0


def test_a_handed_off_row_the_broker_refuses_is_retried_counted_then_parked(
    start_relay: Callable[..., OutboxRelay], events: Broker, db_engine: Engine
) -> None:
    events.bind_fresh_queue("test.handoff.full", "FULLHANDOFF.#", arguments=FULL_QUEUE)
    relay = start_relay(poll_interval_s=0.05, max_attempts=2)
    [refused] = commit_rows(db_engine, 1, routing_key="FULLHANDOFF.AAPL.new")
    relay.handoff([refused])

    def parked() -> bool:
        with db_engine.connect() as conn:
            row = conn.execute(select(OUTBOX.c.parked_reason, OUTBOX.c.attempts).where(
                OUTBOX.c.event_id == refused["event_id"])).one()
        return row.parked_reason is not None and row.attempts == 2

    wait_until(parked, what="the refused row to be retried, then parked")


def test_rows_handed_off_but_not_marked_go_out_again_after_a_restart(
    start_relay: Callable[..., OutboxRelay], events: Broker, db_engine: Engine
) -> None:
    rows = commit_rows(db_engine, 3)
    first = start_relay()
    first.handoff(rows)
    assert len(bodies(events, 3)) == 3
    first.stop()
    assert published(db_engine, rows)
    with db_engine.begin() as conn:  # as if it had crashed before writing the marks
        conn.execute(update(OUTBOX).where(
            OUTBOX.c.event_id.in_([r["event_id"] for r in rows])).values(published_at=None))
    start_relay(poll_interval_s=0.05)  # reads the table at start: at least once
    assert [b["seq"] for b in bodies(events, 3)] == [1, 2, 3]
    wait_until(lambda: published(db_engine, rows), what="marks after the restart")


def test_a_core_row_without_a_body_of_its_own_goes_out_with_its_events_body(
    start_relay: Callable[..., OutboxRelay], events: Broker, db_engine: Engine
) -> None:
    """The core stores an event's body once, in order_events: its outbox row has none, and a
    relay that reads the table (after a restart, a lost handoff) publishes the event's."""
    event_id = uuid.uuid4()
    body = {"event_id": str(event_id), "order_id": None, "seq": None, "account": "ACC",
            "price": "189.95", "exec_type": "rejected", "text": "no body of its own"}
    now = datetime.now(UTC)
    with db_engine.begin() as conn:
        conn.execute(insert(OrderEvent.__table__), [{
            "event_id": event_id, "order_id": None, "seq": None, "account": "ACC",
            "exec_type": "rejected", "ord_status": "rejected", "body": body,
            "cause": {"input": "test"}, "created_at": now}])
        conn.execute(insert(OUTBOX), [{
            "event_id": event_id, "exchange": EVENTS_EXCHANGE,
            "routing_key": "HANDOFF.AAPL.rejected", "body": null(), "created_at": now}])
    start_relay(poll_interval_s=0.05)
    assert bodies(events, 1) == [body]  # exact: decimals as the strings they were
    wait_until(lambda: published(db_engine, [{"event_id": event_id}]), what="its mark")
