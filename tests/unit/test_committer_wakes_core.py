"""The commit thread wakes the core when a batch is settled, committed or failed: the core
waits on its inbox instead of looking back every few milliseconds while a batch is in flight."""

from __future__ import annotations

import queue
from datetime import UTC, datetime

from oms.engine.batch import Batch
from oms.engine.committer import BatchCommitter, CommitTicket, commit

NOW = datetime(2026, 12, 3, 15, 0, tzinfo=UTC)


class RecordingDatabase:
    def __init__(self, fail: bool = False) -> None:
        self.fail = fail
        self.steps: list[str] = []

    def commit(self, batch: Batch) -> None:
        if self.fail:
            raise RuntimeError("connection lost")
        self.steps.append("commit")


def settled_ticket(db: RecordingDatabase) -> CommitTicket:
    """One batch through a real commit thread; returns its ticket once the core is woken."""
    woken: queue.SimpleQueue[str] = queue.SimpleQueue()
    committer = BatchCommitter(db, lambda batch: db.steps.append("effects"),  # type: ignore[arg-type]
                               on_settled=lambda: woken.put("settled"))
    committer.start()
    try:
        ticket = CommitTicket(Batch(now=NOW), ["an input"])
        committer.submit(ticket)
        assert woken.get(timeout=10) == "settled"
        assert ticket.done.is_set()  # settled before the wake-up
        return ticket
    finally:
        committer.stop()


def test_a_committed_batch_wakes_the_core_after_its_effects() -> None:
    db = RecordingDatabase()
    ticket = settled_ticket(db)
    assert ticket.error is None
    assert db.steps == ["commit", "effects"]  # effects, then the wake-up


def test_a_failed_commit_wakes_the_core_too_with_the_error_on_the_ticket() -> None:
    db = RecordingDatabase(fail=True)
    ticket = settled_ticket(db)
    assert isinstance(ticket.error, RuntimeError)
    assert db.steps == []  # no effect of a batch that did not commit


def test_commit_alone_settles_the_ticket_without_a_thread() -> None:
    db = RecordingDatabase()
    ticket = CommitTicket(Batch(now=NOW), [])
    commit(db, lambda batch: None, ticket)  # type: ignore[arg-type]
    assert ticket.done.is_set() and ticket.commit_ns > 0
