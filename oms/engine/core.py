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

import contextlib
import logging
import queue
import threading
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from oms.engine.batch import Batch
from oms.engine.client_sessions import ClientSessions
from oms.engine.committer import BatchCommitter, CommitTicket
from oms.engine.core_db import CoreDatabase, CoreStorage
from oms.engine.core_faults import CommitFailures
from oms.engine.failed_inputs import answer_failed_input, describe
from oms.engine.handlers import Handlers
from oms.engine.inputs import (
    OperatorCommandReceived,
    Stop,
    StrategyCommand,
    Tick,
    VenueMessage,
    VenueMessageRejectedByUs,
    VenueSessionChanged,
    VenueSessionReject,
)
from oms.engine.ports import Envelope
from oms.metrics import GatewayMetrics
from oms.retry import RetryPolicy
from oms.settings import DEFAULT_SHARD

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]
STATE_LOAD_RETRY = RetryPolicy(initial_delay_s=0.5, max_delay_s=10.0)


def utc_now() -> datetime:
    return datetime.now(UTC)


class _CommitSettled:
    """Put in the inbox by the commit thread when a batch is settled: wakes the core to settle
    it at once, instead of the core looking back every few milliseconds while a batch is in
    flight (each look a wake-up and a turn of the GIL, ~500 a second)."""

    __slots__ = ()


COMMIT_SETTLED = _CommitSettled()


def ack_each(envelopes: Sequence[Envelope]) -> None:
    for envelope in envelopes:
        envelope.ack()


