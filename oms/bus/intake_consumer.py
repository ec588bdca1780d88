"""Strategy command intake: consume ``oms.orders.intake`` and hand each command to the core.

Threading: the consumer runs its own thread with its own pika connection (pika is not thread
safe). For every decodable delivery it calls ``submit(delivery)`` on that thread; ``submit`` is
the core's inbox put and may block (back-pressure; prefetch bounds what is in flight), but
blocking longer than the heartbeat timeout (60 s by default) loses the connection. The core
settles each delivery *after its commit* with ``delivery.ack()``, ``delivery.requeue()`` or
``delivery.dead_letter(reason)``, or a whole batch with ``ack_all(deliveries)`` (one hop to the
consumer's thread instead of one per delivery): these are safe from any thread, never block,
and only the first settlement of a delivery counts. A settlement that arrives after the
connection it came on was lost is dropped: the broker redelivers the message (``redelivered``
set) and the core recognises the command it already recorded.

The consumer settles by itself, without calling ``submit``:
- a body that is not an identifiable command (``DeadLetter`` from the decoder) and
- a message delivered more than ``max_delivery_attempts`` times,
both republished to ``oms.orders.dlq`` with ``x-oms-reason`` (publisher-confirmed), then acked.

On a connection or channel failure it reconnects with backoff (``oms.retry``: from
``reconnect_min_s``, doubling up to ``reconnect_max_s``, jittered, reset by each connection) and
re-declares the topology; unacknowledged deliveries return to the queue and come back
redelivered.
"""

from __future__ import annotations

import bisect
import functools
import logging
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import pika
from pika.exceptions import AMQPError

from oms.bus.command_decoder import Command, DeadLetter, decode_command
from oms.bus.dead_letters import dead_letter_properties
from oms.bus.delivery_attempts import DeliveryAttempts, broker_attempt, message_key
from oms.bus.topology import (
    DEAD_LETTER_QUEUE,
    DEFAULT_ROUTE,
    ORDERS_EXCHANGE,
    UNROUTED,
    IntakeRoute,
    declare_topology,
)
from oms.engine.inputs import StrategyCommand
from oms.engine.ports import Envelope
from oms.retry import RetryPolicy
from oms.settings import Settings

log = logging.getLogger(__name__)

Settlement = Literal["ack", "requeue"] | DeadLetter
_ACK: Literal["ack"] = "ack"
_REQUEUE: Literal["requeue"] = "requeue"
_POLL_S = 0.2


@dataclass(frozen=True, slots=True, eq=False)
class IntakeDelivery:
    """One strategy command as delivered, with the means to settle it from any thread: the
    core's ``Envelope`` port (``oms.engine.ports``)."""

    command: Command
    delivery_tag: int
    redelivered: bool
    attempt: int
    body: bytes
    received_ns: int
    _settler: _Settler = field(repr=False)

    def ack(self) -> None:
        """Processed and committed: remove it from the queue."""
        self._settler.settle(((self.delivery_tag, _ACK),))

    def requeue(self) -> None:
        """Not processed (e.g. the commit failed): deliver it again later. Counts an attempt."""
        self._settler.settle(((self.delivery_tag, _REQUEUE),))

    def dead_letter(self, reason: str) -> None:
        """Never to be processed: republish it to ``oms.orders.dlq`` with ``reason``, then ack."""
        self._settler.settle(((self.delivery_tag, DeadLetter(reason)),))


def ack_all(deliveries: Iterable[Envelope]) -> None:
    """Ack many deliveries with one hop to the consumer's thread per connection: what the core
    does after a batch commit (thread-safe, never blocks). An envelope of another kind is
    acknowledged on its own."""
    by_settler: dict[int, tuple[_Settler, list[tuple[int, Settlement]]]] = {}
    for delivery in deliveries:
        if not isinstance(delivery, IntakeDelivery):
            delivery.ack()
            continue
        settler = delivery._settler
        by_settler.setdefault(id(settler), (settler, []))[1].append(
            (delivery.delivery_tag, _ACK)
        )
    for settler, items in by_settler.values():
        settler.settle(items)


