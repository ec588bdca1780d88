"""Client ClOrdIDs are unique per session per trading day (``cl_ord_id_scope = "day"``, the day
turning at midnight in the session's time zone) or for as long as requests are kept
(``"forever"``, and every AMQP strategy).

The real core runs on the real database, with its clock set by the test: a new trading day is
a clock setting, not a wait. FIX client inputs are put on its inbox as the acceptor puts them;
strategy commands come through RabbitMQ. What a FIX client is owed is read from
``client_outbox``, what a strategy is told from ``order_events``.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Connection, Engine, text

from fix_gateway.client_reports import FixClientReports
from fix_gateway.translate_codes import FixVersion
from oms.bus.intake_consumer import IntakeConsumer, to_core
from oms.bus.topology import declare_topology_at
from oms.domain.requests import CancelRequest, NewOrderRequest
from oms.domain.values import OrdType, Side, TimeInForce
from oms.engine.batch import Batch
from oms.engine.client_sessions import ClientProfile, ClientSessions
from oms.engine.core import Core
from oms.engine.handlers import Context, Handlers
from oms.engine.inputs import ClientFixRequest, ClientStatusRequest
from oms.engine.replays import RequestKey
from oms.engine.state import CoreState
from oms.engine.trading_days import EVERY_DAY, ClOrdIdScopes
from oms.metrics import GatewayMetrics
from oms.store import order_repository as repo
from oms.store.order_store import RECORDED_REQUESTS, recorded_requests
from tests.integration.conftest import Broker, recorded_events, wait_until
from tests.support.core_desk import LoggedOnClients, PlayedVenue, core_context

pytestmark = pytest.mark.integration

NEW_YORK = ZoneInfo("America/New_York")
DAY_DESK, KEEPER = "DAYDESK", "KEEPER"
"""A day-scoped session trading in New York time, and a forever-scoped one."""
PROFILES = [ClientProfile(DAY_DESK, FixVersion.FIX44, frozenset({"CLIENT1"})),
            ClientProfile(KEEPER, FixVersion.FIX44, frozenset({"CLIENT1"}))]
SCOPES = ClOrdIdScopes.of_sessions([(DAY_DESK, NEW_YORK, True), (KEEPER, UTC, False)])


def ny(text_: str) -> datetime:
    return datetime.fromisoformat(text_).replace(tzinfo=NEW_YORK).astimezone(UTC)


@dataclass
class Clock:
    now: datetime = field(default_factory=lambda: datetime(2026, 3, 2, 15, 0, tzinfo=UTC))

    def __call__(self) -> datetime:
        return self.now


def context(engine: Engine, clock: Clock, venue: PlayedVenue) -> Context:
    return core_context(engine, venue, clock, cl_ord_id_scopes=SCOPES)


@dataclass
class Desk:
    """The core running at the test's clock, with a way in for each kind of client."""

    core: Core
    clock: Clock
    engine: Engine
    venue: PlayedVenue
    seq: int = 0

    def fix(self, session: str, command: Any, *, poss_dup: bool = False) -> None:
        self.seq += 1
        self.core.put(ClientFixRequest(session, command, self.seq, redelivered=poss_dup))

    def new_order(self, session: str, cl_ord_id: str, *, poss_dup: bool = False) -> None:
        origin = f"fix:{session}"
        self.fix(session, NewOrderRequest(
            origin=origin, user=origin, cl_ord_id=cl_ord_id, account="CLIENT1", symbol="AAPL",
            side=Side.BUY, ord_type=OrdType.LIMIT, quantity=Decimal(10),
            price=Decimal("190.00"), time_in_force=TimeInForce.GTC), poss_dup=poss_dup)

    def cancel(self, session: str, cl_ord_id: str, orig_cl_ord_id: str) -> None:
        origin = f"fix:{session}"
        self.fix(session, CancelRequest(origin=origin, user=origin, cl_ord_id=cl_ord_id,
                                        orig_cl_ord_id=orig_cl_ord_id, account="CLIENT1"))

    def status(self, session: str, cl_ord_id: str) -> None:
        self.seq += 1
        self.core.put(ClientStatusRequest(session, cl_ord_id, self.seq))

    def owed(self, session: str, cl_ord_id: str, count: int) -> list[dict[str, Any]]:
        """The first ``count`` reports owed to ``session`` about ``cl_ord_id`` (waiting for
        them), as (order_id, fields)."""
        sql = text("SELECT order_id, fields FROM client_outbox WHERE session_id = :s"
                   " AND fields->>'11' = :c ORDER BY id")

        def rows() -> list[Any]:
            with self.engine.connect() as conn:
                return list(conn.execute(sql, {"s": session, "c": cl_ord_id}))

        wait_until(lambda: len(rows()) >= count, what=f"{count} report(s) for {cl_ord_id}")
        return [{"order_id": r.order_id, **r.fields} for r in rows()[:count]]

    def requests(self, origin: str, cl_ord_id: str) -> list[tuple[date, str]]:
        with self.engine.connect() as conn:
            return [(r.trading_day, r.kind) for r in conn.execute(text(
                "SELECT trading_day, kind::text FROM client_requests"
                " WHERE origin = :o AND cl_ord_id = :c ORDER BY trading_day, received_at"),
                {"o": origin, "c": cl_ord_id})]

    def venue_news(self, cl_ord_id: str) -> int:
        with self.engine.connect() as conn:
            return int(conn.execute(text(
                "SELECT count(*) FROM venue_requests WHERE request_cl_ord_id = :c"
                " AND kind = 'new'"), {"c": cl_ord_id}).scalar_one())


