"""The core loop under faults, with fakes of its database and of its handlers (milliseconds).

The real ``Core`` runs its real loop and commit thread. Its database is a fake that commits in
memory and fails when told to: a lost connection, or a batch refused for its data (poison).
Its handlers are scripted: each venue report writes one execution row and moves the venue's
watermark, a report marked ``boom`` raises halfway through, one marked ``poison`` writes a row
the database refuses, an operator command records its result.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, cast

import psycopg
import pytest
from sqlalchemy.exc import DBAPIError, OperationalError

from oms.domain.requests import NewOrderRequest
from oms.domain.values import OrdType, RejectSource, Side, TimeInForce
from oms.engine.batch import Batch
from oms.engine.client_intake import RecordedRequests
from oms.engine.core import Core
from oms.engine.handlers import Handlers
from oms.engine.ids import IdAllocator
from oms.engine.inputs import OperatorCommandReceived, Stop, StrategyCommand, VenueMessage
from oms.engine.state import CoreState
from oms.engine.trading_days import ClOrdIdScopes
from oms.metrics import GatewayMetrics
from tests.support.fake_ports import FakeEnvelope

NOW = datetime(2026, 12, 3, 15, 0, tzinfo=UTC)
WAIT_S = 10.0


def _lost_connection() -> Exception:
    return OperationalError("COMMIT", None,
                            psycopg.OperationalError("server closed the connection"))


def _refused_for_its_data() -> Exception:
    return DBAPIError("batch commit", None, psycopg.errors.NumericValueOutOfRange("overflow"))


class FakeDatabase:
    """Commits in memory; ``fail_next`` makes the next commits raise; a batch holding a row
    marked ``poison`` is refused for its data, every time."""

    def __init__(self) -> None:
        self.committed: list[Batch] = []
        self.failures: list[Exception] = []
        self.loads = 0
        self.gate = threading.Event()
        self.gate.set()
        self.lock = threading.Lock()

    def fail_next(self, *errors: Exception) -> None:
        self.failures.extend(errors)

    def reader(self) -> None:
        return None

    def commit(self, batch: Batch) -> None:
        assert self.gate.wait(WAIT_S)
        with self.lock:
            if self.failures:
                raise self.failures.pop(0)
            if any(row.get("poison") for row in batch.executions):
                raise _refused_for_its_data()
            self.committed.append(batch)

    def discard(self) -> None:
        return None

    def load(self, clients: Any, now: datetime) -> tuple[CoreState, dict[str, int]]:
        self.loads += 1
        marks = {k.removeprefix("venue:"): v for b in self.committed
                 for k, v in b.watermarks.items()}
        return CoreState(), marks

    # what the database holds
    def rows(self, table: str) -> list[dict[str, Any]]:
        with self.lock:
            return [row for b in self.committed for row in getattr(b, table)]

    def results(self) -> dict[int, str]:
        with self.lock:
            return dict(r for b in self.committed for r in b.operator_results)


@dataclass
class FakeVenue:
    rewound: list[tuple[str, int]] = field(default_factory=list)

    def rewind(self, venue: str, next_target_seq: int) -> None:
        self.rewound.append((venue, next_target_seq))


@dataclass
class FakeContext:
    venue: FakeVenue
    order_ids: IdAllocator = field(
        default_factory=lambda: IdAllocator("O", lambda n: list(range(n))))
    venue_ids: IdAllocator = field(
        default_factory=lambda: IdAllocator("V", lambda n: list(range(n))))
    cl_ord_id_scopes: ClOrdIdScopes = field(default_factory=ClOrdIdScopes)


class ScriptedHandlers:
    """What the handlers write, scripted by the report's text (tag 58)."""

    def __init__(self, ctx: FakeContext, state: CoreState) -> None:
        self.ctx = ctx
        self.state = state
        self.requests = RecordedRequests(ctx.cl_ord_id_scopes)
        self.applied: list[str] = []

    def begin(self, batch: Batch, items: list[object], conn: Any = None) -> None:
        return None

    def venue_message(self, batch: Batch, message: VenueMessage) -> None:
        batch.watermarks[f"venue:{message.venue}"] = message.seq_num
        exec_id = message.fields[17]
        batch.executions.append({"exec_id": exec_id, "poison": message.fields.get(58) == "poison"})
        batch.outbox.append({"exec_id": exec_id})
        if message.fields.get(58) == "boom":
            raise ValueError(f"report {exec_id} cannot be applied")
        self.applied.append(exec_id)

    def operator_command(self, batch: Batch, command: OperatorCommandReceived) -> None:
        batch.operator_results.append((command.command_id, f"done: {command.kind}"))

    def client_request(self, batch: Batch, request: Any, delivery: Any) -> None:
        raise RuntimeError("a bug in the risk check")

    def tick(self, batch: Batch) -> None:
        return None

    def reject_request(self, batch: Batch, request: Any, source: RejectSource,
                       text: str) -> None:
        batch.events.append({"cl_ord_id": request.cl_ord_id, "source": source, "text": text})

    def unmatched(self, batch: Batch, message: VenueMessage, reason: str) -> None:
        batch.unmatched.append({"exec_id": message.fields.get(17), "reason": reason})


