"""PostgreSQL stopped and started under load: nothing is accepted or rejected without a
durable record while it is down, and the gateway resumes by itself, losing nothing."""

from __future__ import annotations

import time
import uuid
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text

from tests.support.isolation import TestVhost
from tests.support.private_postgres import PrivatePostgres
from tests.support.stack import Strategy, running_stack, test_settings

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(not PrivatePostgres.available(), reason="PostgreSQL 15 binaries absent"),
]


def _orders(url: str) -> dict[str, Any]:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(text("SELECT cl_ord_id, status, cum_qty, quantity FROM orders"))
            orders = {r.cl_ord_id: r for r in rows}
            bought = conn.execute(text(
                "SELECT coalesce(sum(last_qty), 0) FROM executions WHERE side = 'buy'")).scalar()
            sold = conn.execute(text(
                "SELECT coalesce(sum(last_qty), 0) FROM executions WHERE side = 'sell'")).scalar()
        return {"orders": orders, "bought": bought, "sold": sold}
    finally:
        engine.dispose()


def test_postgres_stopped_and_started_under_load_loses_and_doubles_nothing(
    private_postgres: PrivatePostgres, amqp_vhost: TestVhost, run_id: str, tmp_path: Path
) -> None:
    settings = test_settings(database_url=private_postgres.url, amqp_url=amqp_vhost.url,
                             data_dir=tmp_path)
    sent: list[str] = []
    with running_stack(settings, tmp_path, f"oms_test_{run_id}_pg:"), \
            Strategy(amqp_vhost.url) as trader:
        def burst(label: str, pairs: int) -> None:
            for i in range(pairs):
                buy, sell = f"{label}b{i}-{uuid.uuid4().hex[:6]}", f"{label}s{i}"
                trader.new_order("DEMO1", buy, "ZVZZT", "buy", "10", "10.00")
                trader.new_order("DEMO2", sell, "ZVZZT", "sell", "10", "10.00")
                sent.extend([buy, sell])

        burst("pre", 40)
        private_postgres.stop()  # abrupt: in-flight transactions fail
        burst("down", 40)  # accepted by the broker, not by the OMS: nothing is decided
        trader.connection.sleep(3)
        private_postgres.start()
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            state = _orders(private_postgres.url)
            done = [c for c in sent if c in state["orders"]
                    and state["orders"][c].status == "filled"]
            if len(done) == len(sent):
                break
            trader.connection.sleep(1)
        state = _orders(private_postgres.url)
    missing = [c for c in sent if c not in state["orders"]]
    not_filled = {c: state["orders"][c].status for c in sent
                  if c in state["orders"] and state["orders"][c].status != "filled"}
    assert not missing, f"commands lost across the outage: {missing[:5]}"
    assert not not_filled, f"orders left unfinished: {list(not_filled.items())[:5]}"
    assert len(state["orders"]) == len(sent), "an order was doubled"
    assert state["bought"] == state["sold"] == 10 * len(sent) // 2
