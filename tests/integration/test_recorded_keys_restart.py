"""The duplicate ClOrdID check answered from memory (``oms.engine.recorded_keys``) behaves as the
table does, across a restart and a purge: the real core on the real database, strategy
commands put on its inbox as the AMQP intake puts them, what a strategy is told read from
``order_events``.

A restarted core loads its keys from ``client_requests``: a ClOrdID recorded before the
restart is still a duplicate. A purged request stays in memory, but the table, asked, no
longer has it: its ClOrdID is accepted again (as before this memory), and is a duplicate once
more after that.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import Engine, text

from oms.domain.requests import NewOrderRequest, amqp_origin
from oms.domain.values import OrdType, Side, TimeInForce
from oms.engine.core import Core
from oms.engine.handlers import Handlers
from oms.engine.inputs import StrategyCommand
from oms.engine.state import CoreState
from oms.metrics import GatewayMetrics
from oms.store.purge import purge_client_requests
from tests.integration.conftest import recorded_events
from tests.support.core_desk import PlayedVenue, core_context
from tests.support.fake_ports import FakeEnvelope

pytestmark = pytest.mark.integration

ACCOUNT = "DEMO1"


@dataclass
class Clock:
    now: datetime

    def __call__(self) -> datetime:
        return self.now


@dataclass
class Running:
    """A core running on the database; ``handlers``: those of each load of its state."""

    core: Core
    clock: Clock
    handlers: list[Handlers] = field(default_factory=list)

    def new_order(self, cl_ord_id: str, quantity: str = "10") -> None:
        """A limit buy; a second later than the last (events are read in time order)."""
        self.clock.now += timedelta(seconds=1)
        self.core.put(StrategyCommand(FakeEnvelope(), NewOrderRequest(
            origin=amqp_origin(ACCOUNT), user="guest", cl_ord_id=cl_ord_id, account=ACCOUNT,
            symbol="AAPL", side=Side.BUY, ord_type=OrdType.LIMIT, quantity=Decimal(quantity),
            price=Decimal("190.00"), time_in_force=TimeInForce.GTC)))


@contextmanager
def running_core(engine: Engine, clock: Clock) -> Iterator[Running]:
    """A core as a gateway starts it (its state loaded from the database), stopped after."""
    ctx = core_context(engine, PlayedVenue(), clock)
    made: list[Handlers] = []

    def handlers(state: CoreState) -> Handlers:
        made.append(Handlers(ctx, state))
        return made[-1]

    core = Core(engine=engine, handlers_factory=handlers, capacity=100, batch_max=20,
                metrics=GatewayMetrics(), clock=clock)
    stop = threading.Event()
    thread = threading.Thread(target=core.run, args=(stop,), daemon=True)
    thread.start()
    try:
        assert core.ready.wait(30)
        yield Running(core, clock, made)
    finally:
        stop.set()
        thread.join(30)
    assert not thread.is_alive()



def is_duplicate(event: tuple[str, str]) -> bool:
    return event[0] == "rejected" and "duplicate cl_ord_id" in event[1]


def cid(label: str) -> str:
    return f"{label}-{uuid.uuid4().hex[:8]}"


def test_a_cl_ord_id_recorded_before_a_restart_is_still_a_duplicate_after_it(
    db_engine: Engine,
) -> None:
    clock = Clock(datetime(2026, 4, 1, 15, 0, tzinfo=UTC))
    kept, fresh = cid("kept"), cid("fresh")
    with running_core(db_engine, clock) as first:
        first.new_order(kept)
        assert recorded_events(db_engine, kept, 1)[0][0] == "pending_new"
    with running_core(db_engine, clock) as second:
        second.new_order(kept, quantity="11")
        second.new_order(fresh)
        assert is_duplicate(recorded_events(db_engine, kept, 2)[1])
        assert recorded_events(db_engine, fresh, 1)[0][0] == "pending_new"
        [handlers] = second.handlers
    known = handlers.requests.known
    assert known.loaded
    # the fresh ClOrdID was ruled out from memory; the kept one went to the table
    assert known.ruled_out >= 1 and known.asked >= 1


def test_a_purged_cl_ord_id_is_accepted_again_then_a_duplicate_across_a_restart(
    db_engine: Engine,
) -> None:
    # a trading day of this test's own, long past, after those whose purges count what they
    # keep (test_client_requests_purge) and before those other tests keep
    clock = Clock(datetime(2001, 9, 3, 15, 0, tzinfo=UTC))
    used = cid("purged")
    with running_core(db_engine, clock) as core:
        core.new_order(used, quantity="20000")  # over the account's limit: rejected, closed
        core.new_order(used)
        refused, again = recorded_events(db_engine, used, 2)
        assert refused[0] == "rejected" and not is_duplicate(refused), refused
        assert is_duplicate(again), again
        assert purge_client_requests(db_engine, date(2001, 9, 4)) >= 1
        with db_engine.connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM client_requests WHERE cl_ord_id = :c"),
                                {"c": used}).scalar_one() == 0
        # another batch first: the batch right after one that found the ClOrdID still holds
        # that answer (``RecordedRequests``, the batch in flight), as it always did
        other = cid("between")
        core.new_order(other)
        recorded_events(db_engine, other, 1)
        # still in memory (a false positive now): the table, asked, has it no more
        assert core.handlers[-1].requests.known.might_hold((amqp_origin(ACCOUNT), used))
        core.new_order(used)
        assert recorded_events(db_engine, used, 3)[2][0] == "pending_new"
    with running_core(db_engine, clock) as restarted:
        restarted.new_order(used, quantity="12")
        assert is_duplicate(recorded_events(db_engine, used, 4)[3])
