"""What the core does when a batch does not commit (the ``Core``'s failure half).

Memory is then ahead of the database: it is discarded and reloaded. A batch refused for its
data (``failed_inputs.is_poison``: a constraint, a value out of range) is retried input by input,
and the one input that fails alone is quarantined, so that one bad report or command never
stops a venue or the desk. Any other failure (the database unreachable, a connection lost)
gives every input back to its source, to be taken again once the database is back.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING

from sqlalchemy.exc import SQLAlchemyError

from oms.engine.batch import Batch
from oms.engine.committer import CommitTicket
from oms.engine.failed_inputs import describe, is_poison
from oms.engine.inputs import OperatorCommandReceived, StrategyCommand, VenueMessage

if TYPE_CHECKING:
    from datetime import datetime

    from oms.engine.client_sessions import ClientSessions
    from oms.engine.committer import BatchCommitter
    from oms.engine.core_db import CoreStorage
    from oms.engine.handlers import Handlers
    from oms.metrics import GatewayMetrics

log = logging.getLogger(__name__)


class CommitFailures:
    """Mixed into ``Core``: the attributes and methods below are the core's."""

    _db: CoreStorage
    _metrics: GatewayMetrics
    _handlers: Handlers | None
    _clients: ClientSessions | None
    _committed_seq: dict[str, int]
    _committer: BatchCommitter
    _in_flight: CommitTicket | None
    _stop: threading.Event

    _clock: Callable[[], datetime]
    _shard: str
    _after_failed_commit: Callable[[], None]

    # the core's methods this half calls
    _reload_until_it_works: Callable[[threading.Event], None]
    _apply: Callable[[Handlers, Batch, list[object]], tuple[list[object], bool]]
    _answer: Callable[..., None]
    _effects: Callable[[Batch], None]
    _forget_closed: Callable[[Batch, Batch | None], None]

    def _not_committed(self, items: list[object], exc: Exception) -> None:
        """Memory is ahead of the database: reload it. A batch refused for its data (poison)
        is retried input by input (``_isolate``); otherwise (the database is unreachable) every
        input goes back to its source: AMQP deliveries are requeued (nothing was acknowledged),
        operator commands given back to their channel, and venue and client sessions that
        delivered messages in the batch are rewound to their last committed sequence number,
        so that they resend them (duplicates are dropped by ExecID)."""
        self._metrics.commit_failures.inc()
        self._db.discard()
        log.error("batch of %d inputs not committed (%s): reloading state", len(items), exc)
        handlers, self._handlers = self._handlers, None
        if is_poison(exc):
            self._reload_until_it_works(self._stop)
            if self._handlers is not None:
                items = self._isolate(items)
            self._give_back(items, self._handlers)
            return
        # given back first, as they were before the reload waits for the database: they come
        # back once it is, and the venues are rewound only then
        self._give_back(items, None)
        self._reload_until_it_works(self._stop)
        self._after_failed_commit()
        self._rewind(items, handlers)

    def _give_back(self, items: list[object], rewind_with: Handlers | None) -> None:
        """Each input back to its source; sessions rewound too if ``rewind_with`` is given."""
        for item in items:
            if isinstance(item, StrategyCommand):
                item.envelope.requeue()
            elif isinstance(item, OperatorCommandReceived):
                item.give_back()  # taken up again once the database is back
        if rewind_with is not None:
            self._rewind(items, rewind_with)

    def _rewind(self, items: list[object], handlers: Handlers | None) -> None:
        """Venue and client sessions that delivered ``items`` resend them from their last
        committed sequence number (duplicates are dropped by ExecID)."""
        if handlers is not None:
            for venue in {item.venue for item in items if isinstance(item, VenueMessage)}:
                handlers.ctx.venue.rewind(venue, self._committed_seq.get(venue, 0) + 1)
        if self._clients is not None:
            self._clients.rewind(items)

    def _isolate(self, items: list[object]) -> list[object]:
        """A poisoned batch: commit its inputs one by one; one that fails alone is quarantined
        (answered as an internal error, an AMQP command dead-lettered), the rest commit.
        Returns the inputs left to give back: those from where the database became
        unreachable meanwhile."""
        log.warning("committing the %d inputs of the refused batch one by one", len(items))
        for index, item in enumerate(items):
            error = self._commit_alone(item, None)
            if error is not None and is_poison(error):
                self._metrics.quarantined_inputs.inc()
                log.error("input %s quarantined: its commit fails alone (%s)",
                          type(item).__name__, describe(error))
                error = self._commit_alone(item, describe(error))
                if error is not None and is_poison(error):
                    log.critical("input %s dropped: not even its answer commits (%s)",
                                 type(item).__name__, describe(error))
                    if isinstance(item, StrategyCommand):
                        item.envelope.dead_letter(f"quarantined: {describe(error)}")
                    error = None
            if error is not None:
                return items[index:]
        return []

    def _commit_alone(self, item: object, quarantine: str | None) -> Exception | None:
        """Build a batch of ``item`` alone (or, with ``quarantine``, of its answer) and commit
        it now; on failure, reload. Returns the commit's error."""
        handlers = self._handlers
        assert handlers is not None
        batch = Batch(now=self._clock(), shard=self._shard)
        try:
            if quarantine is None:
                handlers.begin(batch, [item], self._db.reader())
                _, failed = self._apply(handlers, batch, [item])
            else:
                self._answer(handlers, batch, item, quarantine, quarantined=True)
                failed = False
            ticket = CommitTicket(batch, [item])
            if batch.is_empty():
                self._effects(batch)
            else:
                self._in_flight = ticket
                self._committer.submit(ticket)
                if not self._settle_alone():
                    return ticket.error
        except SQLAlchemyError as exc:
            self._reload_after(exc)
            return exc
        if failed:
            self._reload_until_it_works(self._stop)
        return None

    def _settle_alone(self) -> bool:
        ticket = self._in_flight
        assert ticket is not None
        ticket.wait()
        self._in_flight = None
        if ticket.error is None:
            for key, seq in ticket.batch.watermarks.items():
                self._committed_seq[key.removeprefix("venue:")] = seq
            self._forget_closed(ticket.batch, None)
            return True
        self._reload_after(ticket.error)
        return False

    def _reload_after(self, exc: Exception) -> None:
        self._metrics.commit_failures.inc()
        self._db.discard()
        log.error("single input not committed (%s): reloading state", describe(exc))
        self._handlers = None
        self._reload_until_it_works(self._stop)
        self._after_failed_commit()