@pytest.fixture(scope="module")
def desk(db_engine: Engine) -> Iterator[Desk]:
    clock, venue = Clock(), PlayedVenue()
    ctx = context(db_engine, clock, venue)

    def handlers(state: CoreState) -> Handlers:
        return Handlers(ctx, state)

    core = Core(engine=db_engine, handlers_factory=handlers, capacity=1000, batch_max=100,
                metrics=GatewayMetrics(), clock=clock,
                clients=ClientSessions(PROFILES, LoggedOnClients(), FixClientReports()))
    stop = threading.Event()
    thread = threading.Thread(target=core.run, args=(stop,), daemon=True)
    thread.start()
    assert core.ready.wait(30)
    yield Desk(core, clock, db_engine, venue)
    stop.set()
    thread.join(30)


def cid(label: str) -> str:
    return f"{label}-{uuid.uuid4().hex[:8]}"


def is_duplicate_reject(report: dict[str, Any]) -> bool:
    return report["150"] == "8" and "duplicate cl_ord_id" in report.get("58", "")


# -- a day-scoped FIX session ----------------------------------------------------------------


def test_a_day_scoped_session_uses_a_cl_ord_id_again_on_its_next_trading_day(
    desk: Desk,
) -> None:
    order = cid("daily")
    # 20:00 in New York on 7 March is already 8 March in UTC: the session's day counts
    desk.clock.now = ny("2026-03-07T20:00:00")
    desk.new_order(DAY_DESK, order)
    [first] = desk.owed(DAY_DESK, order, 1)
    assert first["150"] == "A"

    desk.clock.now = ny("2026-03-07T23:59:59")
    desk.new_order(DAY_DESK, order)
    [_, again] = desk.owed(DAY_DESK, order, 2)
    assert is_duplicate_reject(again), again

    desk.clock.now = ny("2026-03-08T00:00:00")  # same UTC date as the first, next NY day
    desk.new_order(DAY_DESK, order)
    [_, _, next_day] = desk.owed(DAY_DESK, order, 3)
    assert next_day["150"] == "A"
    assert next_day["order_id"] != first["order_id"]

    assert desk.requests(f"fix:{DAY_DESK}", order) == [
        (date(2026, 3, 7), "new"), (date(2026, 3, 8), "new")]
    assert desk.venue_news(order) == 2  # once a day, never twice on one day


