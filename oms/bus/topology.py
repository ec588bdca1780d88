"""The RabbitMQ names of CONTRACT.md and their idempotent declaration.

The intake queue is a quorum queue: it is replicated where a cluster has replicas, and the
broker counts redeliveries in the ``x-delivery-count`` header, which survives a restart of the
gateway. That is what lets a message that keeps crashing the gateway be dead-lettered after a
bounded number of attempts (the in-memory count of the consumer restarts with the process).
If an ``oms.orders.intake`` of another type already exists (declared by an older version), it
is used as it is, with a warning: the consumer then counts attempts in memory only.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
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
UNROUTED = "oms.orders.unrouted"
"""The alternate exchange of ``oms.orders`` (fanout) and its queue: a command whose account no
shard's queue is bound to lands here, and every shard's intake dead-letters it with the reason
(a topic exchange would otherwise drop it without a word). The alternate exchange is set by a
policy, not by an argument of ``oms.orders``: the contract declares that exchange without
arguments, and RabbitMQ refuses a declaration whose arguments differ from the existing one's.
``unrouted_policy_command`` is the command that sets it (``oms amqp unrouted-policy``)."""


def unrouted_policy_command(vhost: str = "/") -> list[str]:
    """``rabbitmqctl`` arguments that make ``oms.orders.unrouted`` the alternate exchange of
    ``oms.orders`` in ``vhost`` (a policy: the exchange's declaration does not change)."""
    definition = json.dumps({"alternate-exchange": UNROUTED})
    return ["rabbitmqctl", "set_policy", "-p", vhost, "--apply-to", "exchanges",
            "oms-orders-unrouted", r"^oms\.orders$", definition]


@dataclass(frozen=True, slots=True)
class IntakeRoute:
    """Which queue a gateway consumes and what ``oms.orders`` routes to it. The one implicit
    shard: ``oms.orders.intake`` bound with ``#`` (CONTRACT.md). Shard ``S``:
    ``oms.orders.intake.S`` bound with its accounts (the routing key is the account); the other
    accounts of the file are unbound from it, so a queue follows an account's move."""

    queue: str = INTAKE_QUEUE
    bindings: tuple[str, ...] = (INTAKE_BINDING,)
    unbind: tuple[str, ...] = ()

    def owner_check(self) -> Callable[[str], bool]:
        """Whether a command with a routing key (its account) is this queue's to process: a
        set lookup, built once (the intake asks for every delivery)."""
        if INTAKE_BINDING in self.bindings:
            return lambda _routing_key: True
        return frozenset(self.bindings).__contains__

    @classmethod
    def of_shard(cls, shard: str, accounts: Iterable[str],
                 all_accounts: Iterable[str]) -> IntakeRoute:
        owned = tuple(sorted(set(accounts)))
        return cls(f"{INTAKE_QUEUE}.{shard}", owned,
                   tuple(sorted(set(all_accounts) - set(owned))))


DEFAULT_ROUTE = IntakeRoute()

PRECONDITION_FAILED = 406


def declare_topology(connection: BlockingConnection, route: IntakeRoute = DEFAULT_ROUTE) -> None:
    """Declare both exchanges, the route's intake queue and bindings, the unrouted queue and the
    dead-letter queue. Safe to repeat; uses and closes channels of its own."""
    channel = connection.channel()
    try:
        channel.exchange_declare(ORDERS_EXCHANGE, exchange_type=TOPIC, durable=True)
        channel.exchange_declare(EVENTS_EXCHANGE, exchange_type=TOPIC, durable=True)
        channel.exchange_declare(UNROUTED, exchange_type="fanout", durable=True)
        channel = _declare_queue(connection, channel, DEAD_LETTER_QUEUE, None)
        channel = _declare_queue(connection, channel, UNROUTED, INTAKE_QUEUE_ARGUMENTS)
        channel.queue_bind(UNROUTED, UNROUTED)
        channel = _declare_queue(connection, channel, route.queue, INTAKE_QUEUE_ARGUMENTS)
        for key in route.bindings:
            channel.queue_bind(route.queue, ORDERS_EXCHANGE, routing_key=key)
        for key in route.unbind:  # unbinding what is not bound is a no-op for RabbitMQ
            channel.queue_unbind(route.queue, ORDERS_EXCHANGE, routing_key=key)
    finally:
        if channel.is_open:
            channel.close()


def declare_topology_at(url: str, route: IntakeRoute = DEFAULT_ROUTE) -> None:
    """Connect to ``url``, declare the topology, disconnect (for setup commands and tests)."""
    connection = pika.BlockingConnection(pika.URLParameters(url))
    try:
        declare_topology(connection, route)
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
