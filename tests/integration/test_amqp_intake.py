"""Strategy commands arrive over RabbitMQ as CONTRACT.md describes (real broker, run's vhost)."""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from oms.bus.intake_consumer import IntakeConsumer, IntakeDelivery, ack_all
from oms.bus.topology import (
    DEAD_LETTER_QUEUE,
    EVENTS_EXCHANGE,
    INTAKE_QUEUE,
    ORDERS_EXCHANGE,
    REASON_HEADER,
    declare_topology_at,
)
from oms.domain.requests import CancelRequest, NewOrderRequest
from tests.integration.conftest import WAIT_S, Broker, wait_until

pytestmark = pytest.mark.integration

ORDER = {"type": "new_order", "cl_ord_id": "c1", "account": "DEMO1", "symbol": "AAPL",
         "side": "buy", "order_type": "limit", "quantity": "100", "price": "190.25"}


class Core:
    """Stands in for the core: its inbox is a queue; it settles from its own (test) thread."""

    def __init__(self, on_delivery: Callable[[IntakeDelivery], None] | None = None) -> None:
        self.inbox: queue.Queue[IntakeDelivery] = queue.Queue()
        self.on_delivery = on_delivery
        self.submitted = 0

    def submit(self, delivery: IntakeDelivery) -> None:
        self.submitted += 1
        if self.on_delivery is not None:
            threading.Thread(target=self.on_delivery, args=(delivery,)).start()
        else:
            self.inbox.put(delivery)

    def next(self) -> IntakeDelivery:
        return self.inbox.get(timeout=WAIT_S)


def assert_all_acked(broker: Broker, consumer: IntakeConsumer) -> None:
    """Stopping returns every unacknowledged delivery to the queue: if the queue is then empty,
    everything delivered was acknowledged."""
    consumer.stop(timeout=5.0)
    assert broker.ready_count(INTAKE_QUEUE) == 0


@pytest.fixture
def start_consumer(broker: Broker) -> Iterator[Callable[..., IntakeConsumer]]:
    consumers: list[IntakeConsumer] = []

    def start(core: Core, **options: Any) -> IntakeConsumer:
        options = {"prefetch": 10, "max_delivery_attempts": 5, "reconnect_min_s": 0.1,
                   **options}
        consumer = IntakeConsumer(broker.url, core.submit, **options)
        consumers.append(consumer)
        consumer.start()
        assert consumer.wait_until_consuming(WAIT_S)
        return consumer

    yield start
    for consumer in consumers:
        consumer.stop(timeout=2.0)


def test_declaring_the_topology_creates_the_contract_names_and_is_repeatable(
    broker: Broker,
) -> None:
    declare_topology_at(broker.url)
    declare_topology_at(broker.url)
    connection = broker.connect()
    try:
        channel = connection.channel()
        for exchange in (ORDERS_EXCHANGE, EVENTS_EXCHANGE):
            channel.exchange_declare(exchange, passive=True)
        for name in (INTAKE_QUEUE, DEAD_LETTER_QUEUE):
            channel.queue_declare(name, passive=True)
    finally:
        connection.close()
    broker.publish_command(ORDER, routing_key="ANY.routing.key")
    assert broker.ready_count(INTAKE_QUEUE) == 1


def test_a_published_command_reaches_the_core_and_leaves_the_queue_only_when_acked(
    broker: Broker, start_consumer: Callable[..., IntakeConsumer]
) -> None:
    core = Core()
    consumer = start_consumer(core)
    broker.publish_command(ORDER, user_id="guest")
    delivery = core.next()
    assert isinstance(delivery.command, NewOrderRequest)
    assert (delivery.command.origin, delivery.command.user) == ("amqp:DEMO1", "guest")
    assert (delivery.redelivered, delivery.attempt) == (False, 1)

    consumer.stop(timeout=2.0)  # not acked: the command goes back to the queue
    assert broker.ready_count(INTAKE_QUEUE) == 1

    core_again = Core()
    restarted = start_consumer(core_again)
    redelivery = core_again.next()
    assert redelivery.command == delivery.command
    assert (redelivery.redelivered, redelivery.attempt) == (True, 2)
    acker = threading.Thread(target=redelivery.ack)  # settled from another thread
    acker.start()
    acker.join()
    assert_all_acked(broker, restarted)


def test_acked_commands_are_not_delivered_again(
    broker: Broker, start_consumer: Callable[..., IntakeConsumer]
) -> None:
    core = Core()
    consumer = start_consumer(core)
    broker.publish_command(ORDER)
    cancel = {"type": "cancel", "cl_ord_id": "c2", "orig_cl_ord_id": "c1", "account": "DEMO1"}
    broker.publish_command(cancel)
    first, second = core.next(), core.next()
    assert isinstance(second.command, CancelRequest)
    first.ack()
    second.ack()
    second.ack()  # a second settlement of the same delivery is ignored
    assert_all_acked(broker, consumer)


def test_prefetch_bounds_the_commands_in_flight_to_the_core(
    broker: Broker, start_consumer: Callable[..., IntakeConsumer]
) -> None:
    core = Core()
    start_consumer(core, prefetch=2)
    for n in range(5):
        broker.publish_command({**ORDER, "cl_ord_id": f"c{n}"})
    held = [core.next(), core.next()]
    wait_until(lambda: broker.ready_count(INTAKE_QUEUE) == 3, what="3 commands left waiting")
    held[0].ack()
    third = core.next()
    assert isinstance(third.command, NewOrderRequest) and third.command.cl_ord_id == "c2"


