"""Orders persist exactly (NUMERIC, UTC) and concurrent updates of one order are refused."""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import Engine

from oms.store import order_repository as repo
from tests.support.order_snapshots import submitted_snapshot

pytestmark = pytest.mark.integration

NOW = datetime(2026, 11, 27, 14, 30, tzinfo=UTC)
_counter = iter(range(1, 1_000_000))


def _new_order(**overrides: Any) -> dict[str, Any]:
    n = next(_counter)
    row: dict[str, Any] = {
        "order_id": f"T{n:08d}", "origin": "amqp:DEMO1", "cl_ord_id": f"c{n}",
        "orig_cl_ord_id": None, "account": "DEMO1", "symbol": "ZVZZT", "side": "buy",
        "ord_type": "limit", "time_in_force": "day", "quantity": Decimal("100"),
        "price": Decimal("10.01"), "stop_price": None, "expire_time": None, "venue": "SIM",
        "status": "pending_new", "cum_qty": Decimal(0), "leaves_qty": Decimal("100"),
        "avg_px": None, "venue_order_id": None, "in_doubt": False, "seq": 1, "state": {},
        "version": 1, "created_at": NOW, "updated_at": NOW,
    }
    row.update(overrides)
    row["state"] = submitted_snapshot(row)
    return row


def test_an_order_round_trips_with_exact_decimals(db_engine: Engine) -> None:
    order = _new_order(price=Decimal("123456789.0123456789"), quantity=Decimal("0.00000001"))
    with db_engine.begin() as conn:
        repo.insert_orders(conn, [order])
    with db_engine.connect() as conn:
        stored = repo.get_order(conn, order["order_id"])
    assert stored is not None
    assert stored["price"] == Decimal("123456789.0123456789")
    assert stored["quantity"] == Decimal("0.00000001")
    assert stored["created_at"] == NOW and stored["created_at"].utcoffset().total_seconds() == 0


def test_update_bumps_the_version(db_engine: Engine) -> None:
    order = _new_order()
    with db_engine.begin() as conn:
        repo.insert_orders(conn, [order])
        repo.update_orders(conn, [order | {"status": "new", "seq": 2}])
        stored = repo.get_order(conn, order["order_id"])
    assert stored is not None and stored["version"] == 2 and stored["status"] == "new"


def test_an_update_from_a_stale_version_is_refused(db_engine: Engine) -> None:
    order = _new_order()
    with db_engine.begin() as conn:
        repo.insert_orders(conn, [order])
        repo.update_orders(conn, [order | {"status": "new"}])
    with pytest.raises(repo.ConcurrentUpdateError) as refused, db_engine.begin() as conn:
        repo.update_orders(conn, [order | {"status": "canceled"}])  # still says version 1
    assert refused.value.order_ids == (order["order_id"],)
    with db_engine.connect() as conn:
        stored = repo.get_order(conn, order["order_id"])
    assert stored is not None and stored["status"] == "new", "the stale write left no trace"


def test_two_writers_updating_the_same_order_at_once_one_is_refused(db_engine: Engine) -> None:
    order = _new_order()
    with db_engine.begin() as conn:
        repo.insert_orders(conn, [order])
    first_wrote = threading.Event()
    outcomes: dict[str, str] = {}

    def second_writer() -> None:
        first_wrote.wait(10)
        try:
            with db_engine.begin() as conn:  # blocks on the row lock until the first commits
                repo.update_orders(conn, [order | {"status": "canceled"}])
            outcomes["second"] = "committed"
        except repo.ConcurrentUpdateError:
            outcomes["second"] = "refused"

    thread = threading.Thread(target=second_writer)
    thread.start()
    with db_engine.begin() as conn:
        repo.update_orders(conn, [order | {"status": "new"}])
        first_wrote.set()
        thread.join(0.5)  # the second writer is now waiting on our uncommitted row
    thread.join(10)
    assert outcomes == {"second": "refused"}
    with db_engine.connect() as conn:
        stored = repo.get_order(conn, order["order_id"])
    assert stored is not None and stored["status"] == "new" and stored["version"] == 2


def test_a_batch_with_one_stale_row_names_it_and_writes_nothing(db_engine: Engine) -> None:
    fresh, stale = _new_order(), _new_order()
    with db_engine.begin() as conn:
        repo.insert_orders(conn, [fresh, stale])
        repo.update_orders(conn, [stale | {"seq": 2}])
    with pytest.raises(repo.ConcurrentUpdateError) as refused, db_engine.begin() as conn:
        repo.update_orders(conn, [fresh | {"seq": 5}, stale | {"seq": 5}])
    assert refused.value.order_ids == (stale["order_id"],)
    with db_engine.connect() as conn:
        assert repo.get_order(conn, fresh["order_id"])["seq"] == 1  # type: ignore[index]


def test_a_replayed_cl_ord_id_is_recognised(db_engine: Engine) -> None:
    request = {"origin": "amqp:DEMO2", "cl_ord_id": "replay-1", "kind": "new",
               "order_id": None, "received_at": NOW, "trading_day": NOW.date()}
    with db_engine.begin() as conn:
        assert repo.record_client_requests(conn, [request]) == [True]
    with db_engine.begin() as conn:
        other = request | {"cl_ord_id": "replay-2"}
        assert repo.record_client_requests(conn, [request, other]) == [False, True]
        assert repo.find_client_request(conn, "amqp:DEMO2", "replay-1") is not None


def test_reserved_ids_are_never_handed_out_twice(db_engine: Engine) -> None:
    with db_engine.begin() as conn:
        first = repo.reserve_ids(conn, 50, venue=True)
    with db_engine.begin() as conn:
        second = repo.reserve_ids(conn, 50, venue=True)
        conn.rollback()
    with db_engine.begin() as conn:
        third = repo.reserve_ids(conn, 5, venue=True)
    assert len(set(first + second + third)) == 105


def test_open_orders_are_reloaded_and_terminal_ones_are_not(db_engine: Engine) -> None:
    live, done = _new_order(account="RELOAD"), _new_order(account="RELOAD")
    with db_engine.begin() as conn:
        repo.insert_orders(conn, [live, done | {"status": "filled", "leaves_qty": Decimal(0)}])
    with db_engine.connect() as conn:
        ids = {r["order_id"] for r in repo.load_open_orders(conn) if r["account"] == "RELOAD"}
    assert ids == {live["order_id"]}
