"""The strategy client against the real broker (the run's vhost): what it publishes, what it
receives, and how it comes back after the broker closes its connection."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any

import pika
import pytest

from oms.bus.topology import EVENTS_EXCHANGE, INTAKE_QUEUE, declare_topology_at
from oms.client import (
    CommandNotDeliveredError,
    OmsClientError,
    OmsUnavailableError,
    ReconnectPolicy,
    StrategyClient,
)
from oms.contract.event_format import encode_event, event_routing_key
from tests.integration.conftest import Broker
from tests.support.events import first_events

pytestmark = pytest.mark.integration

FAST = ReconnectPolicy(initial_delay_s=0.05, max_delay_s=0.5, max_attempts=40)


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


def client(made: list[StrategyClient], url: str, *accounts: str, **options: Any) -> StrategyClient:
    c = StrategyClient(url, accounts, reconnect=FAST, **options)
    made.append(c)
    return c.connect()


def publish_event(broker: Broker, account: str, **fields: Any) -> str:
    event_id = str(uuid.uuid4())
    body = {"event_id": event_id, "order_id": "O1", "seq": 1, "cl_ord_id": "c", "account": account,
            "symbol": "AAPL", "exec_type": "new", "ord_status": "new", **fields}
    connection = broker.connect()
    try:
        channel = connection.channel()
        channel.confirm_delivery()
        channel.basic_publish(EVENTS_EXCHANGE, event_routing_key(account, "AAPL", "new"),
                              encode_event(body),
                              pika.BasicProperties(content_type="application/json",
                                                   delivery_mode=2, message_id=event_id))
    finally:
        connection.close()
    return event_id




def test_a_submit_is_published_as_the_contract_says(
    topology: Broker, clients: list[StrategyClient],
) -> None:
    c = client(clients, topology.url)
    cl_ord_id = c.submit("DEMO1", "AAPL", "buy", 100, price="190.25")
    properties, body = topology.get(INTAKE_QUEUE)
    assert json.loads(body) == {
        "type": "new_order", "cl_ord_id": cl_ord_id, "account": "DEMO1", "symbol": "AAPL",
        "side": "buy", "order_type": "limit", "quantity": "100", "price": "190.25",
        "time_in_force": "day",
    }
    assert properties.content_type == "application/json" and properties.delivery_mode == 2
    assert properties.user_id == "guest" and properties.message_id


def test_cancel_and_replace_return_their_own_ids(
    topology: Broker, clients: list[StrategyClient],
) -> None:
    c = client(clients, topology.url, id_prefix="t1")
    order = c.submit("DEMO2", "ZVZZT", "sell", "10", price="10.00", cl_ord_id="mine-1")
    replace = c.replace("DEMO2", order, price="10.01")
    cancel = c.cancel("DEMO2", replace, symbol="ZVZZT")
    assert (order, replace, cancel) == ("mine-1", "t1-1", "t1-2")
    bodies = [json.loads(topology.get(INTAKE_QUEUE)[1]) for _ in range(3)]
    assert [b["type"] for b in bodies] == ["new_order", "replace", "cancel"]
    assert bodies[1] == {"type": "replace", "cl_ord_id": "t1-1", "orig_cl_ord_id": "mine-1",
                         "account": "DEMO2", "price": "10.01"}


def test_without_user_id_the_property_is_left_out(
    topology: Broker, clients: list[StrategyClient],
) -> None:
    client(clients, topology.url, send_user_id=False).submit("DEMO1", "AAPL", "buy", 1)
    properties, _ = topology.get(INTAKE_QUEUE)
    assert properties.user_id is None


def test_a_command_nobody_would_receive_is_an_error_not_a_silent_drop(
    broker: Broker, clients: list[StrategyClient],
) -> None:
    c = client(clients, broker.url)  # no gateway topology: oms.orders has no queue bound
    with pytest.raises(CommandNotDeliveredError, match="has a gateway been started"):
        c.submit("DEMO1", "AAPL", "buy", 1)


def test_only_the_accounts_own_events_arrive_once_each(
    topology: Broker, clients: list[StrategyClient],
) -> None:
    c = client(clients, topology.url, "DEMO1")
    mine = publish_event(topology, "DEMO1", price="190.05")
    publish_event(topology, "DEMO2")
    again = publish_event(topology, "DEMO1")
    # the same event published twice (at-least-once delivery) is handed out once
    publish_event(topology, "DEMO1", event_id=mine, price="190.05")
    events = c.poll(timeout=5.0) + c.poll(timeout=1.0) + c.poll(timeout=0.5)
    assert [e.event_id for e in events] == [mine, again]
    assert events[0].routing_key == "DEMO1.AAPL.new" and str(events[0].price) == "190.05"
    assert c.dedup.duplicates == 1


def test_after_the_broker_closes_the_connection_a_durable_queue_misses_nothing(
    topology: Broker, clients: list[StrategyClient],
) -> None:
    queue = f"strategy-{uuid.uuid4().hex[:8]}"
    c = client(clients, topology.url, "DEMO1", queue=queue)
    first = publish_event(topology, "DEMO1")
    assert [e.event_id for e in first_events(c, 1)] == [first]
    topology.close_client_connections()
    while_down = publish_event(topology, "DEMO1")
    # the next call notices, reconnects, resubscribes and carries on
    c.submit("DEMO1", "AAPL", "buy", 1)
    assert [e.event_id for e in first_events(c, 1)] == [while_down]
    assert c.reconnects == 1 and c.queue == queue
    c.close()
    with topology.connect() as connection:
        connection.channel().queue_delete(queue)


def test_an_unacknowledged_event_is_redelivered_and_then_dropped_as_a_duplicate(
    topology: Broker, clients: list[StrategyClient],
) -> None:
    queue = f"strategy-{uuid.uuid4().hex[:8]}"
    c = client(clients, topology.url, "DEMO1", queue=queue)
    first = publish_event(topology, "DEMO1")
    assert [e.event_id for e in c.poll(timeout=5.0)] == [first]  # handed out, not yet acked
    topology.close_client_connections()
    second = publish_event(topology, "DEMO1")
    assert [e.event_id for e in first_events(c, 1)] == [second]
    assert c.dedup.duplicates == 1  # ``first`` came back (redelivered) and was dropped
    c.close()
    with topology.connect() as connection:
        connection.channel().queue_delete(queue)


def test_a_broker_that_is_not_there_gives_up_after_the_policy(
    clients: list[StrategyClient],
) -> None:
    slept: list[float] = []
    c = StrategyClient("amqp://guest:guest@127.0.0.1:1/%2F", ["DEMO1"], sleep=slept.append,
                       reconnect=ReconnectPolicy(initial_delay_s=0.01, max_attempts=3))
    clients.append(c)
    with pytest.raises(OmsUnavailableError, match="after 3 attempt"):
        c.connect()
    assert len(slept) == 2


def test_wrong_credentials_are_refused_at_once(
    broker: Broker, clients: list[StrategyClient],
) -> None:
    url = broker.url.replace("guest:guest@", "guest:wrong@")
    c = StrategyClient(url, reconnect=FAST)
    clients.append(c)
    with pytest.raises(OmsClientError, match="refused the login"):
        c.connect()


def test_an_events_exchange_of_another_type_is_a_mistake_reported_at_once(
    broker: Broker, clients: list[StrategyClient],
) -> None:
    with broker.connect() as connection:
        connection.channel().exchange_declare(EVENTS_EXCHANGE, exchange_type="fanout",
                                              durable=True)
    c = StrategyClient(broker.url, ["DEMO1"], reconnect=FAST)
    clients.append(c)
    with pytest.raises(OmsClientError, match="PRECONDITION_FAILED"):
        c.connect()
    broker.reset()


def test_a_user_id_that_is_not_the_connections_user_is_refused_by_the_broker(
    topology: Broker, clients: list[StrategyClient],
) -> None:
    c = client(clients, topology.url)
    c.user_id = "mallory"
    with pytest.raises(CommandNotDeliveredError, match="user_id"):
        c.submit("DEMO1", "AAPL", "buy", 1)
    c.user_id = "guest"
    kept = c.submit("DEMO1", "AAPL", "buy", 2)  # the client carries on, on a new channel
    assert json.loads(topology.get(INTAKE_QUEUE)[1])["cl_ord_id"] == kept
