"""What a dead-lettered command looks like in ``oms.orders.dlq``.

The original body and properties, persistent, with the header ``x-oms-reason``. The AMQP
``user_id`` cannot be copied (RabbitMQ refuses a ``user_id`` other than the publishing
connection's user), so it moves to the header ``x-oms-user-id``; where the message was first
published goes to ``x-oms-exchange`` and ``x-oms-routing-key``. An ``expiration`` is dropped so
that the dead letter stays until someone looks at it.
"""

from __future__ import annotations

from typing import Any

import pika

from oms.bus.topology import REASON_HEADER

MAX_REASON_LENGTH = 1000
USER_ID_HEADER = "x-oms-user-id"
EXCHANGE_HEADER = "x-oms-exchange"
ROUTING_KEY_HEADER = "x-oms-routing-key"
PERSISTENT = 2


def dead_letter_properties(
    original: Any, reason: str, *, exchange: str, routing_key: str
) -> pika.BasicProperties:
    """Properties to republish ``original`` (a ``pika.BasicProperties``) with ``reason``."""
    headers: dict[str, Any] = dict(original.headers or {})
    headers[REASON_HEADER] = reason[:MAX_REASON_LENGTH]
    headers[EXCHANGE_HEADER] = exchange
    headers[ROUTING_KEY_HEADER] = routing_key
    if original.user_id is not None:
        headers[USER_ID_HEADER] = original.user_id
    return pika.BasicProperties(
        content_type=original.content_type,
        content_encoding=original.content_encoding,
        headers=headers,
        delivery_mode=PERSISTENT,
        priority=original.priority,
        correlation_id=original.correlation_id,
        reply_to=original.reply_to,
        message_id=original.message_id,
        timestamp=original.timestamp,
        type=original.type,
        app_id=original.app_id,
    )