def test_a_cancel_naming_a_cl_ord_id_used_on_two_days_cancels_the_newest_order(
    desk: Desk,
) -> None:
    order, cancel = cid("twice"), cid("cxl")
    desk.clock.now = ny("2026-03-09T10:00:00")
    desk.new_order(DAY_DESK, order)
    [yesterdays] = desk.owed(DAY_DESK, order, 1)
    desk.clock.now = ny("2026-03-10T10:00:00")
    desk.new_order(DAY_DESK, order)
    [_, todays] = desk.owed(DAY_DESK, order, 2)
    desk.cancel(DAY_DESK, cancel, order)
    [pending_cancel] = desk.owed(DAY_DESK, cancel, 1)
    assert pending_cancel["150"] == "6"
    assert pending_cancel["order_id"] == todays["order_id"] != yesterdays["order_id"]


def test_a_poss_dup_resend_of_todays_order_is_not_taken_for_yesterdays(desk: Desk) -> None:
    order = cid("resent")
    desk.clock.now = ny("2026-03-11T10:00:00")
    desk.new_order(DAY_DESK, order)
    [yesterdays] = desk.owed(DAY_DESK, order, 1)
    # today's order arrives first as a resend (the gateway had taken it, not committed it)
    desk.clock.now = ny("2026-03-12T10:00:00")
    desk.new_order(DAY_DESK, order, poss_dup=True)
    [_, todays] = desk.owed(DAY_DESK, order, 2)
    assert todays["150"] == "A" and todays["order_id"] != yesterdays["order_id"]
    # resent again: known today, answered with the status of today's order, not sent again
    desk.new_order(DAY_DESK, order, poss_dup=True)
    [_, _, status] = desk.owed(DAY_DESK, order, 3)
    assert (status["150"], status["order_id"]) == ("I", todays["order_id"])
    assert desk.venue_news(order) == 2


def test_a_status_request_by_cl_ord_id_answers_for_the_newest_order(desk: Desk) -> None:
    order = cid("asked")
    desk.clock.now = ny("2026-03-13T10:00:00")
    desk.new_order(DAY_DESK, order)
    desk.owed(DAY_DESK, order, 1)
    desk.clock.now = ny("2026-03-16T10:00:00")
    desk.new_order(DAY_DESK, order)
    [_, todays] = desk.owed(DAY_DESK, order, 2)
    desk.status(DAY_DESK, order)
    [_, _, status] = desk.owed(DAY_DESK, order, 3)
    assert (status["150"], status["order_id"]) == ("I", todays["order_id"])


# -- forever-scoped sessions and strategies --------------------------------------------------


def test_a_forever_scoped_session_is_refused_a_cl_ord_id_of_an_earlier_day(desk: Desk) -> None:
    order = cid("kept")
    desk.clock.now = datetime(2026, 3, 17, 15, 0, tzinfo=UTC)
    desk.new_order(KEEPER, order)
    assert desk.owed(KEEPER, order, 1)[0]["150"] == "A"
    desk.clock.now = datetime(2026, 3, 20, 15, 0, tzinfo=UTC)
    desk.new_order(KEEPER, order)
    [_, later] = desk.owed(KEEPER, order, 2)
    assert is_duplicate_reject(later), later
    assert desk.venue_news(order) == 1


