"""``client_requests`` is purged of old trading days, so it stops growing forever: in chunks that
never wait on a locked row, keeping the requests of orders still open; once a day by the
gateway, or by hand with ``oms db purge --before DATE``.

Each test uses trading days of its own, long past, so the purges of the run's other tests (and
theirs) never touch each other's rows.
"""

from __future__ import annotations

import logging
import threading
import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import Engine, text

from oms.cli import main
from oms.store import order_repository as repo
from oms.store.purge import (
    RetentionPurge,
    kept_before,
    purge_chunk,
    purge_client_requests,
    purge_refusal,
    retention_cutoff,
)
from tests.integration.conftest import WAIT_S
from tests.support.order_snapshots import submitted_snapshot

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]


def _order(order_id: str, status: str, at: datetime) -> dict[str, Any]:
    row: dict[str, Any] = {
        "order_id": order_id, "origin": "fix:PURGED", "cl_ord_id": f"c-{order_id}",
        "orig_cl_ord_id": None, "account": "CLIENT1", "symbol": "AAPL", "side": "buy",
        "ord_type": "limit", "time_in_force": "gtc", "quantity": Decimal(10),
        "price": Decimal(190), "stop_price": None, "expire_time": None, "venue": "SIM",
        "status": status, "cum_qty": Decimal(0), "leaves_qty": Decimal(10), "avg_px": None,
        "venue_order_id": None, "in_doubt": False, "seq": 1, "state": {}, "version": 1,
        "created_at": at, "updated_at": at,
    }
    row["state"] = submitted_snapshot(row)
    return row


def requests_on(engine: Engine, day: date, *, open_orders: int = 0, closed_orders: int = 0,
                orderless: int = 0) -> dict[str, list[str]]:
    """Requests of trading day ``day``: of open orders (a new order and a cancel of it), of
    filled orders, and order-less ones (rejected before an order existed)."""
    at = datetime.combine(day, datetime.min.time(), UTC) + timedelta(hours=15)
    made: dict[str, list[str]] = {"open": [], "closed": [], "orderless": []}
    rows = []
    with engine.begin() as conn:
        for kind, count, status in (("open", open_orders, "new"),
                                    ("closed", closed_orders, "filled")):
            for _ in range(count):
                order_id = f"P{uuid.uuid4().hex[:12]}"
                repo.insert_orders(conn, [_order(order_id, status, at)])
                for request_kind in ("new", "cancel"):
                    cl_ord_id = f"{request_kind}-{order_id}"
                    rows.append({"origin": "fix:PURGED", "cl_ord_id": cl_ord_id,
                                 "kind": request_kind, "order_id": order_id, "received_at": at,
                                 "trading_day": day})
                    made[kind].append(cl_ord_id)
        for _ in range(orderless):
            cl_ord_id = f"none-{uuid.uuid4().hex[:12]}"
            rows.append({"origin": "amqp:DEMO1", "cl_ord_id": cl_ord_id, "kind": "new",
                         "order_id": None, "received_at": at, "trading_day": day})
            made["orderless"].append(cl_ord_id)
        conn.execute(repo.CLIENT_REQUESTS.insert(), rows)
    return made


def remaining(engine: Engine, cl_ord_ids: list[str]) -> set[str]:
    with engine.connect() as conn:
        return set(conn.execute(text(
            "SELECT cl_ord_id FROM client_requests WHERE cl_ord_id = ANY(:ids)"),
            {"ids": cl_ord_ids}).scalars())


def test_a_purge_removes_old_requests_but_keeps_those_of_open_orders_and_of_later_days(
    db_engine: Engine,
) -> None:
    old = requests_on(db_engine, date(2001, 1, 10), open_orders=2, closed_orders=3,
                      orderless=4)
    on_the_day = requests_on(db_engine, date(2001, 2, 1), closed_orders=1, orderless=1)
    removed = purge_client_requests(db_engine, date(2001, 2, 1), chunk=4)
    assert removed == 3 * 2 + 4
    everything = [c for made in (old, on_the_day) for ids in made.values() for c in ids]
    assert remaining(db_engine, everything) == {
        *old["open"], *on_the_day["closed"], *on_the_day["orderless"]}
    assert kept_before(db_engine, date(2001, 2, 1)) == len(old["open"])


