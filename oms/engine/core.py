"""The single-writer core loop: inbox -> domain -> ONE transaction -> effects.

One thread owns every order. It takes a batch from the bounded inbox, turns each input into
domain decisions (validation, entitlement, risk, the order state machine), collects every row
the batch changes, and hands them to the commit thread (``committer``), which commits them in
one transaction and only then sends FIX messages, acknowledges AMQP deliveries and hands the
events to the outbox relay. While a batch commits, the core builds the next one; it hands that
over only once the previous one is settled (one batch in flight). If a commit fails, memory is
ahead of the database: it is discarded and reloaded, the deliveries of the failed batch and of
the one built on it are requeued, and venue sessions are rewound to the last committed inbound
sequence number so the venue resends.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any, Protocol

from sqlalchemy import Engine, select
from sqlalchemy.exc import DBAPIError, SQLAlchemyError

from oms.bus.command_decoder import DeadLetter
from oms.bus.intake_consumer import IntakeDelivery, ack_all
from oms.engine.batch import WATERMARKS, Batch
from oms.engine.client_sessions import ClientSessions
from oms.engine.committer import BatchCommitter, CommitTicket
from oms.engine.core_db import CoreDatabase
from oms.engine.handlers import Handlers
from oms.engine.inputs import (
    OperatorCommandReceived,
    Stop,
    Tick,
    VenueMessage,
    VenueMessageRejectedByUs,
    VenueSessionChanged,
    VenueSessionReject,
)
from oms.engine.state import load_state
from oms.metrics import GatewayMetrics

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


class VenuePort(Protocol):
    def is_logged_on(self, venue: str) -> bool: ...
    def send(self, venue: str, msg_type: str, body: dict[int, str]) -> bool: ...
    def rewind(self, venue: str, next_target_seq: int) -> None: ...


class Core:
    def __init__(
        self,
        *,
        engine: Engine,
        handlers_factory: Callable[[Any], Handlers],
        capacity: int,
        batch_max: int,
        metrics: GatewayMetrics,
        clock: Clock = utc_now,
        on_outbox: Callable[[list[dict[str, Any]]], None] = lambda rows: None,
        clients: ClientSessions | None = None,
    ) -> None:
        self._engine = engine
        self._inbox: queue.Queue[object] = queue.Queue(maxsize=capacity)
        self._batch_max = batch_max
        self._metrics = metrics
        self._clock = clock
        self._on_outbox = on_outbox
        """Given the committed outbox rows of each batch (the relay publishes them from
        memory)."""
        self._handlers_factory = handlers_factory
        self._clients = clients
        """FIX client sessions: owed reports, replay, status answers, cancel on disconnect."""
        self._handlers: Handlers | None = None
        self.heartbeat_ns = 0
        self.last_batch_size = 0
        self.ready = threading.Event()
        self._stop = threading.Event()
        self._last_tick = 0.0
        self._db = CoreDatabase(engine)
        """The core's own connections: no pool checkout (ping, reset) per batch."""
        self._committed_seq: dict[str, int] = {}
        """Last inbound MsgSeqNum committed per venue: where to rewind after a failed commit."""
        self._committer = BatchCommitter(self._db, self._effects)
        self._in_flight: CommitTicket | None = None
        """The batch handed to the commit thread and not yet settled by this thread."""

    # -- any thread -------------------------------------------------------------------------

    def put(self, item: object) -> None:
        """Adapters call this from their own threads; blocks when the inbox is full."""
        self._inbox.put(item)

    def inbox_depth(self) -> int:
        return self._inbox.qsize()

    # -- the core thread --------------------------------------------------------------------

    def reload(self) -> None:
        with self._engine.connect() as conn:
            state = load_state(conn)
            rows = conn.execute(select(WATERMARKS.c.session_id, WATERMARKS.c.last_inbound_seq))
            self._committed_seq = {
                r.session_id.removeprefix("venue:"): int(r.last_inbound_seq) for r in rows
            }
            if self._clients is not None:
                self._clients.reload(conn, self._clock())
        self._handlers = self._handlers_factory(state)
        log.info("core state loaded: %d open orders", len(state.orders))

    def run(self, stop: threading.Event) -> None:
        self._stop = stop
        self._reload_until_it_works(stop)
        self._committer.start()
        self.ready.set()
        while not stop.is_set():
            in_flight = self._in_flight
            if in_flight is not None and in_flight.done.is_set():
                self._settle(None)
            # while a batch commits, look back soon to settle it even if nothing comes in
            items = self._take(timeout=0.5 if self._in_flight is None else 0.002)
            self.heartbeat_ns = time.monotonic_ns()
            idle = not items and self._in_flight is None
            if idle or time.monotonic() - self._last_tick >= 1.0:
                items.append(Tick(time.perf_counter_ns()))  # timers run under load too
                self._last_tick = time.monotonic()
            if any(isinstance(i, Stop) for i in items):
                items = [i for i in items if not isinstance(i, Stop)]
                stop.set()
            if items:
                self._process(items)
        self._settle(None)
        self._committer.stop()
        self._db.discard()

    def _reload_until_it_works(self, stop: threading.Event) -> None:
        delay = 0.5
        while not stop.is_set():
            try:
                self.reload()
                return
            except SQLAlchemyError as exc:
                log.error("cannot load state from PostgreSQL (%s); retrying in %.1fs", exc, delay)
                stop.wait(delay)
                delay = min(delay * 2, 10.0)

    def _take(self, timeout: float) -> list[object]:
        try:
            first = self._inbox.get(timeout=timeout)
        except queue.Empty:
            return []
        items = [first]
        while len(items) < self._batch_max:
            try:
                items.append(self._inbox.get_nowait())
            except queue.Empty:
                break
        return items

    def _process(self, items: list[object]) -> None:
        handlers = self._handlers
        assert handlers is not None
        now = self._clock()
        batch = Batch(now=now)
        try:
            handlers.begin(batch, items, self._db.reader())
        except (SQLAlchemyError, DBAPIError) as exc:
            if self._settle(None, items):  # else given back with the failed batch already
                self._not_committed(items, exc)
            return
        clients = self._clients
        if clients is not None:
            clients.begin(batch)
        for item in items:
            start = len(batch.outbox)
            try:
                self._dispatch(handlers, batch, item)
            except Exception:  # a bug must not take the desk down: log, keep the rest
                log.exception("input %r failed; it is left unprocessed", type(item).__name__)
                if isinstance(item, IntakeDelivery):
                    batch.after_commit.append(item.requeue)
            if clients is not None:
                clients.owed(handlers, batch, item, start)
        if clients is not None:
            clients.end(handlers, batch)
        self.last_batch_size = len(items)
        self._metrics.batch_size.observe(len(items))
        self._metrics.inbox_depth.set(self._inbox.qsize())
        if not self._settle(batch, items):
            return  # the batch in flight failed: this one, built on it, was discarded with it
        if batch.is_empty():
            self._effects(batch)  # nothing to write: no transaction to wait for
            self._forget_closed(batch, None)  # orders only read back by it leave memory
            return
        ticket = CommitTicket(batch, items)
        self._in_flight = ticket
        self._committer.submit(ticket)

    def _settle(self, following: Batch | None, following_items: Sequence[object] = ()) -> bool:
        """Wait for the batch in flight; on success, update what this thread keeps about
        committed state; on failure, give back its inputs and ``following_items`` (a batch
        built on it, never submitted) and reload. Returns whether it committed."""
        ticket = self._in_flight
        if ticket is None:
            return True
        ticket.wait()
        self._in_flight = None
        if ticket.error is not None:
            self._not_committed([*ticket.items, *following_items], ticket.error)
            return False
        self._metrics.labelled(self._metrics.hop_latency, "commit").observe(
            ticket.commit_ns / 1e9)
        for key, seq in ticket.batch.watermarks.items():
            self._committed_seq[key.removeprefix("venue:")] = seq
        self._forget_closed(ticket.batch, following)
        return True

    def _forget_closed(self, batch: Batch, following: Batch | None) -> None:
        """Drop the batch's orders that closed from memory (and those read back meanwhile),
        except those the following batch (not committed yet) changes or names in a request:
        the database does not have their latest state or entries yet."""
        handlers = self._handlers
        if handlers is None:
            return
        keep: set[str] = set()
        if following is not None:
            keep.update(following.new_orders, following.changed_orders)
            keep.update(r["order_id"] for r in following.client_requests if r["order_id"])
            keep.update(r["order_id"] for r in following.venue_requests)
        handlers.state.forget_closed([*batch.new_orders, *batch.changed_orders], keep)

    def _effects(self, batch: Batch) -> None:
        """After the batch's commit (on the commit thread): FIX sends and the other effects in
        order, then the AMQP acknowledgements and the events for the relay."""
        for effect in batch.after_commit:
            try:
                effect()
            except Exception:
                log.exception("effect after commit failed")
        if batch.deliveries:
            ack_all(batch.deliveries)
        if batch.outbox:
            self._on_outbox(batch.outbox)

    def _not_committed(self, items: list[object], exc: Exception) -> None:
        """Memory is ahead of the database: give every input back to its source and reload.

        AMQP deliveries are requeued (nothing was acknowledged); venue sessions that delivered
        messages in this batch are rewound to the last committed sequence number, so the venue
        resends them after the reconnection (duplicates are dropped by ExecID)."""
        self._metrics.commit_failures.inc()
        self._db.discard()
        log.error("batch of %d inputs not committed (%s): reloading state", len(items), exc)
        venues: set[str] = set()
        for item in items:
            if isinstance(item, IntakeDelivery):
                item.requeue()
            elif isinstance(item, OperatorCommandReceived):
                item.give_back()  # taken up again once the database is back
            elif isinstance(item, VenueMessage):
                venues.add(item.venue)
        handlers = self._handlers
        self._handlers = None
        self._reload_until_it_works(self._stop)
        if handlers is not None:
            for venue in venues:
                handlers.ctx.venue.rewind(venue, self._committed_seq.get(venue, 0) + 1)
        if self._clients is not None:
            self._clients.rewind(items)

    def _dispatch(self, handlers: Handlers, batch: Batch, item: object) -> None:
        if isinstance(item, IntakeDelivery):
            if isinstance(item.command, DeadLetter):
                self._metrics.dead_letters.inc()
                reason = item.command.reason
                batch.after_commit.append(lambda: item.dead_letter(reason))
            else:
                handlers.client_request(batch, item.command, item)
        elif isinstance(item, VenueMessage):
            handlers.venue_message(batch, item)
        elif isinstance(item, VenueSessionChanged):
            handlers.venue_session(batch, item)
        elif isinstance(item, VenueSessionReject | VenueMessageRejectedByUs):
            handlers.venue_reject(batch, item)
        elif isinstance(item, OperatorCommandReceived):
            handlers.operator_command(batch, item)
        elif isinstance(item, Tick):
            handlers.tick(batch)
        elif self._clients is not None and self._clients.handles(item):
            self._clients.dispatch(handlers, batch, item)
        else:
            log.warning("unknown input %r ignored", item)