class Core(CommitFailures):
    def __init__(
        self,
        *,
        engine: Engine | None = None,
        database: CoreStorage | None = None,
        handlers_factory: Callable[[Any], Handlers],
        capacity: int,
        batch_max: int,
        metrics: GatewayMetrics,
        clock: Clock = utc_now,
        on_outbox: Callable[[list[dict[str, Any]]], None] = lambda rows: None,
        clients: ClientSessions | None = None,
        settle_together: Callable[[Sequence[Envelope]], None] = ack_each,
        after_failed_commit: Callable[[], None] = lambda: None,
        shard: str = DEFAULT_SHARD,
        accounts: frozenset[str] | None = None,
    ) -> None:
        """``shard`` and its ``accounts`` (None: every account): the part of the orders this
        core owns (``oms gateway --shard``)."""
        self._shard = shard
        self._inbox: queue.Queue[object] = queue.Queue(maxsize=capacity)
        self._batch_max = batch_max
        self._metrics = metrics
        self._clock = clock
        self._on_outbox = on_outbox
        """Given the committed outbox rows of each batch (the relay publishes them from
        memory)."""
        self._handlers_factory = handlers_factory
        self._settle_together = settle_together
        self._after_failed_commit = after_failed_commit
        """Called once memory is reloaded after a commit that failed: its outcome may be
        unknown (committed on the server, its answer lost), so its outbox rows may be in the
        table without having been handed off: the relay reads the table before later rows."""
        """Acknowledges the strategy commands a batch applied, after its commit (the AMQP
        intake's ``ack_all``: one hop to its thread for them all)."""
        self._clients = clients
        """FIX client sessions: owed reports, replay, status answers, cancel on disconnect."""
        self._handlers: Handlers | None = None
        self.heartbeat_ns = 0
        self.last_batch_size = 0
        self.ready = threading.Event()
        self._stop = threading.Event()
        self._last_tick = 0.0
        if database is None:
            assert engine is not None, "the core needs an engine or a database"
            database = CoreDatabase(engine, shard=shard, accounts=accounts)
        self._db: CoreStorage = database
        """The core's own connections: no pool checkout (ping, reset) per batch."""
        self._committed_seq: dict[str, int] = {}
        """Last inbound MsgSeqNum committed per venue: where to rewind after a failed commit."""
        self._committer = BatchCommitter(self._db, self._effects, on_settled=self._wake)
        self._in_flight: CommitTicket | None = None
        """The batch handed to the commit thread and not yet settled by this thread."""
        self._carried: list[object] = []
        """Inputs taken after one that failed: processed next, once memory is reloaded."""

    # -- any thread -------------------------------------------------------------------------

    def put(self, item: object) -> None:
        """Adapters call this from their own threads; blocks when the inbox is full."""
        self._inbox.put(item)

    def _wake(self) -> None:
        """On the commit thread, once a batch is settled. Never blocks: with the inbox full, the
        core takes inputs anyway and settles the batch before it hands over the next one."""
        with contextlib.suppress(queue.Full):
            self._inbox.put_nowait(COMMIT_SETTLED)

    def inbox_depth(self) -> int:
        return self._inbox.qsize()

    # -- the core thread --------------------------------------------------------------------

    def reload(self) -> None:
        self.heartbeat_ns = time.monotonic_ns()  # each attempt: a core retrying is turning
        state, self._committed_seq = self._db.load(self._clients, self._clock())
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
            # the commit thread wakes this one when the batch in flight is settled
            items = [i for i in self._take(timeout=0.5) if i is not COMMIT_SETTLED]
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
        STATE_LOAD_RETRY.retrier(
            "core: loading state from PostgreSQL", stop, logger=log, level=logging.ERROR
        ).call(self.reload, retry_on=(SQLAlchemyError,))

    def _take(self, timeout: float) -> list[object]:
        if self._carried:  # inputs after a failed one: taken first, on the reloaded state
            items, self._carried = self._carried[: self._batch_max], self._carried[self._batch_max:]
            return items
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
        batch = Batch(now=self._clock(), shard=self._shard)
        try:
            # ids before anything changes: a reservation (a transaction) rarely happens mid-input
            handlers.ctx.order_ids.ensure(len(items))
            handlers.ctx.venue_ids.ensure(2 * len(items))
            handlers.begin(batch, items, self._db.reader())
            taken, failed = self._apply(handlers, batch, items)
        except SQLAlchemyError as exc:  # the database, not the input: all back
            pending, self._carried = [*items, *self._carried], []
            if self._settle(None, pending):  # else given back with the failed batch already
                self._not_committed(pending, exc)
            return
        self.last_batch_size = len(taken)
        self._metrics.batch_size.observe(len(taken))
        self._metrics.inbox_depth.set(self._inbox.qsize())
        if not self._settle_before(batch, taken):
            return  # the batch in flight failed: this one, built on it, was discarded with it
        if batch.is_empty():
            self._effects(batch)  # nothing to write: no transaction to wait for
            self._forget_closed(batch, None)  # orders only read back by it leave memory
        else:
            self._in_flight = CommitTicket(batch, taken)
            self._committer.submit(self._in_flight)
        if failed and self._settle_before(None, []):  # memory may hold what the failed
            self._reload_until_it_works(self._stop)  # input half did: reload it

    def _apply(self, handlers: Handlers, batch: Batch,
               items: list[object]) -> tuple[list[object], bool]:
        """Each input whole or not at all. One that raises is rolled back and answered; the
        batch ends there, and the inputs after it are carried to the next batch (which runs on
        reloaded memory). Returns the inputs this batch took, and whether one failed."""
        clients = self._clients
        if clients is not None:
            clients.begin(batch)
        taken: list[object] = []
        failed = False
        for index, item in enumerate(items):
            mark = batch.mark()
            start = len(batch.outbox)
            try:
                self._dispatch(handlers, batch, item)
            except SQLAlchemyError:
                raise
            except Exception as exc:  # a bug must not take the desk down, nor half-apply
                batch.rollback(mark)
                log.exception("input %s failed; rolled back and answered as an internal error",
                              type(item).__name__)
                self._metrics.failed_inputs.inc()
                self._answer(handlers, batch, item, describe(exc))
                failed = True
                self._carried = [*items[index + 1:], *self._carried]
            taken.append(item)
            if clients is not None:
                clients.owed(handlers, batch, item, start)
            if failed:
                break
        if clients is not None:
            clients.end(handlers, batch)
        return taken, failed

    def _answer(self, handlers: Handlers, batch: Batch, item: object, reason: str,
                *, quarantined: bool = False) -> None:
        """``item`` changed nothing: answer it in ``batch`` (``failed_inputs``)."""
        mark = batch.mark()
        try:
            answer_failed_input(handlers, batch, item, reason)
        except Exception:  # not even the answer can be built: keep the batch as it was
            batch.rollback(mark)
            log.exception("no answer could be built for the failed input")
        if isinstance(item, StrategyCommand):
            envelope = item.envelope
            if quarantined:
                self._metrics.dead_letters.inc()
                batch.after_commit.append(lambda: envelope.dead_letter(f"quarantined: {reason}"))
            else:
                batch.deliveries.append(envelope)  # answered: acknowledged after the commit

    def _settle_before(self, following: Batch | None, following_items: list[object]) -> bool:
        """``_settle``, the inputs carried after a failed one included: if the batch in flight
        failed, they are given back with it, in order."""
        pending, self._carried = [*following_items, *self._carried], []
        if self._settle(following, pending):
            self._carried = pending[len(following_items):]
            return True
        return False

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
            self._settle_together(batch.deliveries)
        if batch.outbox:
            self._on_outbox(batch.outbox)

    def _dispatch(self, handlers: Handlers, batch: Batch, item: object) -> None:
        if isinstance(item, StrategyCommand):
            if item.command is None:
                self._metrics.dead_letters.inc()
                envelope, reason = item.envelope, item.unreadable
                batch.after_commit.append(lambda: envelope.dead_letter(reason))
            else:
                handlers.client_request(batch, item.command, item.envelope)
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
