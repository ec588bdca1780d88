"""``StrategyClient``: what a strategy codes against to trade through the OMS over RabbitMQ.

- **Commands** (``submit``, ``cancel``, ``replace``) go to exchange ``oms.orders`` with the
  account as routing key, a JSON body with decimals as strings, ``content_type``
  ``application/json``, persistent delivery, the ``user_id`` property of the connection's user,
  and ``mandatory`` set. Each publish waits for the broker's confirm, so when a call returns
  the command is safely queued for the gateway; each returns the ``cl_ord_id`` it used.
- **Events** of the accounts given to the constructor arrive on the client's own queue, bound
  to ``oms.events`` with ``<account>.#``: a server-named exclusive queue by default (gone with
  the connection), or the durable queue named by ``queue`` (kept across reconnects and
  restarts: nothing is missed). Read them with ``poll``, ``events`` or ``run``. Duplicates
  (same ``event_id``: delivery is at-least-once) are dropped. Each order's events are handed
  out in ``seq`` order: one that arrives past a hole is held until the hole fills or
  ``gap_timeout_s`` passes, then handed out with ``event.gap`` saying what is missing
  (``event_inbox.py``, ``sequencing.py``). An event is acknowledged only when you come back
  for more (and never while one before it is held), so one whose handling crashed the process
  is delivered again.
- **Reconnects**: a lost connection is reopened with backoff (``ReconnectPolicy``), the queue
  declared and bound again, and the interrupted call retried. A command whose confirm was lost
  with the connection is published again with the same ``cl_ord_id``: if the first copy had
  arrived, the OMS answers the second with a ``rejected`` event whose ``order_id`` is null
  (``duplicate cl_ord_id``) and trades the order once.

Like pika's connections, a client is not thread-safe: use one client per thread.
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import datetime
from typing import Any

import pika
from pika import exceptions as amqp

from oms.bus.topology import EVENTS_EXCHANGE, ORDERS_EXCHANGE, TOPIC
from oms.client.commands import (
    Amount,
    ClOrdIdGenerator,
    InstrumentFields,
    OrderType,
    Side,
    TimeInForce,
    cancel_body,
    check_identifier,
    infer_order_type,
    new_order_body,
    replace_body,
)
from oms.client.event_inbox import EventInbox
from oms.client.events import OrderEvent
from oms.client.reconnect import (
    CommandNotDeliveredError,
    OmsClientError,
    OmsUnavailableError,
    ReconnectPolicy,
)
from oms.contract.event_format import routing_key_part

log = logging.getLogger(__name__)

JSON_CONTENT_TYPE = "application/json"
PERSISTENT = 2
ACK_EVERY = 200
"""Handed-out events are acknowledged at least this often (and whenever the client waits)."""

_REFUSED_LOGIN = (
    amqp.ProbableAuthenticationError, amqp.ProbableAccessDeniedError, amqp.AuthenticationError,
)
_TRANSIENT = (amqp.AMQPConnectionError, amqp.ChannelWrongStateError, amqp.ChannelClosed)


class StrategyClient:
    """Submit, cancel and replace orders; receive the events of ``accounts``.

    ``amqp_url`` is a pika URL (``amqp://guest:guest@127.0.0.1:5672/%2F``). With
    ``send_user_id`` (the default) every command carries the connection's user as its AMQP
    ``user_id``, which RabbitMQ checks and the OMS maps to the accounts it may trade.
    ``gap_timeout_s``: how long an event that arrived past a hole in its order's ``seq`` is
    held for the missing ones.
    """

    def __init__(
        self,
        amqp_url: str,
        accounts: Iterable[str] = (),
        *,
        queue: str | None = None,
        send_user_id: bool = True,
        prefetch: int = 1000,
        reconnect: ReconnectPolicy | None = None,
        dedup_capacity: int = 100_000,
        gap_timeout_s: float = 5.0,
        id_prefix: str | None = None,
        connection_name: str = "oms-strategy-client",
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._params = pika.URLParameters(amqp_url)
        self._params.client_properties = {"connection_name": connection_name}
        self.user_id: str | None = self._params.credentials.username if send_user_id else None
        self.accounts = tuple(check_identifier(a, "account") for a in accounts)
        self._requested_queue = queue
        self.queue: str | None = None
        """The events queue's name once connected (server-named unless ``queue`` was given)."""
        self._prefetch = prefetch
        self.policy = reconnect or ReconnectPolicy()
        self.inbox = EventInbox(dedup_capacity, gap_timeout_s)
        self.dedup = self.inbox.dedup
        self.next_cl_ord_id = ClOrdIdGenerator(id_prefix)
        self._sleep = sleep
        self._connection: Any = None
        self._publisher: Any = None
        self._consumer: Any = None
        self._generation = 0
        self._handed_since_ack = 0
        self.reconnects = 0

    # -- lifecycle ----------------------------------------------------------------------------

    def connect(self) -> StrategyClient:
        """Open the connection now (else the first call does), retrying per the policy."""
        self._with_reconnect(lambda: None)
        return self

    def close(self) -> None:
        """Acknowledge what was handed out and close the connection."""
        if self._connection is None:
            return
        try:
            self._settle()
            if self._connection.is_open:
                self._connection.close()
        except amqp.AMQPError as exc:
            log.debug("closing the AMQP connection: %r", exc)
        finally:
            self._connection = self._publisher = self._consumer = None

    def __enter__(self) -> StrategyClient:
        return self.connect()

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    @property
    def is_connected(self) -> bool:
        return self._connection is not None and bool(self._connection.is_open)

    @property
    def malformed(self) -> int:
        """Messages on the events queue that were not order events (logged, skipped)."""
        return self.inbox.malformed

    @property
    def gaps(self) -> int:
        """Holes in an order's sequence reported (``event.gap``)."""
        return self.inbox.gaps

    @property
    def late_events(self) -> int:
        """Events handed out marked ``late``."""
        return self.inbox.late_events

    # -- commands -----------------------------------------------------------------------------

    def submit(
        self,
        account: str,
        symbol: str,
        side: Side,
        quantity: Amount,
        *,
        price: Amount | None = None,
        stop_price: Amount | None = None,
        order_type: OrderType | None = None,
        time_in_force: TimeInForce = "day",
        expire_time: datetime | None = None,
        venue: str | None = None,
        instrument: InstrumentFields | None = None,
        cl_ord_id: str | None = None,
    ) -> str:
        """Send a new order; returns its ``cl_ord_id`` (generated unless given).

        ``order_type`` defaults to ``limit`` with a price, ``market`` without, ``stop`` with a
        stop price, ``stop_limit`` with both. ``expire_time`` (aware) goes with ``gtd``.
        """
        cl_ord_id = check_identifier(cl_ord_id or self.next_cl_ord_id(), "cl_ord_id")
        body = new_order_body(
            cl_ord_id=cl_ord_id, account=account, symbol=symbol, side=side, quantity=quantity,
            order_type=order_type or infer_order_type(price, stop_price), price=price,
            stop_price=stop_price, time_in_force=time_in_force, expire_time=expire_time,
            venue=venue, instrument=instrument,
        )
        self.publish(account, body)
        return cl_ord_id

    def cancel(
        self, account: str, orig_cl_ord_id: str, *, symbol: str | None = None,
        cl_ord_id: str | None = None,
    ) -> str:
        """Ask to cancel the order ``orig_cl_ord_id`` names; returns the request's
        ``cl_ord_id``, which every event the cancel causes carries."""
        cl_ord_id = check_identifier(cl_ord_id or self.next_cl_ord_id(), "cl_ord_id")
        self.publish(account, cancel_body(
            cl_ord_id=cl_ord_id, orig_cl_ord_id=orig_cl_ord_id, account=account, symbol=symbol,
        ))
        return cl_ord_id

    def replace(
        self, account: str, orig_cl_ord_id: str, *, quantity: Amount | None = None,
        price: Amount | None = None, cl_ord_id: str | None = None,
    ) -> str:
        """Ask to change quantity (the new total, filled part included) and/or price;
        returns the request's ``cl_ord_id``."""
        cl_ord_id = check_identifier(cl_ord_id or self.next_cl_ord_id(), "cl_ord_id")
        self.publish(account, replace_body(
            cl_ord_id=cl_ord_id, orig_cl_ord_id=orig_cl_ord_id, account=account,
            quantity=quantity, price=price,
        ))
        return cl_ord_id

    def publish(self, account: str, body: Mapping[str, str]) -> None:
        """Publish one command body as is (the typed methods above build it for you) and wait
        for the broker's confirm. Raises ``CommandNotDeliveredError`` or ``OmsUnavailableError``."""
        check_identifier(account, "account")
        payload = json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
        properties = pika.BasicProperties(
            content_type=JSON_CONTENT_TYPE, delivery_mode=PERSISTENT, user_id=self.user_id,
            message_id=uuid.uuid4().hex, timestamp=int(time.time()),
        )

        def send() -> None:
            try:
                self._publisher.basic_publish(
                    ORDERS_EXCHANGE, account, payload, properties, mandatory=True
                )
            except amqp.UnroutableError:
                raise CommandNotDeliveredError(
                    f"no queue is bound to {ORDERS_EXCHANGE} on this vhost: has a gateway "
                    "been started against it?"
                ) from None
            except amqp.NackError:
                raise CommandNotDeliveredError("the broker refused the command (nack)") from None
            except amqp.ChannelClosedByBroker as exc:
                self._discard_connection()
                raise CommandNotDeliveredError(
                    f"the broker refused the command: {exc.reply_code} {exc.reply_text}"
                ) from None

        self._with_reconnect(send)

    # -- events -------------------------------------------------------------------------------

    def poll(self, timeout: float = 0.0) -> list[OrderEvent]:
        """The events that have arrived, waiting up to ``timeout`` seconds for the first."""
        self._require_subscription()
        self._settle()
        inbox = self.inbox
        inbox.expire(time.monotonic())
        deadline = time.monotonic() + timeout
        while not inbox.has_ready and timeout >= 0:
            self._pump(self._wait(deadline))
            inbox.expire(time.monotonic())
            if time.monotonic() >= deadline:
                break
        handed: list[OrderEvent] = []
        while inbox.has_ready:
            self._handed_since_ack += 1
            if (event := inbox.pop()) is not None:
                handed.append(event)
        return handed

    def events(self, *, idle_timeout: float | None = None) -> Iterator[OrderEvent]:
        """Events one by one as they arrive. Ends after ``idle_timeout`` seconds without one
        (``None``: never)."""
        self._require_subscription()
        idle_since = time.monotonic()
        inbox = self.inbox
        while True:
            if self._handed_since_ack >= ACK_EVERY:
                self._settle()
            inbox.expire(time.monotonic())
            if not inbox.has_ready:
                self._settle()
                now = time.monotonic()
                deadline = now + 1.0
                if idle_timeout is not None:
                    deadline = min(deadline, idle_since + idle_timeout)
                    if deadline <= now:
                        return
                self._pump(self._wait(deadline))
                continue
            self._handed_since_ack += 1
            if (event := inbox.pop()) is not None:
                idle_since = time.monotonic()
                yield event

    def run(
        self, handler: Callable[[OrderEvent], None], *,
        until: Callable[[], bool] | None = None, poll_interval: float = 0.2,
    ) -> None:
        """Call ``handler`` for each event until ``until()`` is true (checked at least every
        ``poll_interval`` seconds) or forever."""
        while until is None or not until():
            for event in self.poll(poll_interval):
                handler(event)

    def sleep(self, seconds: float) -> None:
        """Wait, keeping the connection serviced (heartbeats) and events arriving."""
        deadline = time.monotonic() + seconds
        while (remaining := deadline - time.monotonic()) > 0:
            self._pump(remaining)

    # -- internals ----------------------------------------------------------------------------

    def _require_subscription(self) -> None:
        if not self.accounts:
            raise OmsClientError("this client subscribes to no account: pass accounts=[...]")

    def _settle(self) -> None:
        """Acknowledge the deliveries handed out so far (one ack with ``multiple``), up to the
        first one not handed out yet (held for its order's sequence, or ready and waiting).
        Deliveries of a closed channel are not acknowledged: the broker redelivers them to a
        durable queue, and the client drops them as duplicates."""
        self._handed_since_ack = 0
        upto = self.inbox.ack_upto()
        if upto is None or self._consumer is None:
            return
        try:
            self._consumer.basic_ack(upto, multiple=True)
        except _TRANSIENT as exc:
            log.warning("acknowledging events failed (they will be redelivered): %r", exc)
            self._discard_connection()
            return
        self.inbox.acked(upto)

    def _wait(self, deadline: float) -> float:
        """Seconds to wait for input: until ``deadline``, or until held events are due."""
        due = self.inbox.next_deadline()
        if due is not None:
            deadline = min(deadline, due)
        return max(deadline - time.monotonic(), 0.0)

    def _pump(self, timeout: float) -> None:
        self._with_reconnect(
            lambda: self._connection.process_data_events(time_limit=max(timeout, 0.0))
        )

    def _on_delivery(self, generation: int) -> Callable[..., None]:
        def on_message(channel: Any, method: Any, properties: Any, body: bytes) -> None:
            self.inbox.add(generation, method.delivery_tag, body, routing_key=method.routing_key,
                           redelivered=method.redelivered, now=time.monotonic())

        return on_message

    def _with_reconnect(self, action: Callable[[], None]) -> None:
        """Run ``action`` on an open connection, reconnecting per the policy on a transient
        failure (the interrupted action runs again)."""
        retrier = self.policy.retrier(
            f"strategy client: reaching RabbitMQ at {self._where()}",
            wait=self._sleep_between_attempts, logger=log,
        )
        try:
            retrier.call(lambda: self._attempt(action), retry_on=_TRANSIENT)
        except _TRANSIENT as exc:
            raise OmsUnavailableError(
                f"cannot reach RabbitMQ at {self._where()} after {retrier.failures} attempt(s): "
                f"{exc!r}"
            ) from None

    def _attempt(self, action: Callable[[], None]) -> None:
        try:
            if not self._is_open():
                self._open_or_refuse()
            action()
        except _REFUSED_LOGIN as exc:
            self._discard_connection()
            raise OmsClientError(
                f"RabbitMQ refused the login of {self._params.credentials.username!r} at "
                f"{self._where()}: {exc!r}"
            ) from None
        except _TRANSIENT:
            self._discard_connection()
            raise

    def _sleep_between_attempts(self, seconds: float) -> bool:
        self._sleep(seconds)
        return False  # a client has no stop event: it gives up per the policy instead

    def _is_open(self) -> bool:
        return (
            self.is_connected and self._publisher is not None and self._publisher.is_open
            and (not self.accounts or (self._consumer is not None and self._consumer.is_open))
        )

    def _open_or_refuse(self) -> None:
        """Open; the broker refusing our exchanges or queue is a mistake, not an outage."""
        try:
            self._open()
        except amqp.ChannelClosedByBroker as exc:
            self._discard_connection()
            raise OmsClientError(
                f"RabbitMQ refused the client's exchanges or queue at {self._where()}: "
                f"{exc.reply_code} {exc.reply_text}"
            ) from None

    def _open(self) -> None:
        self._discard_connection()
        connection = pika.BlockingConnection(self._params)
        self._connection = connection
        publisher = connection.channel()
        publisher.exchange_declare(ORDERS_EXCHANGE, exchange_type=TOPIC, durable=True)
        publisher.exchange_declare(EVENTS_EXCHANGE, exchange_type=TOPIC, durable=True)
        publisher.confirm_delivery()
        consumer = self._subscribe(connection) if self.accounts else None
        self._publisher, self._consumer = publisher, consumer
        if self._generation:
            self.reconnects += 1
            log.info("reconnected to RabbitMQ at %s", self._where())
        self._generation += 1
        self.inbox.new_channel(self._generation)
        if consumer is not None:
            consumer.basic_consume(self.queue, self._on_delivery(self._generation))

    def _subscribe(self, connection: Any) -> Any:
        channel = connection.channel()
        channel.basic_qos(prefetch_count=self._prefetch)
        if self._requested_queue is None:
            declared = channel.queue_declare("", exclusive=True, auto_delete=True)
        else:
            declared = channel.queue_declare(self._requested_queue, durable=True)
        self.queue = str(declared.method.queue)
        for account in self.accounts:
            channel.queue_bind(self.queue, EVENTS_EXCHANGE,
                               routing_key=f"{routing_key_part(account)}.#")
        return channel

    def _discard_connection(self) -> None:
        connection, self._connection = self._connection, None
        self._publisher = self._consumer = None
        if connection is not None and connection.is_open:
            try:
                connection.close()
            except amqp.AMQPError as exc:
                log.debug("closing a broken AMQP connection: %r", exc)

    def _where(self) -> str:
        p = self._params
        return f"{p.host}:{p.port}/{p.virtual_host}"