@dataclass
class Desk:
    db: FakeDatabase
    venue: FakeVenue
    core: Core
    thread: threading.Thread
    handlers: list[ScriptedHandlers]
    relay: list[str]


@pytest.fixture
def desk() -> Iterator[Desk]:
    db, venue = FakeDatabase(), FakeVenue()
    made: list[ScriptedHandlers] = []
    relay: list[str] = []

    def handlers(state: CoreState) -> Handlers:
        made.append(ScriptedHandlers(FakeContext(venue), state))
        return cast(Handlers, made[-1])

    core = Core(database=db, handlers_factory=handlers, capacity=100, batch_max=50,
                metrics=GatewayMetrics(), clock=lambda: NOW,
                on_outbox=lambda rows: relay.append(f"handoff {[r['exec_id'] for r in rows]}"),
                after_failed_commit=lambda: relay.append("read the table"))
    thread = threading.Thread(target=core.run, args=(threading.Event(),), daemon=True)
    thread.start()
    assert core.ready.wait(WAIT_S)
    yield Desk(db, venue, core, thread, made, relay)
    core.put(Stop("test"))
    thread.join(WAIT_S)
    assert not thread.is_alive()


def _report(seq: int, exec_id: str, text: str = "") -> VenueMessage:
    fields = {35: "8", 17: exec_id} | ({58: text} if text else {})
    return VenueMessage("SIM", "8", fields, seq, 0)


def _eventually(condition: Callable[[], bool], what: str) -> None:
    done = threading.Event()
    for _ in range(int(WAIT_S / 0.01)):
        if condition():
            return
        done.wait(0.01)
    raise AssertionError(f"never happened: {what}")


def _put_together(desk: Desk, *items: object) -> None:
    """Inputs taken as one batch: the commit thread is held while they are put."""
    desk.db.gate.clear()
    desk.core.put(_report(1000, "hold"))  # a batch in flight: the core waits on it
    _eventually(lambda: desk.core.inbox_depth() == 0, "the holding batch taken")
    for item in items:
        desk.core.put(item)
    desk.db.gate.set()


def test_a_report_whose_handling_raises_leaves_no_row_and_is_kept_for_an_operator(
    desk: Desk,
) -> None:
    _put_together(desk, _report(1, "E1"), _report(2, "E2", "boom"), _report(3, "E3"))
    _eventually(lambda: len(desk.db.rows("unmatched")) == 1, "the failed report kept")
    _eventually(lambda: {"E1", "E3"} <= {r["exec_id"] for r in desk.db.rows("executions")},
                "the reports around it applied")
    exec_ids = [r["exec_id"] for r in desk.db.rows("executions")]
    assert "E2" not in exec_ids, "the failed report's row committed"
    kept = desk.db.rows("unmatched")[0]
    assert kept["exec_id"] == "E2" and "internal error" in kept["reason"]
    assert "cannot be applied" in kept["reason"]
    _eventually(lambda: desk.handlers[-1].applied == ["E3"], "E3 applied on reloaded memory")
    assert desk.db.loads >= 2, "memory was not reloaded after the failed input"
    assert desk.venue.rewound == [], "a failed report is kept, not replayed forever"