def test_a_body_that_is_not_a_command_is_dead_lettered_with_the_reason(
    broker: Broker, start_consumer: Callable[..., IntakeConsumer]
) -> None:
    core = Core()
    consumer = start_consumer(core)
    broker.publish_command(b"not json at all", message_id="m-1")
    properties, body = broker.get(DEAD_LETTER_QUEUE)
    assert body == b"not json at all"
    assert properties.headers[REASON_HEADER].startswith("body is not valid JSON")
    assert (properties.message_id, properties.delivery_mode) == ("m-1", 2)
    assert properties.headers["x-oms-routing-key"] == "DEMO1"
    assert_all_acked(broker, consumer)
    assert core.submitted == 0


def test_the_core_can_dead_letter_a_command_it_will_never_process(
    broker: Broker, start_consumer: Callable[..., IntakeConsumer]
) -> None:
    core = Core(on_delivery=lambda delivery: delivery.dead_letter("refused by the test core"))
    consumer = start_consumer(core)
    broker.publish_command(ORDER, user_id="guest")
    properties, body = broker.get(DEAD_LETTER_QUEUE)
    assert properties.headers[REASON_HEADER] == "refused by the test core"
    assert properties.headers["x-oms-user-id"] == "guest"
    assert properties.content_type == "application/json"
    assert body.startswith(b'{"type": "new_order"')
    assert_all_acked(broker, consumer)


def test_a_command_that_keeps_failing_is_dead_lettered_after_the_attempt_limit(
    broker: Broker, start_consumer: Callable[..., IntakeConsumer]
) -> None:
    core = Core(on_delivery=lambda delivery: delivery.requeue())
    consumer = start_consumer(core, max_delivery_attempts=3)
    broker.publish_command(ORDER)
    properties, _ = broker.get(DEAD_LETTER_QUEUE)
    assert properties.headers[REASON_HEADER] == (
        "delivered 4 times without being processed (the limit is 3 attempts)"
    )
    assert core.submitted == 3
    assert_all_acked(broker, consumer)


def test_the_consumer_reconnects_after_the_broker_closes_its_connection(
    broker: Broker, start_consumer: Callable[..., IntakeConsumer]
) -> None:
    core = Core()
    consumer = start_consumer(core)
    broker.close_client_connections()
    wait_until(lambda: consumer.connections_made == 2 and consumer.is_consuming,
               what="the consumer to reconnect")
    broker.publish_command(ORDER)
    core.next().ack()
    assert_all_acked(broker, consumer)


def test_the_consumer_recreates_a_deleted_intake_queue(
    broker: Broker, start_consumer: Callable[..., IntakeConsumer]
) -> None:
    consumer = start_consumer(Core())
    connection = broker.connect()
    try:
        connection.channel().queue_delete(INTAKE_QUEUE)
    finally:
        connection.close()
    wait_until(lambda: consumer.connections_made == 2 and consumer.is_consuming,
               what="the consumer to re-declare and consume again")
    broker.ready_count(INTAKE_QUEUE)  # exists again


def test_an_ack_from_before_a_reconnection_is_dropped_and_the_command_comes_back(
    broker: Broker, start_consumer: Callable[..., IntakeConsumer]
) -> None:
    core = Core()
    consumer = start_consumer(core)
    broker.publish_command(ORDER)
    stale = core.next()
    broker.close_client_connections()
    redelivery = core.next()
    assert redelivery.redelivered
    assert redelivery.command == stale.command
    stale.ack()  # its channel is gone: dropped, and the new channel is not disturbed
    redelivery.ack()
    assert consumer.connections_made == 2
    assert_all_acked(broker, consumer)


def test_a_consumer_can_be_stopped_while_the_broker_is_unreachable() -> None:
    consumer = IntakeConsumer("amqp://guest:guest@127.0.0.1:1/%2F", lambda d: None,
                              reconnect_min_s=0.05)
    consumer.start()
    assert not consumer.wait_until_consuming(0.3)
    consumer.stop(timeout=WAIT_S)
    assert consumer.connections_made == 0



def test_the_attempt_count_survives_a_restart_of_the_gateway(
    broker: Broker, start_consumer: Callable[..., IntakeConsumer]
) -> None:
    seen: list[IntakeDelivery] = []

    def requeue_the_first_delivery_only(delivery: IntakeDelivery) -> None:
        seen.append(delivery)
        if len(seen) == 1:
            delivery.requeue()

    first_gateway = start_consumer(Core(on_delivery=requeue_the_first_delivery_only))
    broker.publish_command(ORDER)
    wait_until(lambda: len(seen) == 2, what="the requeued command to come back")
    first_gateway.stop(timeout=1.0)  # holds it unsettled: returned to the queue once more

    restarted = Core()
    start_consumer(restarted)  # a fresh process: no memory of the attempts
    delivery = restarted.next()
    assert delivery.attempt == 3


def test_the_core_acks_a_whole_batch_after_its_commit(
    broker: Broker, start_consumer: Callable[..., IntakeConsumer]
) -> None:
    core = Core()
    consumer = start_consumer(core, prefetch=50)
    for n in range(20):
        broker.publish_command({**ORDER, "cl_ord_id": f"c{n}"})
    batch = [core.next() for _ in range(20)]
    acker = threading.Thread(target=ack_all, args=(batch,))
    acker.start()
    acker.join()
    assert_all_acked(broker, consumer)