def test_each_chunk_is_bounded_and_a_locked_row_is_skipped_not_waited_for(
    db_engine: Engine,
) -> None:
    made = requests_on(db_engine, date(2000, 8, 1), orderless=7)
    before = date(2000, 8, 2)
    locked = made["orderless"][0]
    with db_engine.connect() as holder:
        holder.begin()
        holder.execute(text("SELECT 1 FROM client_requests WHERE cl_ord_id = :c FOR UPDATE"),
                       {"c": locked})
        counts: list[int] = []
        purge = threading.Thread(
            target=lambda: counts.extend(purge_chunk(db_engine, before, 4) for _ in range(3)))
        purge.start()
        purge.join(WAIT_S)
        assert not purge.is_alive(), "the purge waited for a locked row"
        holder.rollback()
    assert counts == [4, 2, 0]
    assert remaining(db_engine, made["orderless"]) == {locked}
    assert purge_client_requests(db_engine, before) == 1


def test_the_gateway_purges_once_a_day_a_chunk_at_a_time_and_logs_the_count(
    db_engine: Engine, caplog: pytest.LogCaptureFixture,
) -> None:
    made = requests_on(db_engine, date(2000, 5, 20), open_orders=1, orderless=5)
    start = datetime.combine(date(2000, 6, 1) + timedelta(days=30), datetime.min.time(), UTC)
    purge = RetentionPurge(db_engine, retention_days=30, chunk=2)
    caplog.set_level(logging.INFO, logger="oms.store.purge")
    for second in range(5):  # housekeeping ticks: 2 + 2 + 1, then done for the day
        purge.step(start + timedelta(seconds=second))
    assert remaining(db_engine, made["orderless"]) == set()
    [line] = [r.getMessage() for r in caplog.records if "purged" in r.getMessage()]
    assert line.startswith("client_requests: purged 5 request(s) of trading days before "
                           "2000-06-01 (retention 30 days")
    later = requests_on(db_engine, date(2000, 5, 21), orderless=1)
    purge.step(start + timedelta(hours=23))
    assert remaining(db_engine, later["orderless"]) == set(later["orderless"])  # same day
    purge.step(start + timedelta(days=1))
    assert remaining(db_engine, later["orderless"]) == set()
    assert remaining(db_engine, made["open"]) == set(made["open"])


def test_the_retention_cutoff_and_what_a_purge_by_hand_may_remove() -> None:
    today = date(2026, 12, 3)
    assert retention_cutoff(today, 30) == date(2026, 11, 3)
    assert purge_refusal(date(2026, 11, 3), today, 30, force=False) is None
    within = purge_refusal(date(2026, 11, 4), today, 30, force=False)
    assert within is not None and "latest date allowed is 2026-11-03" in within
    assert purge_refusal(date(2026, 11, 4), today, 30, force=True) is None
    assert purge_refusal(today, today, 30, force=True) is None
    after = purge_refusal(date(2026, 12, 4), today, 30, force=True)
    assert after is not None and "after today" in after


@pytest.fixture
def env(database_url: str) -> dict[str, str]:
    return {"OMS_DATABASE_URL": database_url, "OMS_CONFIG": str(ROOT / "config" / "oms.toml")}


def test_oms_db_purge_prints_what_it_removed_and_what_it_kept(
    db_engine: Engine, env: dict[str, str]
) -> None:
    made = requests_on(db_engine, date(1999, 3, 1), open_orders=1, closed_orders=1,
                       orderless=2)
    result = CliRunner().invoke(main, ["db", "purge", "--before", "1999-03-02"], env=env)
    assert result.exit_code == 0, result.output
    assert result.output.strip() == (
        "removed 4 client request(s) of trading days before 1999-03-02; kept 2 of open orders")
    assert remaining(db_engine, [c for ids in made.values() for c in ids]) == set(made["open"])


@pytest.mark.parametrize(("days_ahead", "force", "message"), [
    (-1, False, "within the retention of 30 day(s)"),
    (1, True, "is after today"),
])
def test_oms_db_purge_refuses_a_date_within_the_retention_or_after_today(
    env: dict[str, str], days_ahead: int, force: bool, message: str
) -> None:
    day = datetime.now(UTC).date() + timedelta(days=days_ahead)
    args = ["db", "purge", "--before", day.isoformat(), *(["--force"] if force else [])]
    result = CliRunner().invoke(main, args, env=env)
    assert result.exit_code == 1
    assert message in result.output


def test_oms_db_purge_wants_an_iso_date(env: dict[str, str]) -> None:
    result = CliRunner().invoke(main, ["db", "purge", "--before", "03/02/1999"], env=env)
    assert result.exit_code == 2
    assert "YYYY-MM-DD" in result.output or "%Y-%m-%d" in result.output