def test_a_command_whose_handling_raises_is_rejected_as_an_internal_error_and_acked(
    desk: Desk,
) -> None:
    envelope = FakeEnvelope()
    request = NewOrderRequest(
        origin="amqp:DEMO1", cl_ord_id="c1", account="DEMO1", symbol="ZVZZT", side=Side.BUY,
        ord_type=OrdType.LIMIT, quantity=1, price=1, stop_price=None,  # type: ignore[arg-type]
        time_in_force=TimeInForce.DAY, expire_time=None, venue=None, user="alice",
    )
    desk.core.put(StrategyCommand(envelope, request))
    _eventually(lambda: envelope.settled != [], "the delivery settled")
    assert envelope.settled == ["ack"]
    (reject,) = desk.db.rows("events")
    assert reject["cl_ord_id"] == "c1" and reject["text"].startswith("internal error")
    (recorded,) = desk.db.rows("client_requests")
    assert recorded["cl_ord_id"] == "c1", "a resend would not be known as a duplicate"


def test_a_lost_connection_gives_every_report_back_to_the_venue(desk: Desk) -> None:
    desk.core.put(_report(1, "E1"))
    _eventually(lambda: len(desk.db.rows("executions")) == 1, "E1 committed")
    desk.db.fail_next(_lost_connection())
    desk.core.put(_report(2, "E2"))
    _eventually(lambda: desk.venue.rewound == [("SIM", 2)], "the venue rewound to 2")
    assert [r["exec_id"] for r in desk.db.rows("executions")] == ["E1"]


def test_a_failed_commit_with_the_next_batch_built_gives_both_back_in_order(
    desk: Desk,
) -> None:
    desk.db.fail_next(_lost_connection())
    _put_together(desk, _report(1, "E1"), _report(2, "E2"))
    # the holding batch fails; the batch built on it (E1, E2) is given back with it
    _eventually(lambda: desk.venue.rewound != [], "the venue rewound")
    assert desk.venue.rewound == [("SIM", 1)]
    assert desk.db.rows("executions") == []


def test_a_batch_refused_for_one_report_commits_the_others_and_quarantines_that_one(
    desk: Desk,
) -> None:
    _put_together(desk, _report(1, "E1"), _report(2, "E2", "poison"), _report(3, "E3"))
    _eventually(lambda: len(desk.db.rows("unmatched")) == 1, "the poisoned report kept")
    exec_ids = [r["exec_id"] for r in desk.db.rows("executions")]
    assert {"E1", "E3"} <= set(exec_ids) and "E2" not in exec_ids
    assert "internal error" in desk.db.rows("unmatched")[0]["reason"]
    assert desk.venue.rewound == [], "the venue was cut off for one bad report"
    marks = [b.watermarks.get("venue:SIM") for b in desk.db.committed]
    assert 3 in marks, "the venue's sequence did not move past the reports"


def test_an_operator_command_in_a_failed_commit_is_given_back_and_applied_once(
    desk: Desk,
) -> None:
    given_back = threading.Event()

    def redeliver() -> None:
        given_back.set()
        desk.core.put(command)

    command = OperatorCommandReceived(42, "kill_switch_trip", {}, "alice", "runaway",
                                      give_back=redeliver)
    desk.db.fail_next(_lost_connection())
    desk.core.put(command)
    _eventually(lambda: 42 in desk.db.results(), "the command applied")
    assert given_back.is_set()
    assert [r for b in desk.db.committed for r in b.operator_results] == [
        (42, "done: kill_switch_trip")]


def test_a_failed_commit_reloads_memory_from_the_database(desk: Desk) -> None:
    loads = desk.db.loads
    desk.db.fail_next(_lost_connection())
    desk.core.put(_report(1, "E1"))
    _eventually(lambda: desk.db.loads == loads + 1, "reloaded")
    assert len(desk.handlers) == loads + 1, "the handlers were not rebuilt on the new state"


def test_after_a_failed_commit_the_relay_reads_the_table_before_later_events(
    desk: Desk,
) -> None:
    """A failed commit's outcome may be unknown (committed, its answer lost): its events may
    be in the outbox table without having been handed to the relay. The relay is told to read
    the table before the next batch's events are handed to it, so none overtakes them."""
    desk.core.put(_report(1, "E1"))
    _eventually(lambda: desk.relay == ["handoff ['E1']"], "E1 handed off")
    desk.db.fail_next(_lost_connection())
    desk.core.put(_report(2, "E2"))
    _eventually(lambda: "read the table" in desk.relay, "the relay told to read the table")
    desk.core.put(_report(3, "E3"))
    _eventually(lambda: len(desk.relay) == 3, "E3 handed off")
    assert desk.relay == ["handoff ['E1']", "read the table", "handoff ['E3']"]
