"""The outbox relay: publish committed ``outbox`` rows to RabbitMQ, at least once, and each
order's events in ``seq`` order.

Threading: the relay runs its own thread with a pika ``SelectConnection`` (asynchronous
publisher confirms: up to ``window`` messages are in flight at once; a blocking confirm per
message would cap throughput at one broker round trip per event). Every database access also
happens on that thread. From other threads call only ``start()``, ``handoff()``, ``wake()`` and
``stop()``.

- ``handoff(rows)`` (thread-safe, cheap): the core gives it the outbox rows of each batch it
  has just committed; they are published from memory, in commit order, without reading them
  back (a read per commit was a third of the gateway's CPU under load). The table stays the
  truth: rows handed off while the relay is not connected are dropped and read from the table
  after it connects. Rows are marked published by event id.
- **The backlog goes first.** After every (re)connection, and after ``wake()``, the relay reads
  the table (from the start after a connection) until a read finds fewer rows than it asked
  for: rows committed while it was away, rows not confirmed on a lost channel. Meanwhile
  handed-off rows are not published from memory: those handed off before a read are dropped
  (the drain reads them), later ones go out after it. The core is the only writer and commits
  in order, so ids follow commit order and no handed-off row overtakes an older one.
- **One unconfirmed event per order** (``publish_queue.py``): a message cannot be called back,
  so an order's next event goes once the one before it is confirmed; other orders do not
  wait. It costs one broker round trip between two events of one order committed together.
- **A refused row holds back its order.** A row the broker refuses (``basic.nack``: a full
  queue with ``x-overflow: reject-publish``) or whose exchange does not exist counts one more
  ``attempts`` and is published again from memory at the next poll; its order's later events
  wait. After ``max_attempts`` it is *parked* (``parked_reason``, never published, an ERROR
  with its order and seq, ``parked_count``) and the order's later events go out without it:
  consumers see a hole in its ``seq`` (the strategy client reports it). A row whose
  ``parked_reason`` an operator clears is published at the next poll, after those events.
- ``wake()`` (thread-safe, cheap, coalesced): rows were committed by someone else: read the
  table now, as a backlog. The relay also reads it every ``poll_interval_s`` (from the start),
  in case a handoff was lost. Rows published from memory and found
  again in the table are skipped by event id (``RecentIds``).
- A row is marked ``published_at`` once the broker confirms it; marks are written in batches.
- Messages are persistent, ``application/json``, with ``message_id`` = the row's ``event_id``
  (consumers drop duplicates by it: after a crash or reconnection, a row published but not yet
  marked is published again).
- Not ``mandatory``: an event that no consumer's queue is bound for is not a failure.
- On a lost connection it reconnects with backoff (``oms.retry``: from ``reconnect_min_s``,
  doubling up to ``reconnect_max_s``, jittered, reset by each connection) and declares
  ``oms.events``.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Any

import orjson
import pika
from pika import spec
from pika.exceptions import AMQPError
from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from oms.bus.exchange_probe import probe_exchange
from oms.bus.outbox_rows import OutboxRow, OutboxRows, ParkedRow, PendingMarks
from oms.bus.publish_queue import PublishQueue
from oms.bus.topology import EVENTS_EXCHANGE, TOPIC
from oms.retry import RetryPolicy
from oms.settings import DEFAULT_SHARD

log = logging.getLogger(__name__)

JSON = "application/json"
PERSISTENT = 2
NACKED = "the broker refused the message (basic.nack)"


class ConnectionLostError(Exception):
    """The relay's connection ended (or never opened) while it was not stopping; the argument
    is pika's reason. The relay reconnects after the backoff."""


