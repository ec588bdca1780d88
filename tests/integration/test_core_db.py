"""The core's batch commit on its own connections, in pipeline mode: a batch with one row of
every kind commits whole (single rows were the trap: an INSERT of one row asks for its
generated id back, which no statement may wait for in a pipeline), a failing batch leaves
nothing behind and the next batch commits, and a stale order version is refused."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.exc import SQLAlchemyError

from oms.engine.batch import Batch
from oms.engine.core_db import CoreDatabase
from oms.store import order_repository as repo
from oms.store.order_repository import ConcurrentUpdateError
from tests.support.isolation import engine_of, migrated

pytestmark = pytest.mark.integration

NOW = datetime(2026, 11, 27, 14, 30, tzinfo=UTC)


@pytest.fixture(scope="module")
def database_url(run_id: str) -> Iterator[str]:
    """A database of this module's own: its rows are written past the domain (open orders
    with no snapshot), which no core sharing the run's database could load."""
    for database in migrated(run_id, "_core_db"):
        yield database.url


@pytest.fixture(scope="module")
def db_engine(database_url: str) -> Iterator[Engine]:
    yield from engine_of(database_url, "oms-tests-core-db")


def _order(order_id: str, **overrides: Any) -> dict[str, Any]:
    return {
        "order_id": order_id, "origin": "amqp:DEMO1", "cl_ord_id": f"c-{order_id}",
        "orig_cl_ord_id": None, "account": "DEMO1", "symbol": "ZVZZT", "side": "buy",
        "ord_type": "limit", "time_in_force": "day", "quantity": Decimal("100"),
        "price": Decimal("10.01"), "stop_price": None, "expire_time": None, "venue": "SIM",
        "status": "pending_new", "cum_qty": Decimal(0), "leaves_qty": Decimal("100"),
        "avg_px": None, "venue_order_id": None, "in_doubt": False, "seq": 1, "state": {},
        "version": 1, "created_at": NOW, "updated_at": NOW,
    } | overrides


def _batch_of_single_rows(token: str, changed: dict[str, Any]) -> Batch:
    new_id, event_id = f"N{token}", uuid.uuid4()
    batch = Batch(now=NOW)
    batch.save_order(_order(new_id), is_new=True)
    batch.save_order(changed | {"status": "new", "seq": 2}, is_new=False)
    batch.client_requests.append({"origin": "amqp:DEMO1", "cl_ord_id": f"c-{new_id}",
                                  "kind": "new", "order_id": new_id, "received_at": NOW,
                                  "trading_day": NOW.date()})
    batch.events.append({"event_id": event_id, "order_id": new_id, "seq": 1,
                         "account": "DEMO1", "exec_type": "pending_new",
                         "ord_status": "pending_new", "body": {"seq": 1}, "cause": {},
                         "created_at": NOW})
    batch.outbox.append({"event_id": event_id, "exchange": "oms.events",
                         "routing_key": "DEMO1.ZVZZT.pending_new", "body": {"seq": 1},
                         "created_at": NOW})
    batch.executions.append({
        "venue": "SIM", "exec_id": f"E{token}", "order_id": changed["order_id"],
        "account": "DEMO1", "symbol": "ZVZZT", "side": "buy", "exec_type": "partial_fill",
        "last_qty": Decimal(10), "last_px": Decimal("10.01"), "ref_exec_id": None,
        "transact_time": NOW, "recorded_at": NOW,
    })
    batch.position("DEMO1", f"P{token}").add(Decimal(10), Decimal("10.01"))
    batch.venue_requests.append({
        "venue": "SIM", "venue_cl_ord_id": f"V{token}", "order_id": new_id,
        "request_cl_ord_id": f"c-{new_id}", "kind": "new", "state": "pending_send",
        "created_at": NOW, "sent_at": None,
    })
    batch.venue_request_states[("SIM", f"V{token}")] = "sent"
    batch.watermarks[f"venue:T{token}"] = 7
    batch.unmatched.append({"venue": "SIM", "venue_cl_ord_id": None, "exec_id": None,
                            "reason": "test", "fields": {"35": "8"}, "received_at": NOW})
    batch.client_outbox.append({"session_id": f"S{token}", "order_id": new_id,
                                "msg_type": "8", "fields": {"11": "x"}, "created_at": NOW})
    batch.kill_switches.append({
        "scope": "symbol", "key": f"K{token}", "active": True, "reason": "test",
        "tripped_by": "test", "tripped_at": NOW, "cleared_by": None, "cleared_at": None,
    })
    batch.breakers.append({"account": f"B{token}", "tripped": True, "reason": "test",
                           "tripped_at": NOW, "reenabled_by": None, "reenabled_at": None})
    return batch


def _count(engine: Engine, sql: str, **params: Any) -> int:
    with engine.connect() as conn:
        return int(conn.execute(text(sql), params).scalar_one())


def _existing_order(engine: Engine, order_id: str) -> dict[str, Any]:
    row = _order(order_id)
    with engine.begin() as conn:
        repo.insert_orders(conn, [row])
    return row