def test_a_strategy_is_refused_a_cl_ord_id_of_an_earlier_day(
    desk: Desk, broker: Broker
) -> None:
    declare_topology_at(broker.url)
    consumer = IntakeConsumer(broker.url, to_core(desk.core.put), prefetch=10,
                              max_delivery_attempts=5)
    consumer.start()
    try:
        assert consumer.wait_until_consuming(30)
        order = cid("strategy")
        command = {"type": "new_order", "cl_ord_id": order, "account": "DEMO1",
                   "symbol": "AAPL", "side": "buy", "order_type": "limit", "quantity": "10",
                   "price": "190.00", "time_in_force": "gtc"}
        desk.clock.now = datetime(2026, 3, 23, 23, 0, tzinfo=UTC)
        broker.publish_command(command)
        assert [e[0] for e in recorded_events(desk.engine, order, 1)] == ["pending_new"]
        desk.clock.now = datetime(2026, 3, 24, 1, 0, tzinfo=UTC)  # the next UTC day
        broker.publish_command(command)
        [_, (exec_type, reason)] = recorded_events(desk.engine, order, 2)
        assert exec_type == "rejected" and "duplicate cl_ord_id" in reason
        assert desk.requests("amqp:DEMO1", order) == [(date(2026, 3, 23), "new")]
    finally:
        consumer.stop(timeout=5.0)



# -- the lookup: one statement per batch, by index -------------------------------------------


class CountingCursor:
    """Counts the statements run on a psycopg connection (wraps its real cursors)."""

    def __init__(self, conn: Connection) -> None:
        self.driver: Any = conn.connection.driver_connection
        self.statements: list[str] = []
        self._factory = self.driver.cursor_factory
        counter = self

        class Counted(self._factory):  # type: ignore[name-defined,misc]
            def execute(self, query: Any, *args: Any, **kwargs: Any) -> Any:
                counter.statements.append(str(query))
                return super().execute(query, *args, **kwargs)

        self.driver.cursor_factory = Counted

    def restore(self) -> None:
        self.driver.cursor_factory = self._factory


def test_a_batch_looks_up_its_requests_in_one_statement_whatever_their_scopes(
    db_engine: Engine,
) -> None:
    clock = Clock(datetime(2026, 3, 25, 15, 0, tzinfo=UTC))
    handlers = Handlers(context(db_engine, clock, PlayedVenue()), CoreState())
    used = cid("used")
    with db_engine.begin() as conn:
        for origin, day in ((f"fix:{DAY_DESK}", date(2026, 3, 24)),
                            (f"fix:{KEEPER}", date(2026, 3, 24)),
                            ("amqp:DEMO1", date(2026, 3, 1))):
            conn.execute(repo.CLIENT_REQUESTS.insert(), {
                "origin": origin, "cl_ord_id": used, "kind": "new", "order_id": None,
                "received_at": clock.now, "trading_day": day})
    commands = [
        NewOrderRequest(origin=origin, user=origin, cl_ord_id=cl_ord_id, account="CLIENT1",
                        symbol="AAPL", side=Side.BUY, ord_type=OrdType.LIMIT,
                        quantity=Decimal(1), price=Decimal(190))
        for origin in (f"fix:{DAY_DESK}", f"fix:{KEEPER}", "amqp:DEMO1")
        for cl_ord_id in [used, *(cid("fresh") for _ in range(40))]
    ]
    with db_engine.connect() as conn:
        counting = CountingCursor(conn)
        try:
            handlers.begin(Batch(now=clock.now), [ClientFixRequest("any", c, 1)
                                                  for c in commands], conn)
        finally:
            counting.restore()
    assert len(counting.statements) == 1
    recorded = {(c.origin, c.cl_ord_id) for c in commands
                if handlers.recorded(c, clock.now) is not None}
    # yesterday's use counts for the forever scopes, not for the day-scoped session
    assert recorded == {(f"fix:{KEEPER}", used), ("amqp:DEMO1", used)}


