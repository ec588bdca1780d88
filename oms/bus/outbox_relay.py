"""The outbox relay: publish committed ``outbox`` rows to RabbitMQ, at least once, in id order.

Threading: the relay runs its own thread with a pika ``SelectConnection`` (asynchronous
publisher confirms: up to ``window`` messages are in flight at once; a blocking confirm per
message would cap throughput at one broker round trip per event). Every database access also
happens on that thread. From other threads call only ``start()``, ``wake()`` and ``stop()``.

- ``handoff(rows)`` (thread-safe, cheap): the core gives it the outbox rows of each batch it
  has just committed; they are published from memory, in commit order, without reading them
  back (a read per commit was a third of the gateway's CPU under load). The table stays the
  truth: rows handed off while the relay is not connected are dropped and read from the table
  after it connects; a row the broker refuses is left to the table's path, which counts the
  attempts. Rows are marked published by event id.
- ``wake()`` (thread-safe, cheap, coalesced): new rows were committed (by anyone): read the
  table from the last row read. The relay also reads it every ``poll_interval_s`` (from the
  start when idle), in case a wake-up is missed. Rows published from memory and found again in
  the table are skipped by event id (``RecentIds``).
- A row is marked ``published_at`` once the broker confirms it; marks are written in batches.
- A row the broker refuses (``basic.nack``) or whose exchange does not exist counts one more
  ``attempts``; after ``max_attempts`` it is parked with ``parked_reason`` and no longer tried.
  A failing row does not hold back the rows after it; it is retried on the next poll.
- Messages are persistent, ``application/json``, with ``message_id`` = the row's ``event_id``
  (consumers drop duplicates by it: after a crash or reconnection, a row published but not yet
  marked is published again).
- Not ``mandatory``: an event that no consumer's queue is bound for is not a failure.
- On a lost connection it reconnects with exponential backoff and declares ``oms.events``.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from typing import Any

import orjson
import pika
from pika import spec
from pika.exceptions import AMQPError, ChannelClosedByBroker
from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from oms.bus.outbox_rows import OutboxRow, OutboxRows
from oms.bus.recent_ids import RecentIds
from oms.bus.topology import EVENTS_EXCHANGE, TOPIC

log = logging.getLogger(__name__)

NOT_FOUND = 404
JSON = "application/json"
PERSISTENT = 2


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
    ) -> None:
        self._parameters = pika.URLParameters(amqp_url)
        self._parameters.client_properties = {"connection_name": connection_name}
        self._rows = OutboxRows(engine)
        self._window = window
        self._mark_batch = mark_batch
        self._poll_interval_s = poll_interval_s
        self._max_attempts = max_attempts
        self._reconnect_min_s = reconnect_min_s
        self._reconnect_max_s = reconnect_max_s
        self._stopping = threading.Event()
        self._ready = threading.Event()
        self._wake_requested = threading.Event()
        self._thread: threading.Thread | None = None
        self._connection: Any = None
        self._shutdown_deadline = 0.0
        self._reset_channel_state()
        self._published: list[int] = []
        self._published_events: list[str] = []
        self._failed: dict[int, str] = {}
        self._handed: deque[dict[str, Any]] = deque()
        self._handoff_requested = threading.Event()
        self._recent = RecentIds()
        self.connections_made = 0
        self.published_count = 0
        self.parked_count = 0

    def _reset_channel_state(self) -> None:
        """A new channel: what was in flight on the old one is published again (from the
        table: handed-off rows not yet published are dropped, the table has them)."""
        for row in getattr(self, "_inflight", {}).values():
            self._recent.discard(row.event_id)
        getattr(self, "_handed", deque()).clear()
        self._channel: Any = None
        self._inflight: OrderedDict[int, OutboxRow] = OrderedDict()
        self._next_tag = 0
        self._cursor = 0
        self._verified: set[str] = set()
        self._probing: int | None = None
        self._caught_up = False
        """The last read found fewer rows than it asked for: nothing more is pending until
        the next wake-up (the core wakes the relay after every commit that wrote rows)."""

    # --- any thread ---------------------------------------------------------------------------

    def start(self) -> None:
        if self._thread is not None:
            raise RuntimeError("the outbox relay is already started")
        self._thread = threading.Thread(target=self._run, name="outbox-relay", daemon=True)
        self._thread.start()

    def wake(self) -> None:
        """New rows were committed: publish them now. Thread-safe; never blocks."""
        if self._wake_requested.is_set():
            return
        self._wake_requested.set()
        if not self._call_soon(self._on_wake):
            self._wake_requested.clear()  # not connected: the pump runs once connected anyway

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
        backoff = self._reconnect_min_s
        while not self._stopping.is_set():
            connections_before = self.connections_made
            try:
                self._connection = pika.SelectConnection(
                    self._parameters,
                    on_open_callback=self._on_connection_open,
                    on_open_error_callback=self._on_connection_open_error,
                    on_close_callback=self._on_connection_closed,
                )
                self._connection.ioloop.start()
            except Exception:
                log.exception("outbox relay: unexpected error; reconnecting")
            finally:
                self._ready.clear()
                self._connection = None
                self._reset_channel_state()
                self._flush()
            if self.connections_made != connections_before:
                backoff = self._reconnect_min_s
            if self._stopping.wait(backoff):
                break
            backoff = min(backoff * 2, self._reconnect_max_s)
        self._rows.close()

    def _on_connection_open(self, connection: Any) -> None:
        if self._stopping.is_set():
            self._close_connection()
            return
        connection.channel(on_open_callback=self._on_channel_open)

    def _on_connection_open_error(self, connection: Any, error: BaseException) -> None:
        log.warning("outbox relay: cannot connect (%r); retrying", error)
        connection.ioloop.stop()

    def _on_connection_closed(self, connection: Any, reason: BaseException) -> None:
        if not self._stopping.is_set():
            log.warning("outbox relay: connection closed (%r); reconnecting", reason)
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
        self._wake_requested.clear()
        self._ready.set()
        log.info("outbox relay: publishing with confirms (window %d)", self._window)
        self._schedule_tick()
        self._pump()
        self._finish_if_drained()

    def _on_channel_closed(self, channel: Any, reason: BaseException) -> None:
        """The publishing channel closed: start over on a new connection (rows not confirmed
        are published again)."""
        if channel is not self._channel:
            return
        if not self._stopping.is_set():
            log.warning("outbox relay: channel closed (%r); reconnecting", reason)
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

    # --- the relay's thread: publishing -------------------------------------------------------

    def _on_tick(self) -> None:
        """Periodic: write marks, and when idle rescan from the start (retries failed rows and
        picks up anything a missed wake-up left behind)."""
        if not self._ready.is_set():
            return
        self._flush()
        if not self._inflight and self._probing is None:
            self._cursor = 0
        self._caught_up = False
        self._pump()
        self._finish_if_drained()
        self._schedule_tick()

    def _on_wake(self) -> None:
        self._wake_requested.clear()
        self._caught_up = False
        self._pump()

    def _on_handoff(self) -> None:
        self._handoff_requested.clear()
        self._publish_handed()

    def _publish_handed(self) -> None:
        """Publish handed-off rows while the window has room."""
        if not self._ready.is_set() or self._stopping.is_set() or self._probing is not None:
            return
        while self._handed and len(self._inflight) < self._window:
            handed = self._handed.popleft()
            event_id = str(handed["event_id"])
            if event_id in self._recent:
                continue  # already published from the table
            if handed["exchange"] not in self._verified:
                self._caught_up = False  # the table's path checks the exchange first
                self._pump()
                return
            body = orjson.dumps(handed["body"])
            self._publish(OutboxRow(0, event_id, handed["exchange"], handed["routing_key"],
                                    body, 0))

    def _pump(self) -> None:
        """Publish pending rows until the window of unconfirmed messages is full."""
        if not self._ready.is_set() or self._stopping.is_set() or self._probing is not None:
            return
        free = self._window - len(self._inflight)
        if free <= 0:
            return
        try:
            rows = self._rows.pending(self._cursor, free)
        except SQLAlchemyError as error:
            log.warning("outbox relay: cannot read the outbox (%s); retrying", error)
            return
        self._caught_up = len(rows) < free
        for row in rows:
            if row.event_id in self._recent:
                self._cursor = row.id  # published from memory already
                continue
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
        self._inflight[self._next_tag] = row
        self._recent.add(row.event_id)
        if row.id:  # a row read from the table (a handed-off row has no id: 0)
            self._cursor = row.id

    def _on_confirm(self, frame: Any) -> None:
        method = frame.method
        acked = isinstance(method, spec.Basic.Ack)
        for tag in self._confirmed_tags(method.delivery_tag, method.multiple):
            row = self._inflight.pop(tag)
            if acked and row.id:
                self._published.append(row.id)
            elif acked:
                self._published_events.append(row.event_id)
            else:  # refused: the table's path tries it again, counting the attempts
                self._recent.discard(row.event_id)
                if row.id:
                    self._failed[row.id] = "the broker refused the message (basic.nack)"
                else:
                    self._caught_up = False
        # Marks are written per ``mark_batch`` rows, on failures, and at every tick (each a
        # transaction and a WAL flush of its own; a row published but not yet marked is only
        # published again after a crash, and consumers drop duplicates by event_id).
        if len(self._published) + len(self._published_events) >= self._mark_batch or (
                self._failed):
            self._flush()
        if self._stopping.is_set():
            self._finish_if_drained()
            return
        self._publish_handed()
        if not self._caught_up:
            self._pump()

    def _confirmed_tags(self, delivery_tag: int, multiple: bool) -> list[int]:
        if not multiple:
            return [delivery_tag] if delivery_tag in self._inflight else []
        tags = []
        for tag in self._inflight:  # in publish order: stop at the first tag not confirmed
            if tag > delivery_tag:
                break
            tags.append(tag)
        return tags

    def _flush(self) -> None:
        """Write the marks and failures gathered so far (kept for later if the database fails)."""
        if not self._published and not self._failed and not self._published_events:
            return
        try:
            parked = self._rows.settle(self._published, self._failed, self._max_attempts,
                                       self._published_events)
        except SQLAlchemyError as error:
            log.warning("outbox relay: cannot mark rows (%s); will retry", error)
            return
        self.published_count += len(self._published) + len(self._published_events)
        self.parked_count += len(parked)
        for row_id in parked:
            log.error("outbox relay: parked row %d: %s", row_id, self._failed.get(row_id))
        self._published = []
        self._published_events = []
        self._failed = {}

    def _probe(self, row: OutboxRow) -> None:
        """Check that ``row.exchange`` exists on a channel of its own (a failed check closes
        its channel) before publishing to it; publishing stops until the answer."""
        self._probing = row.id

        def on_open(channel: Any) -> None:
            channel.add_on_close_callback(on_closed)
            channel.exchange_declare(row.exchange, passive=True, callback=lambda _f: on_ok(channel))

        def on_ok(channel: Any) -> None:
            self._verified.add(row.exchange)
            self._probing = None
            channel.close()
            self._pump()

        def on_closed(_channel: Any, reason: BaseException) -> None:
            if self._probing != row.id:
                return
            self._probing = None
            if isinstance(reason, ChannelClosedByBroker) and reason.reply_code == NOT_FOUND:
                self._failed[row.id] = f"exchange {row.exchange!r} does not exist"
                self._cursor = max(self._cursor, row.id)
                self._flush()
            self._pump()

        self._connection.channel(on_open_callback=on_open)

    def _finish_if_drained(self) -> None:
        if not self._stopping.is_set():
            return
        if self._inflight and time.monotonic() < self._shutdown_deadline:
            return
        self._flush()
        self._close_connection()