def test_a_batch_with_one_row_of_each_kind_commits_whole(db_engine: Engine) -> None:
    token = uuid.uuid4().hex[:8]
    changed = _existing_order(db_engine, f"C{token}")
    batch = _batch_of_single_rows(token, changed)
    db = CoreDatabase(db_engine)
    try:
        db.commit(batch)
    finally:
        db.discard()
    assert batch.client_outbox[0]["id"] > 0  # the id came back before the pipeline
    assert _count(db_engine, "SELECT version FROM orders WHERE order_id = :o",
                  o=changed["order_id"]) == 2
    with db_engine.connect() as conn:
        body, side = conn.execute(text(
            "SELECT e.body, x.side FROM order_events e, executions x"
            " WHERE e.order_id = 'N' || :t AND x.exec_id = 'E' || :t"), {"t": token}).one()
    assert (body, side) == ({"seq": 1}, "buy")  # JSON as written, enums by value
    for sql in (
        "SELECT count(*) FROM orders WHERE order_id = 'N' || :t",
        "SELECT count(*) FROM client_requests WHERE cl_ord_id = 'c-N' || :t",
        "SELECT count(*) FROM order_events WHERE order_id = 'N' || :t",
        "SELECT count(*) FROM outbox o JOIN order_events e USING (event_id)"
        " WHERE e.order_id = 'N' || :t AND o.attempts = 0"
        " AND o.body IS NULL",  # the body is stored once, in order_events
        "SELECT count(*) FROM executions WHERE exec_id = 'E' || :t",
        "SELECT count(*) FROM positions WHERE symbol = 'P' || :t AND net_qty = 10",
        "SELECT count(*) FROM venue_requests WHERE venue_cl_ord_id = 'V' || :t"
        " AND state = 'sent'",
        "SELECT count(*) FROM fix_session_watermarks WHERE session_id = 'venue:T' || :t",
        "SELECT count(*) FROM client_outbox WHERE session_id = 'S' || :t",
        "SELECT count(*) FROM kill_switches WHERE key = 'K' || :t",
        "SELECT count(*) FROM account_breakers WHERE account = 'B' || :t",
    ):
        assert _count(db_engine, sql, t=token) == 1, sql


def test_a_failing_batch_leaves_nothing_and_the_next_one_commits(db_engine: Engine) -> None:
    token = uuid.uuid4().hex[:8]
    db = CoreDatabase(db_engine)
    try:
        first = Batch(now=NOW)
        first.save_order(_order(f"F{token}"), is_new=True)
        db.commit(first)
        failing = Batch(now=NOW)
        failing.save_order(_order(f"G{token}"), is_new=True)
        failing.save_order(_order(f"F{token}"), is_new=True)  # the same order again
        with pytest.raises(SQLAlchemyError):
            db.commit(failing)
        assert _count(db_engine, "SELECT count(*) FROM orders WHERE order_id = 'G' || :t",
                      t=token) == 0
        after = Batch(now=NOW)
        after.save_order(_order(f"H{token}"), is_new=True)
        db.commit(after)
        assert db.reader().execute(
            text("SELECT count(*) FROM orders WHERE order_id = 'H' || :t"), {"t": token}
        ).scalar_one() == 1
    finally:
        db.discard()


def test_a_stale_order_version_is_refused(db_engine: Engine) -> None:
    token = uuid.uuid4().hex[:8]
    row = _existing_order(db_engine, f"S{token}")
    db = CoreDatabase(db_engine)
    try:
        batch = Batch(now=NOW)
        batch.save_order(row | {"version": 5, "status": "new"}, is_new=False)
        with pytest.raises(ConcurrentUpdateError):
            db.commit(batch)
    finally:
        db.discard()


def test_a_lost_connection_is_a_database_error_and_the_next_batch_reconnects(
    db_engine: Engine, database_url: str
) -> None:
    """The core catches SQLAlchemy's errors: what the driver raises directly is reported as one."""
    from sqlalchemy import create_engine

    name = f"core-db-test-{uuid.uuid4().hex[:8]}"
    engine = create_engine(database_url, connect_args={"application_name": name})
    db = CoreDatabase(engine)
    token = uuid.uuid4().hex[:8]
    try:
        first = Batch(now=NOW)
        first.save_order(_order(f"L{token}"), is_new=True)
        db.commit(first)
        from oms.engine.replays import RequestKey
        from oms.engine.trading_days import EVERY_DAY
        from oms.store.order_store import recorded_requests

        nothing = [RequestKey("amqp:DEMO1", "nothing", EVERY_DAY)]
        recorded_requests(db.reader(), nothing)
        with db_engine.connect() as conn:
            conn.execute(text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                              " WHERE application_name = :n"), {"n": name})
        with pytest.raises(SQLAlchemyError):
            recorded_requests(db.reader(), nothing)
        lost = Batch(now=NOW)
        lost.save_order(_order(f"M{token}"), is_new=True)
        with pytest.raises(SQLAlchemyError):
            db.commit(lost)
        db.commit(lost)  # on a new connection
        assert _count(db_engine, "SELECT count(*) FROM orders WHERE order_id = 'M' || :t",
                      t=token) == 1
    finally:
        db.discard()
        engine.dispose()


def test_the_pooled_commit_refuses_a_stale_version_too(db_engine: Engine) -> None:
    from oms.engine.batch import commit

    row = _existing_order(db_engine, f"P{uuid.uuid4().hex[:8]}")
    batch = Batch(now=NOW)
    batch.save_order(row | {"version": 3, "status": "new"}, is_new=False)
    with pytest.raises(ConcurrentUpdateError):
        commit(db_engine, batch)
    fresh = Batch(now=NOW)
    fresh.save_order(row | {"status": "new"}, is_new=False)
    commit(db_engine, fresh)
    assert _count(db_engine, "SELECT version FROM orders WHERE order_id = :o",
                  o=row["order_id"]) == 2


def test_an_open_order_whose_snapshot_cannot_be_read_stops_the_load_naming_the_order(
    db_engine: Engine,
) -> None:
    """An order left out of the core would be live at the venue and unknown to risk: the core
    does not start without it, and says which order it could not read."""
    from oms.engine.state import UnreadableOrderError, load_state

    order_id = f"U{uuid.uuid4().hex[:8]}"
    _existing_order(db_engine, order_id)  # written past the domain: its snapshot is empty
    with db_engine.connect() as conn, pytest.raises(UnreadableOrderError, match="open order"):
        load_state(conn)