class OutboxRelay:
    def __init__(
        self,
        amqp_url: str,
        engine: Engine,
        *,
        window: int = 500,
        mark_batch: int = 500,
        poll_interval_s: float = 1.0,
        max_attempts: int = 5,
        reconnect_min_s: float = 0.5,
        reconnect_max_s: float = 30.0,
        connection_name: str = "oms outbox relay",
        shard: str = DEFAULT_SHARD,
    ) -> None:
        self._parameters = pika.URLParameters(amqp_url)
        self._parameters.client_properties = {"connection_name": connection_name}
        self._rows = OutboxRows(engine, shard)
        self._window = window
        self._min_read = max(1, window // 4)
        """While messages are in flight, the table is read only for at least this many rows
        (rows waiting behind their order take room in the window: no read per confirm)."""
        self._mark_batch = mark_batch
        self._poll_interval_s = poll_interval_s
        self._max_attempts = max_attempts
        self._stopping = threading.Event()
        self._retrier = RetryPolicy(
            initial_delay_s=reconnect_min_s, max_delay_s=reconnect_max_s
        ).retrier("outbox relay: publishing to RabbitMQ", self._stopping, logger=log)
        self._lost_because: BaseException | None = None
        self._ready = threading.Event()
        self._wake_requested = threading.Event()
        self._thread: threading.Thread | None = None
        self._connection: Any = None
        self._shutdown_deadline = 0.0
        self._marks = PendingMarks()
        self._handed: deque[dict[str, Any]] = deque()
        self._handoff_requested = threading.Event()
        self._queue = PublishQueue()
        self._probing: OutboxRow | None = None
        self._reset_channel_state()
        self.connections_made = 0
        self.published_count = 0
        self.refused_count = 0
        self.parked_count = 0

    @property
    def retrying(self) -> int:
        """Refused rows waiting for their next attempt (each holds back its order)."""
        return self._queue.retrying

    def _reset_channel_state(self) -> None:
        """A new channel: every row not confirmed on the old one (in flight, waiting behind
        its order, refused, not yet sent) is read from the table again, in id order; rows
        handed off and not yet published are dropped (the table has them)."""
        self._queue.clear()
        if self._probing is not None:
            self._queue.recent.discard(self._probing.event_id)
        self._probing = None
        self._handed.clear()
        self._channel: Any = None
        self._next_tag = 0
        self._cursor = 0
        self._verified: set[str] = set()
        self._backlog = True
        """The table may hold rows older than the handed-off ones: read it until a read
        finds fewer rows than it asked for; handed-off rows wait meanwhile."""
        self._table_more = True
        """The last read found as many rows as it asked for: read on when there is room."""

    def _held(self) -> int:
        """Rows taken and not finished: they take the window's room."""
        return self._queue.held + (self._probing is not None)

    # --- any thread ---------------------------------------------------------------------------

    def start(self) -> None:
        if self._thread is not None:
            raise RuntimeError("the outbox relay is already started")
        self._thread = threading.Thread(target=self._run, name="outbox-relay", daemon=True)
        self._thread.start()

    def wake(self) -> None:
        """Rows were committed that were not handed off: read the table now (they go out
        before rows handed off later). Thread-safe; never blocks."""
        if self._wake_requested.is_set():
            return
        self._wake_requested.set()
        if not self._call_soon(self._on_wake):
            self._wake_requested.clear()  # not connected: the table is read once connected

    def handoff(self, rows: list[dict[str, Any]]) -> None:
        """Rows the core has just committed, to publish from memory. Thread-safe; never
        blocks. ``rows`` must not change afterwards."""
        if not rows or not self._ready.is_set():
            return  # not connected: the table is read once connected
        self._handed.extend(rows)
        if self._handoff_requested.is_set():
            return
        self._handoff_requested.set()
        if not self._call_soon(self._on_handoff):
            self._handoff_requested.clear()

    def stop(self, timeout: float = 10.0) -> None:
        """Wait up to half of ``timeout`` for outstanding confirms, mark them, disconnect."""
        self._shutdown_deadline = time.monotonic() + timeout / 2
        self._stopping.set()
        self._call_soon(self._finish_if_drained)
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def wait_until_ready(self, timeout: float) -> bool:
        """True once connected with confirms enabled (again, after a reconnection)."""
        return self._ready.wait(timeout)

    @property
    def is_ready(self) -> bool:
        return self._ready.is_set()

    def _call_soon(self, callback: Callable[[], None]) -> bool:
        """Run ``callback`` on the relay's thread; False if there is no connection to run it."""
        connection = self._connection
        if connection is None:
            return False
        try:
            connection.ioloop.add_callback_threadsafe(callback)
        except (AMQPError, OSError, RuntimeError) as error:
            log.debug("outbox relay: could not schedule a callback: %r", error)
            return False
        return True

    # --- the relay's thread: connection lifecycle ---------------------------------------------

    def _run(self) -> None:
        """Publish until stopped, reconnecting with backoff (reset by each connection)."""
        self._retrier.call(
            self._publish_until_stopped, retry_on=(Exception,), expected=(ConnectionLostError,)
        )
        self._rows.close()

    def _publish_until_stopped(self) -> None:
        """One connection's life; raises ``ConnectionLostError`` if it ends before ``stop``."""
        self._lost_because = None
        try:
            self._connection = pika.SelectConnection(
                self._parameters,
                on_open_callback=self._on_connection_open,
                on_open_error_callback=self._on_connection_open_error,
                on_close_callback=self._on_connection_closed,
            )
            self._connection.ioloop.start()
        finally:
            self._ready.clear()
            self._connection = None
            self._reset_channel_state()
            self._flush()
        if not self._stopping.is_set():
            raise ConnectionLostError(self._lost_because)

    def _lost(self, reason: BaseException) -> None:
        """Remember why the connection ends (the first reason: a closed channel closes it)."""
        if self._lost_because is None:
            self._lost_because = reason

    def _on_connection_open(self, connection: Any) -> None:
        if self._stopping.is_set():
            self._close_connection()
            return
        connection.channel(on_open_callback=self._on_channel_open)

    def _on_connection_open_error(self, connection: Any, error: BaseException) -> None:
        self._lost(error)
        connection.ioloop.stop()

    def _on_connection_closed(self, connection: Any, reason: BaseException) -> None:
        self._lost(reason)
        self._ready.clear()
        connection.ioloop.stop()

    def _on_channel_open(self, channel: Any) -> None:
        self._channel = channel
        channel.add_on_close_callback(self._on_channel_closed)
        channel.exchange_declare(
            EVENTS_EXCHANGE, exchange_type=TOPIC, durable=True, callback=self._on_declared
        )

    def _on_declared(self, _frame: Any) -> None:
        self._verified = {EVENTS_EXCHANGE}
        self._channel.confirm_delivery(self._on_confirm, callback=self._on_confirm_mode)

    def _on_confirm_mode(self, _frame: Any) -> None:
        self.connections_made += 1
        self._retrier.succeeded()
        self._wake_requested.clear()
        self._ready.set()
        log.info("outbox relay: publishing with confirms (window %d)", self._window)
        self._schedule_tick()
        self._advance()
        self._finish_if_drained()

    def _on_channel_closed(self, channel: Any, reason: BaseException) -> None:
        """The publishing channel closed: start over on a new connection (rows not confirmed
        are published again)."""
        if channel is not self._channel:
            return
        self._lost(reason)
        self._close_connection()

    def _close_connection(self) -> None:
        connection = self._connection
        if connection is None or connection.is_closing or connection.is_closed:
            return
        try:
            connection.close()
        except AMQPError as error:
            log.debug("outbox relay: error while closing: %r", error)

    def _schedule_tick(self) -> None:
        if self._connection is not None:
            self._connection.ioloop.call_later(self._poll_interval_s, self._on_tick)

    # --- the relay's thread: taking rows, in commit order ---------------------------------------

    def _on_tick(self) -> None:
        """Periodic: write marks, publish refused rows again, and read the table from the
        start (picks up anything a lost handoff left behind, and rows an operator un-parked;
        the rows it finds first are those taken and not yet confirmed, skipped)."""
        if not self._ready.is_set():
            return
        self._flush()
        self._queue.retry_now()
        self._cursor = 0
        self._table_more = True
        self._advance()
        self._finish_if_drained()
        self._schedule_tick()

    def _on_wake(self) -> None:
        self._wake_requested.clear()
        self._backlog = True
        self._table_more = True
        self._advance()

    def _on_handoff(self) -> None:
        self._handoff_requested.clear()
        self._publish_handed()

    def _advance(self) -> None:
        """Publish what may go now, then take handed-off rows, then read the table."""
        self._send_outgoing()
        self._publish_handed()
        if self._table_more:
            self._pump()

    def _publish_handed(self) -> None:
        """Take handed-off rows while the window has room (not while the backlog drains)."""
        if (not self._ready.is_set() or self._stopping.is_set() or self._backlog
                or self._probing is not None):
            return
        free = self._window - self._held()
        while self._handed and free > 0:
            handed = self._handed.popleft()
            event_id = str(handed["event_id"])
            if event_id in self._queue.recent:
                continue  # already taken from the table
            body = handed["body"]
            self._queue.take(OutboxRow(
                0, event_id, handed["exchange"], handed["routing_key"], orjson.dumps(body), 0,
                body.get("order_id"), body.get("seq")))
            free -= 1
        self._send_outgoing()

    def _pump(self) -> None:
        """Read pending rows from the table into the window's free room, in id order."""
        if not self._ready.is_set() or self._stopping.is_set() or self._probing is not None:
            return
        free = self._window - self._held()
        if free <= 0 or (self._queue.inflight and free < self._min_read):
            return  # read once confirms have made room
        covered = len(self._handed) if self._backlog else 0
        try:
            rows = self._rows.pending(self._cursor, free)
        except SQLAlchemyError as error:
            log.warning("outbox relay: cannot read the outbox (%s); retrying", error)
            return
        self._table_more = len(rows) >= free
        drained = self._backlog and not self._table_more
        if self._backlog:
            for _ in range(covered):  # committed before this read: the drain reads them
                self._handed.popleft()
            self._backlog = self._table_more
        for row in rows:
            self._cursor = row.id
            if row.event_id not in self._queue.recent:  # else published from memory already
                self._queue.take(row)
        self._send_outgoing()
        if drained:  # rows handed off after this read go now
            self._publish_handed()

    # --- the relay's thread: publishing and confirms ------------------------------------------

    def _send_outgoing(self) -> None:
        if not self._ready.is_set() or self._stopping.is_set():
            return
        while self._probing is None and (row := self._queue.next_outgoing()) is not None:
            if row.exchange not in self._verified:
                self._probe(row)
                return
            self._publish(row)

    def _publish(self, row: OutboxRow) -> None:
        properties = pika.BasicProperties(
            content_type=JSON, delivery_mode=PERSISTENT, message_id=row.event_id, app_id="oms"
        )
        self._channel.basic_publish(row.exchange, row.routing_key, row.body, properties)
        self._next_tag += 1
        self._queue.sent(self._next_tag, row)

    def _on_confirm(self, frame: Any) -> None:
        method = frame.method
        acked = isinstance(method, spec.Basic.Ack)
        for tag in self._confirmed_tags(method.delivery_tag, method.multiple):
            if not acked:
                self._refused(self._queue.nacked(tag), NACKED)
                continue
            self._marks.confirmed(self._queue.confirmed(tag))
        # Marks are written per ``mark_batch`` rows, on failures, and at every tick (each a
        # transaction and a WAL flush of its own; a row published but not yet marked is only
        # published again after a crash, and consumers drop duplicates by event_id).
        if self._marks.published >= self._mark_batch or self._marks.failed:
            self._flush()
        if self._stopping.is_set():
            self._finish_if_drained()
            return
        self._advance()

    def _confirmed_tags(self, delivery_tag: int, multiple: bool) -> list[int]:
        inflight = self._queue.inflight
        if not multiple:
            return [delivery_tag] if delivery_tag in inflight else []
        tags = []
        for tag in inflight:  # in publish order: stop at the first tag not confirmed
            if tag > delivery_tag:
                break
            tags.append(tag)
        return tags

    def _refused(self, row: OutboxRow, reason: str) -> None:
        """``row`` (already set to be published again at the next poll, its order's later rows
        waiting behind it) was refused: count it (written with the marks) and say so."""
        self._marks.refused(row.event_id, reason)
        self.refused_count += 1
        level = logging.WARNING if row.attempts == 1 else logging.DEBUG
        log.log(level, "outbox relay: event %s (order %s, seq %s) not published: %s; trying "
                "again every %gs, the order's later events wait", row.event_id, row.order_id,
                row.seq, reason, self._poll_interval_s)

    def _flush(self) -> None:
        """Write the marks and refusals gathered so far (kept for later if the database fails)."""
        try:
            published, parked = self._marks.write(self._rows, self._max_attempts)
        except SQLAlchemyError as error:
            log.warning("outbox relay: cannot mark rows (%s); will retry", error)
            return
        self.published_count += published
        for row in parked:
            self._parked(row)

    def _parked(self, parked: ParkedRow) -> None:
        self.parked_count += 1
        log.error("outbox relay: parked event %s (order %s, seq %s) after %d attempts: %s. "
                  "It stays in the outbox table, unpublished; the order's later events go "
                  "out without it", parked.event_id, parked.order_id, parked.seq,
                  parked.attempts, parked.reason)
        self._queue.parked(parked.event_id)  # its order's next row may go

    def _probe(self, row: OutboxRow) -> None:
        """Check that ``row.exchange`` exists before publishing to it (publishing a message to
        a missing exchange closes the channel); publishing stops until the answer."""
        self._probing = row

        def answer(exists: bool | None) -> None:
            if self._probing is not row:
                return  # the connection was lost meanwhile
            self._probing = None
            if exists:
                self._verified.add(row.exchange)
                self._queue.put_back(row)
            elif exists is None:
                self._queue.postpone(row)  # checked again at the next poll
            else:
                self._refused(self._queue.refused(row),
                              f"exchange {row.exchange!r} does not exist")
                self._flush()
            self._advance()

        probe_exchange(self._connection, row.exchange, answer)

    def _finish_if_drained(self) -> None:
        if not self._stopping.is_set():
            return
        if self._queue.inflight and time.monotonic() < self._shutdown_deadline:
            return
        self._flush()
        self._close_connection()