SubmitCallback = Callable[[IntakeDelivery], None]


def strategy_command(delivery: IntakeDelivery) -> StrategyCommand:
    """The core's input for ``delivery``: the delivery is its envelope."""
    command = delivery.command
    if isinstance(command, DeadLetter):
        return StrategyCommand(delivery, None, command.reason)
    return StrategyCommand(delivery, command)


def to_core(put: Callable[[object], None]) -> SubmitCallback:
    """The intake's callback that puts each delivery on the core's inbox."""
    return lambda delivery: put(strategy_command(delivery))


class _Settler:
    """Settles deliveries of one connection from any thread (see ``IntakeConsumer._settle``)."""

    __slots__ = ("_consumer", "_session")

    def __init__(self, consumer: IntakeConsumer, session: _Session) -> None:
        self._consumer = consumer
        self._session = session

    def settle(self, items: Sequence[tuple[int, Settlement]]) -> None:
        self._consumer._settle_threadsafe(self._session, items)


class _ReconnectError(Exception):
    """Drop this connection and make a new one (after the backoff)."""


@dataclass(slots=True)
class _Pending:
    key: str
    body: bytes
    properties: Any
    exchange: str
    routing_key: str


@dataclass(slots=True)
class _Session:
    """One connection and its channels; deliveries are only settled on the session they came on."""

    connection: pika.BlockingConnection
    channel: Any
    dead_letter_channel: Any
    outstanding: dict[int, _Pending] = field(default_factory=dict)
    settler: _Settler | None = None


