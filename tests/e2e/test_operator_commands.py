"""Operators act on the running gateway through the durable channel; every action comes back
as events that say it was an operator, who, and why."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import Engine, text

from oms.domain.risk import RiskLimits
from oms.store.operator_channel import issue_command
from tests.support.events import cid, is_
from tests.support.stack import Strategy

pytestmark = pytest.mark.e2e




def operator(db_engine: Engine, kind: str, payload: dict[str, Any], reason: str) -> int:
    with db_engine.begin() as conn:
        return issue_command(conn, kind=kind, payload=payload, issued_by="alice", reason=reason,
                             at=datetime.now(UTC), target=str(payload))


def result_of(db_engine: Engine, command_id: int, trader: Strategy) -> str:
    for _ in range(80):
        with db_engine.connect() as conn:
            row = conn.execute(text("SELECT result FROM operator_commands WHERE id = :i"),
                               {"i": command_id}).first()
        if row is not None and row.result is not None:
            return str(row.result)
        trader.connection.sleep(0.25)
    raise AssertionError(f"operator command {command_id} was never processed")


def test_an_operator_cancels_one_order_and_the_event_names_them(
    trader: Strategy, db_engine: Engine
) -> None:
    order = cid("opcx")
    trader.new_order("DEMO1", order, "ZVZZT", "buy", "10", "9.10")
    new = trader.wait_for(is_(order, "new"))
    command = operator(db_engine, "cancel_order", {"order_id": new["order_id"]}, "fat finger")
    canceled = trader.wait_for(lambda e: e["order_id"] == new["order_id"]
                               and e["exec_type"] == "canceled")
    assert "alice" in canceled["text"] and "fat finger" in canceled["text"]
    assert "cancel sent" in result_of(db_engine, command, trader)


def test_a_kill_switch_cancels_open_orders_rejects_new_ones_until_cleared(
    trader: Strategy, db_engine: Engine
) -> None:
    resting = cid("ks-rest")
    trader.new_order("DEMO2", resting, "ZVZZT", "sell", "10", "10.90")
    trader.wait_for(is_(resting, "new"))
    operator(db_engine, "kill_switch_trip", {"scope": "account", "key": "DEMO2"}, "runaway algo")
    canceled = trader.wait_for(
        lambda e: e["orig_cl_ord_id"] == resting and e["exec_type"] == "canceled")
    assert "kill switch" in canceled["text"] and "runaway algo" in canceled["text"]
    blocked = cid("ks-new")
    trader.new_order("DEMO2", blocked, "ZVZZT", "sell", "10", "10.90")
    rejected = trader.wait_for(is_(blocked, "rejected"))
    assert rejected["reject_source"] == "risk" and "kill switch" in rejected["text"]
    other = cid("ks-other")
    trader.new_order("DEMO1", other, "ZVZZT", "buy", "10", "9.20")
    trader.wait_for(is_(other, "new"))  # another account still trades
    clear = operator(db_engine, "kill_switch_clear", {"scope": "account", "key": "DEMO2"},
                     "algo fixed")
    assert "cleared by alice" in result_of(db_engine, clear, trader)
    again = cid("ks-again")
    trader.new_order("DEMO2", again, "ZVZZT", "sell", "10", "10.90")
    trader.wait_for(is_(again, "new"))


def test_limits_edited_by_an_operator_apply_without_a_restart(
    trader: Strategy, db_engine: Engine
) -> None:
    with db_engine.begin() as conn:
        conn.execute(
            text("INSERT INTO risk_limits (account, limits, version, updated_by, updated_at) "
                 "VALUES ('DEMO1', CAST(:l AS jsonb), 1, 'alice', now()) "
                 "ON CONFLICT (account) DO UPDATE SET limits = EXCLUDED.limits"),
            {"l": json.dumps(RiskLimits(max_order_qty=Decimal("50")).to_mapping())},
        )
    result = result_of(db_engine, operator(db_engine, "limits_changed", {"account": "DEMO1"},
                                           "tighten"), trader)
    assert "reloaded" in result
    big = cid("lim")
    trader.new_order("DEMO1", big, "ZVZZT", "buy", "60", "9.00")
    rejected = trader.wait_for(is_(big, "rejected"))
    assert "exceeds max 50" in rejected["text"]
    with db_engine.begin() as conn:
        conn.execute(text("DELETE FROM risk_limits WHERE account = 'DEMO1'"))
    operator(db_engine, "limits_changed", {"account": "DEMO1"}, "restore")


def test_an_operator_closes_an_order_confirmed_by_phone_and_nothing_is_sent(
    trader: Strategy, db_engine: Engine
) -> None:
    order = cid("phone")
    trader.new_order("DEMO1", order, "ZVZZT", "buy", "10", "9.05")
    new = trader.wait_for(is_(order, "new"))
    command = operator(db_engine, "close_order",
                       {"order_id": new["order_id"], "status": "canceled"},
                       "venue confirmed the cancel by phone")
    closed = trader.wait_for(lambda e: e["order_id"] == new["order_id"]
                             and e["exec_type"] == "canceled")
    assert "alice" in closed["text"] and "by phone" in closed["text"]
    assert "closed as canceled" in result_of(db_engine, command, trader)


def test_a_malformed_operator_command_is_refused_with_the_reason_not_left_pending(
    trader: Strategy, db_engine: Engine
) -> None:
    command = operator(db_engine, "kill_switch_trip", {"key": "DEMO1"}, "no scope given")
    assert "refused: malformed kill_switch_trip" in result_of(db_engine, command, trader)
