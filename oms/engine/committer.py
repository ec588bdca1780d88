"""The core's commit thread: a batch's transaction runs here while the core builds the next one.

The core hands over one batch at a time (``submit``) and, before handing over the next, waits
until the previous one is settled (``CommitTicket.wait``). While a batch's statement and its
WAL flush are under way (the thread waits on the socket without the GIL), the core is already
validating, risk-checking and applying the next inputs in memory. Memory is then one batch ahead
of the database, as it already was between a batch's changes and its commit; if the commit
fails, the core discards the next batch with it (nothing of it was visible) and reloads.

After a commit, this thread carries out the batch's effects in order: FIX sends, AMQP
acknowledgements, the outbox relay's handoff (``effects``). Durable before visible holds: no
effect of a batch happens before its transaction has committed, and effects happen in commit
order, as the thread handles one batch after another.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from oms.engine.batch import Batch
from oms.engine.core_db import CoreStorage

log = logging.getLogger(__name__)


COMMIT_WAIT_LIMIT_S = 120.0
"""Far above PostgreSQL's ``statement_timeout`` and the connection's TCP timeouts
(``oms.store.db``): a commit that takes this long will not finish."""


@dataclass(slots=True)
class CommitTicket:
    """One batch handed to the commit thread, with the inputs it came from."""

    batch: Batch
    items: list[object]
    error: Exception | None = None
    commit_ns: int = 0
    """How long the transaction took (0 until committed)."""
    done: threading.Event = field(default_factory=threading.Event)

    def wait(self, limit_s: float = COMMIT_WAIT_LIMIT_S) -> None:
        """Until the commit thread has settled this batch; a batch unsettled after
        ``limit_s`` means the commit thread hangs (a statement and its connection both have
        timeouts far below it): ``CommitHangsError`` ends the core, and the supervisor then
        the process."""
        if not self.done.wait(limit_s):
            raise CommitHangsError(f"a batch of {len(self.items)} input(s) has not committed in "
                              f"{limit_s:.0f} s: the commit thread hangs")


class CommitHangsError(RuntimeError):
    """The commit thread has not settled a batch within the limit."""


class BatchCommitter:
    def __init__(self, db: CoreStorage, effects: Callable[[Batch], None],
                 on_settled: Callable[[], None] = lambda: None) -> None:
        self._db = db
        self._effects = effects
        self._on_settled = on_settled
        """Called after each ticket is settled (committed and its effects done, or failed):
        the core's wake-up."""
        self._queue: queue.SimpleQueue[CommitTicket | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="oms-commit", daemon=True)
            self._thread.start()

    def submit(self, ticket: CommitTicket) -> None:
        self._queue.put(ticket)

    def stop(self) -> None:
        if self._thread is not None:
            self._queue.put(None)
            self._thread.join(30)
            self._thread = None

    def _run(self) -> None:
        while True:
            ticket = self._queue.get()
            if ticket is None:
                return
            commit(self._db, self._effects, ticket)
            self._on_settled()


def commit(db: CoreStorage, effects: Callable[[Batch], None], ticket: CommitTicket) -> None:
    """Commit the ticket's batch, then carry out its effects; a failure is kept on the ticket
    (the core handles it: requeue, rewind, reload)."""
    started = time.perf_counter_ns()
    try:
        db.commit(ticket.batch)
    except Exception as exc:  # the core handles it (requeue, rewind, reload)
        ticket.error = exc
        ticket.done.set()
        return
    ticket.commit_ns = time.perf_counter_ns() - started
    try:
        effects(ticket.batch)
    except Exception:
        log.exception("effects after commit failed")
    finally:
        ticket.done.set()