class IntakeConsumer:
    def __init__(
        self,
        amqp_url: str,
        submit: SubmitCallback,
        *,
        prefetch: int = 1000,
        max_delivery_attempts: int = 5,
        reconnect_min_s: float = 0.5,
        reconnect_max_s: float = 30.0,
        connection_name: str = "oms intake",
        route: IntakeRoute = DEFAULT_ROUTE,
    ) -> None:
        self._parameters = pika.URLParameters(amqp_url)
        self._parameters.client_properties = {"connection_name": connection_name}
        self._submit = submit
        self._route = route
        self._owns = route.owner_check()
        self._prefetch = prefetch
        self._max_attempts = max_delivery_attempts
        self._attempts = DeliveryAttempts()
        self._stopping = threading.Event()
        self._retrier = RetryPolicy(
            initial_delay_s=reconnect_min_s, max_delay_s=reconnect_max_s
        ).retrier("AMQP intake: consuming from RabbitMQ", self._stopping, logger=log)
        self._consuming = threading.Event()
        self._thread: threading.Thread | None = None
        self._connection: pika.BlockingConnection | None = None
        self._session: _Session | None = None
        self._drain_s = 5.0
        self.connections_made = 0
        """How many times the consumer connected (1 + reconnections); for status pages."""

    @classmethod
    def from_settings(cls, settings: Settings, submit: SubmitCallback) -> IntakeConsumer:
        """``OMS_AMQP_URL``, ``engine.amqp_prefetch`` and ``engine.max_delivery_attempts``."""
        engine = settings.file.engine
        return cls(
            settings.amqp_url, submit, prefetch=engine.amqp_prefetch,
            max_delivery_attempts=engine.max_delivery_attempts,
        )

    # --- any thread ---------------------------------------------------------------------------

    def start(self) -> None:
        if self._thread is not None:
            raise RuntimeError("the intake consumer is already started")
        self._thread = threading.Thread(target=self._run, name="amqp-intake", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        """Stop consuming, give the core up to half of ``timeout`` to settle what it holds,
        then close. Deliveries still unsettled return to the queue."""
        self._drain_s = timeout / 2
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def wait_until_consuming(self, timeout: float) -> bool:
        """True once connected and consuming (again, after a reconnection)."""
        return self._consuming.wait(timeout)

    @property
    def is_consuming(self) -> bool:
        return self._consuming.is_set()

    # --- the consumer's thread ----------------------------------------------------------------

    def _run(self) -> None:
        """Consume until stopped, reconnecting with backoff (reset by each connection)."""
        self._retrier.call(
            self._consume_until_stopped, retry_on=(Exception,),
            expected=(AMQPError, OSError, _ReconnectError),
        )

    def _consume_until_stopped(self) -> None:
        try:
            self._consume()
        finally:
            self._consuming.clear()
            self._close()

    def _consume(self) -> None:
        connection = pika.BlockingConnection(self._parameters)
        self._connection = connection
        declare_topology(connection, self._route)
        channel = connection.channel()
        channel.basic_qos(prefetch_count=self._prefetch)
        dead_letter_channel = connection.channel()
        dead_letter_channel.confirm_delivery()
        session = _Session(connection, channel, dead_letter_channel)
        session.settler = _Settler(self, session)
        self._session = session
        tags = {
            channel.basic_consume(
                self._route.queue, functools.partial(self._on_message, session), auto_ack=False
            ),
            channel.basic_consume(
                UNROUTED, functools.partial(self._on_unrouted, session), auto_ack=False
            ),
        }
        self.connections_made += 1
        self._retrier.succeeded()
        self._consuming.set()
        log.info("AMQP intake: consuming %s (prefetch %d)", self._route.queue, self._prefetch)
        while not self._stopping.is_set():
            connection.process_data_events(time_limit=_POLL_S)
            if not tags <= set(channel.consumer_tags):
                raise _ReconnectError("the broker cancelled a consumer (queue deleted?)")
        self._drain(session)

    def _drain(self, session: _Session) -> None:
        """Stop taking deliveries; let the core settle the ones it holds, for a while."""
        for consumer_tag in list(session.channel.consumer_tags):
            session.channel.basic_cancel(consumer_tag)
        deadline = time.monotonic() + self._drain_s
        while session.outstanding and time.monotonic() < deadline:
            session.connection.process_data_events(time_limit=_POLL_S)

    def _close(self) -> None:
        connection, self._connection, self._session = self._connection, None, None
        if connection is None:
            return
        try:
            if connection.is_open:
                connection.close()
        except (AMQPError, OSError) as error:
            log.debug("AMQP intake: error while closing: %r", error)

    def _on_message(
        self, session: _Session, channel: Any, method: Any, properties: Any, body: bytes
    ) -> None:
        received_ns = time.perf_counter_ns()
        tag: int = method.delivery_tag
        key = message_key(properties.message_id, body)
        attempt = max(
            self._attempts.record(key, bool(method.redelivered)),
            broker_attempt(properties.headers),
        )
        session.outstanding[tag] = _Pending(
            key, body, properties, method.exchange, method.routing_key
        )
        if not self._owns(method.routing_key):
            self._forward(session, tag)
            return
        if attempt > self._max_attempts:
            reason = (
                f"delivered {attempt} times without being processed "
                f"(the limit is {self._max_attempts} attempts)"
            )
            self._settle(session, ((tag, DeadLetter(reason)),))
            return
        try:
            result = decode_command(
                body,
                content_type=properties.content_type,
                user_id=properties.user_id,
                routing_key=method.routing_key,
            )
        except Exception as error:  # the decoder is tested never to raise; belt and braces
            log.exception("AMQP intake: decoder failed on delivery %d", tag)
            result = DeadLetter(f"the decoder failed on this message: {error!r}")
        if isinstance(result, DeadLetter):
            self._settle(session, ((tag, result),))
            return
        assert session.settler is not None
        self._submit(
            IntakeDelivery(
                command=result,
                delivery_tag=tag,
                redelivered=bool(method.redelivered),
                attempt=attempt,
                body=body,
                received_ns=received_ns,
                _settler=session.settler,
            )
        )

    def _forward(self, session: _Session, tag: int) -> None:
        """A command for an account this shard no longer owns (it waited in this queue while
        the account moved): published again to ``oms.orders``, which routes it to the account's
        shard now (or, if none, to the unrouted queue), then acknowledged here. The publish is
        confirmed first; a failure drops the connection and the broker redelivers it here."""
        pending = session.outstanding.pop(tag)
        session.dead_letter_channel.basic_publish(
            exchange=ORDERS_EXCHANGE, routing_key=pending.routing_key, body=pending.body,
            properties=pending.properties)
        log.info("AMQP intake: a command for account %r forwarded: not this shard's",
                 pending.routing_key)
        self._attempts.forget(pending.key)
        _ack_tags(session, [tag])

    def _on_unrouted(
        self, session: _Session, channel: Any, method: Any, properties: Any, body: bytes
    ) -> None:
        """A command ``oms.orders`` routed to no shard's queue: dead-lettered with its reason
        (any shard's intake may take it)."""
        tag: int = method.delivery_tag
        session.outstanding[tag] = _Pending(
            message_key(properties.message_id, body), body, properties, ORDERS_EXCHANGE,
            method.routing_key)
        reason = (f"no shard owns account {method.routing_key!r} (the routing key): no "
                  "gateway takes its commands")
        self._settle(session, ((tag, DeadLetter(reason)),))

    def _settle_threadsafe(
        self, session: _Session, items: Sequence[tuple[int, Settlement]]
    ) -> None:
        try:
            session.connection.add_callback_threadsafe(
                functools.partial(self._settle, session, items)
            )
        except (AMQPError, OSError) as error:
            log.info(
                "AMQP intake: settling %d deliveries dropped (%r); the broker redelivers them",
                len(items), error,
            )

    def _settle(self, session: _Session, items: Sequence[tuple[int, Settlement]]) -> None:
        """On the consumer's thread. Ignores deliveries already settled or of an old session."""
        if session is not self._session or not session.channel.is_open:
            return
        acks: list[int] = []
        for tag, settlement in items:
            pending = session.outstanding.pop(tag, None)
            if pending is None:
                continue
            if settlement == _REQUEUE:
                session.channel.basic_nack(tag, requeue=True)
                continue
            if isinstance(settlement, DeadLetter):
                self._publish_dead_letter(session, pending, settlement.reason)
            acks.append(tag)
            self._attempts.forget(pending.key)
        if acks:
            _ack_tags(session, acks)

    def _publish_dead_letter(self, session: _Session, pending: _Pending, reason: str) -> None:
        """Republish to the dead-letter queue and wait for the broker's confirm. A failure
        raises, which drops the connection: the original is redelivered and tried again."""
        properties = dead_letter_properties(
            pending.properties, reason, exchange=pending.exchange,
            routing_key=pending.routing_key,
        )
        session.dead_letter_channel.basic_publish(
            exchange="",
            routing_key=DEAD_LETTER_QUEUE,
            body=pending.body,
            properties=properties,
            mandatory=True,
        )
        log.warning("AMQP intake: dead-lettered a message (%s)", reason)


def _ack_tags(session: _Session, tags: list[int]) -> None:
    """Acknowledge ``tags`` (settled, no longer outstanding) with as few frames as possible:
    one ``basic.ack`` with ``multiple`` for those below every delivery still outstanding (it
    covers every unacknowledged delivery up to its tag: there are no others below), one each
    for the rest. A committed batch of hundreds is then one frame, not hundreds."""
    tags.sort()
    lowest_outstanding = min(session.outstanding, default=None)
    below = len(tags) if lowest_outstanding is None else bisect.bisect_left(
        tags, lowest_outstanding)
    channel = session.channel
    if below > 1:
        channel.basic_ack(tags[below - 1], multiple=True)
    else:
        below = 0
    for tag in tags[below:]:
        channel.basic_ack(tag)
