"""The RabbitMQ names of CONTRACT.md and their idempotent declaration.

The intake queue is a quorum queue: it is replicated where a cluster has replicas, and the
broker counts redeliveries in the ``x-delivery-count`` header, which survives a restart of the
gateway. That is what lets a message that keeps crashing the gateway be dead-lettered after a
bounded number of attempts (the in-memory count of the consumer restarts with the process).
If an ``oms.orders.intake`` of another type already exists (declared by an older version), it
is used as it is, with a warning: the consumer then counts attempts in memory only.
"""

from __future__ import annotations

import logging
from typing import Any

import pika
from pika.adapters.blocking_connection import BlockingChannel, BlockingConnection
from pika.exceptions import ChannelClosedByBroker

log = logging.getLogger(__name__)

ORDERS_EXCHANGE = "oms.orders"
INTAKE_QUEUE = "oms.orders.intake"
DEAD_LETTER_QUEUE = "oms.orders.dlq"
EVENTS_EXCHANGE = "oms.events"
TOPIC = "topic"
INTAKE_BINDING = "#"
REASON_HEADER = "x-oms-reason"
"""Header of a dead-lettered message: why it was not processed."""
DELIVERY_COUNT_HEADER = "x-delivery-count"
"""Set by quorum queues on a redelivery: how many times the message was delivered before."""
INTAKE_QUEUE_ARGUMENTS: dict[str, Any] = {"x-queue-type": "quorum"}

PRECONDITION_FAILED = 406


def declare_topology(connection: BlockingConnection) -> None:
    """Declare both exchanges, the intake queue (bound with ``#``) and the dead-letter queue.
    Safe to repeat; uses and closes channels of its own."""
    channel = connection.channel()
    try:
        channel.exchange_declare(ORDERS_EXCHANGE, exchange_type=TOPIC, durable=True)
        channel.exchange_declare(EVENTS_EXCHANGE, exchange_type=TOPIC, durable=True)
        channel = _declare_queue(connection, channel, DEAD_LETTER_QUEUE, None)
        channel = _declare_queue(connection, channel, INTAKE_QUEUE, INTAKE_QUEUE_ARGUMENTS)
        channel.queue_bind(INTAKE_QUEUE, ORDERS_EXCHANGE, routing_key=INTAKE_BINDING)
    finally:
        if channel.is_open:
            channel.close()


def declare_topology_at(url: str) -> None:
    """Connect to ``url``, declare the topology, disconnect (for setup commands and tests)."""
    connection = pika.BlockingConnection(pika.URLParameters(url))
    try:
        declare_topology(connection)
    finally:
        connection.close()


def _declare_queue(
    connection: BlockingConnection,
    channel: BlockingChannel,
    name: str,
    arguments: dict[str, Any] | None,
) -> BlockingChannel:
    """Declare a durable queue; if one of that name exists with other arguments, keep it.
    Returns the channel to carry on with (a refused declaration closes its channel)."""
    try:
        channel.queue_declare(name, durable=True, arguments=arguments)
        return channel
    except ChannelClosedByBroker as error:
        if error.reply_code != PRECONDITION_FAILED:
            raise
        log.warning(
            "queue %s exists with other arguments than %s (%s): using it as it is",
            name, arguments, error.reply_text,
        )
    channel = connection.channel()
    channel.queue_declare(name, passive=True)
    return channel