def test_the_lookup_probes_the_primary_key_and_never_scans_the_table(
    db_engine: Engine,
) -> None:
    with db_engine.begin() as conn:
        conn.execute(text(
            "INSERT INTO client_requests (origin, cl_ord_id, trading_day, kind, received_at)"
            " SELECT 'amqp:BULK' || (n % 50), 'bulk-' || n, DATE '2002-06-01' + (n % 300),"
            " 'new', now() FROM generate_series(1, 30000) AS n ON CONFLICT DO NOTHING"))
        conn.execute(text("ANALYZE client_requests"))
    mid = date(2002, 6, 1) + timedelta(days=150)
    keys = [RequestKey(f"amqp:BULK{n % 50}", f"bulk-{n}", EVERY_DAY if n % 2 else mid)
            for n in range(1, 400, 7)]
    with db_engine.connect() as conn:
        driver: Any = conn.connection.driver_connection
        plan = driver.execute(
            "EXPLAIN (FORMAT JSON) " + RECORDED_REQUESTS,
            ([k.origin for k in keys], [k.cl_ord_id for k in keys], [k.since for k in keys]),
        ).fetchone()[0]
        found = recorded_requests(conn, keys)
    nodes = list(plan_nodes(plan[0]["Plan"]))
    scans = {(n["Node Type"], n.get("Index Name")) for n in nodes
             if n.get("Relation Name") == "client_requests"}
    assert scans and all(kind.startswith("Index") for kind, _ in scans), scans
    assert {index for _, index in scans} == {"pk_client_requests"}
    assert set(found) == {(k.origin, k.cl_ord_id) for k in keys if k.since == EVERY_DAY
                          or int(k.cl_ord_id.removeprefix("bulk-")) % 300 >= 150}


def plan_nodes(node: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield node
    for child in node.get("Plans", []):
        yield from plan_nodes(child)


def test_a_request_of_the_batch_still_committing_counts_within_its_scope(
    db_engine: Engine,
) -> None:
    """The batch before may not be committed when the next one looks its requests up: its
    requests count as recorded, on their own trading day."""
    clock = Clock(ny("2026-03-26T23:30:00"))
    handlers = Handlers(context(db_engine, clock, PlayedVenue()), CoreState())
    order = cid("inflight")
    commands = [NewOrderRequest(origin=f"fix:{session}", user=f"fix:{session}",
                                cl_ord_id=order, account="CLIENT1", symbol="AAPL",
                                side=Side.BUY, ord_type=OrdType.LIMIT, quantity=Decimal(1),
                                price=Decimal(190)) for session in (DAY_DESK, KEEPER)]
    items = [ClientFixRequest(c.origin.removeprefix("fix:"), c, 1) for c in commands]
    first = Batch(now=clock.now)
    handlers.begin(first, items, None)
    for item in items:
        handlers.client_request(first, item.command, item)
    assert handlers.recorded(commands[0], clock.now) is not None  # later in the same batch
    assert [r["trading_day"] for r in first.client_requests] == [date(2026, 3, 26),
                                                                  date(2026, 3, 27)]
    # the same instant: 26 March in New York, 27 March in UTC (the forever session's zone)
    later = ny("2026-03-27T00:30:00")  # New York's next day; still 27 March in UTC
    handlers.begin(Batch(now=later), items, None)
    assert handlers.recorded(commands[0], later) is None
    assert handlers.recorded(commands[1], later) is not None


def test_the_newest_request_of_a_cl_ord_id_is_found_whatever_its_day(
    db_engine: Engine,
) -> None:
    used = cid("newest")
    with db_engine.begin() as conn:
        for day, order_id in ((date(2026, 3, 2), None), (date(2026, 3, 4), None),
                              (date(2026, 3, 3), None)):
            conn.execute(repo.CLIENT_REQUESTS.insert(), {
                "origin": f"fix:{DAY_DESK}", "cl_ord_id": used, "kind": "new",
                "order_id": order_id, "received_at": datetime.now(UTC), "trading_day": day})
        found = repo.find_client_request(conn, f"fix:{DAY_DESK}", used)
    assert found is not None and found["trading_day"] == date(2026, 3, 4)
