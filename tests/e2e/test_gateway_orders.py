"""A strategy's orders through the whole system: RabbitMQ -> gateway (risk, Postgres) -> FIX ->
venue simulator -> execution reports -> Postgres -> RabbitMQ. As an outside strategy sees it."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from tests.support.events import cid, is_
from tests.support.stack import Strategy

pytestmark = pytest.mark.e2e




def test_two_strategies_cross_on_zvzzt_and_both_are_filled(trader: Strategy) -> None:
    buy, sell = cid("buy"), cid("sell")
    trader.new_order("DEMO1", buy, "ZVZZT", "buy", "100", "10.00")
    trader.wait_for(is_(buy, "new"))
    trader.new_order("DEMO2", sell, "ZVZZT", "sell", "100", "10.00")
    bought = trader.wait_for(is_(buy, "fill"))
    sold = trader.wait_for(is_(sell, "fill"))
    for event in (bought, sold):
        assert event["ord_status"] == "filled" and Decimal(event["cum_qty"]) == 100
        assert event["leaves_qty"] == "0" and Decimal(event["last_px"]) == Decimal("10")
        assert event["venue"] == "SIM" and event["order_id"]
    assert [e["exec_type"] for e in trader.events_of(buy)] == ["pending_new", "new", "fill"]
    assert [e["seq"] for e in trader.events_of(buy)] == [1, 2, 3]
    assert bought["_routing_key"] == "DEMO1.ZVZZT.fill"


def test_a_partial_fill_then_cancel_leaves_the_filled_part(trader: Strategy) -> None:
    buy, sell, cancel = cid("pbuy"), cid("psell"), cid("pcxl")
    trader.new_order("DEMO1", buy, "ZVZZT", "buy", "100", "9.90")
    trader.wait_for(is_(buy, "new"))
    trader.new_order("DEMO2", sell, "ZVZZT", "sell", "40", "9.90")
    partial = trader.wait_for(is_(buy, "partial_fill"))
    assert (Decimal(partial["cum_qty"]), Decimal(partial["leaves_qty"])) == (40, 60)
    trader.send("DEMO1", {"type": "cancel", "cl_ord_id": cancel, "orig_cl_ord_id": buy,
                          "account": "DEMO1"})
    canceled = trader.wait_for(is_(cancel, "canceled"))
    assert canceled["orig_cl_ord_id"] == buy and canceled["ord_status"] == "canceled"
    assert (Decimal(canceled["cum_qty"]), Decimal(canceled["leaves_qty"])) == (40, 0)
    assert canceled["order_id"] == partial["order_id"]


def test_a_resting_order_is_replaced_to_a_new_price_and_quantity(trader: Strategy) -> None:
    order, replace = cid("rest"), cid("repl")
    trader.new_order("DEMO1", order, "ZVZZT", "buy", "100", "9.50")
    trader.wait_for(is_(order, "new"))
    trader.send("DEMO1", {"type": "replace", "cl_ord_id": replace, "orig_cl_ord_id": order,
                          "account": "DEMO1", "quantity": "150", "price": "9.60"})
    replaced = trader.wait_for(is_(replace, "replaced"))
    assert replaced["ord_status"] == "new" and replaced["orig_cl_ord_id"] == order
    assert Decimal(replaced["quantity"]) == 150 and Decimal(replaced["price"]) == Decimal("9.6")


def test_an_order_over_the_quantity_limit_is_rejected_by_risk(trader: Strategy) -> None:
    big = cid("big")
    trader.new_order("DEMO1", big, "ZVZZT", "buy", "10001", "10.00")
    rejected = trader.wait_for(is_(big, "rejected"))
    assert rejected["reject_source"] == "risk" and "10001" in rejected["text"]
    assert rejected["order_id"] is not None and rejected["ord_status"] == "rejected"


def test_a_price_outside_the_collar_is_rejected_by_risk(trader: Strategy) -> None:
    far = cid("far")
    trader.new_order("DEMO1", far, "ZVZZT", "buy", "100", "12.00")
    rejected = trader.wait_for(is_(far, "rejected"))
    assert rejected["reject_source"] == "risk" and "collar" in rejected["text"]


def test_an_unknown_symbol_is_rejected_by_validation(trader: Strategy) -> None:
    odd = cid("odd")
    trader.new_order("DEMO1", odd, "NOPE", "buy", "100", "10.00")
    rejected = trader.wait_for(is_(odd, "rejected"))
    assert rejected["reject_source"] == "validation" and "unknown symbol" in rejected["text"]


def test_a_repeated_cl_ord_id_is_rejected_and_never_sent_twice(trader: Strategy) -> None:
    dup = cid("dup")
    trader.new_order("DEMO1", dup, "ZVZZT", "buy", "10", "9.00")
    trader.wait_for(is_(dup, "new"))
    trader.new_order("DEMO1", dup, "ZVZZT", "buy", "10", "9.00")
    rejected = trader.wait_for(lambda e: e["cl_ord_id"] == dup and e["exec_type"] == "rejected")
    assert rejected["order_id"] is None and "duplicate" in rejected["text"]
    assert [e["exec_type"] for e in trader.events_of(dup)].count("new") == 1


def test_an_account_the_user_may_not_trade_is_rejected_for_entitlement(
    trader: Strategy,
) -> None:
    stranger = cid("who")
    trader.new_order("GHOST", stranger, "ZVZZT", "buy", "10", "10.00")
    rejected = trader.wait_for(is_(stranger, "rejected"))
    assert rejected["reject_source"] == "entitlement" and rejected["order_id"] is None
    assert "GHOST" in rejected["text"]


def test_a_cancel_for_an_unknown_order_is_cancel_rejected(trader: Strategy) -> None:
    cancel = cid("nocxl")
    trader.send("DEMO1", {"type": "cancel", "cl_ord_id": cancel, "orig_cl_ord_id": "never-sent",
                          "account": "DEMO1"})
    rejected = trader.wait_for(is_(cancel, "cancel_rejected"))
    assert rejected["order_id"] is None and "never-sent" in rejected["text"]


def test_a_body_that_is_not_a_command_is_dead_lettered_with_the_reason(
    trader: Strategy,
) -> None:
    trader.send("DEMO1", b"{not json")
    for _ in range(40):
        method, props, body = trader.channel.basic_get("oms.orders.dlq", auto_ack=True)
        if method is not None and body == b"{not json":
            assert "x-oms-reason" in (props.headers or {})
            return
        trader.connection.sleep(0.25)
    raise AssertionError("the body never reached oms.orders.dlq")


def test_metrics_count_orders_fills_rejects_and_time_each_hop(
    stack: Any, trader: Strategy
) -> None:
    buy, sell = cid("mb"), cid("ms")
    trader.new_order("DEMO1", buy, "ZVZZT", "buy", "5", "10.00")
    trader.new_order("DEMO2", sell, "ZVZZT", "sell", "5", "10.00")
    trader.wait_for(is_(sell, "fill"))
    trader.wait_for(is_(buy, "fill"))
    sample = stack.metrics.registry.get_sample_value
    assert sample("oms_orders_total", {"account": "DEMO1"}) >= 1
    assert sample("oms_fills_total", {"venue": "SIM"}) >= 2
    assert sample("oms_rejects_total", {"source": "risk"}) >= 1  # from the tests above
    for hop in ("intake_to_wire", "wire_to_event", "commit"):
        assert sample("oms_hop_latency_seconds_count", {"hop": hop}) >= 1, hop


def test_liveness_and_readiness_are_served(stack: Any) -> None:
    import json
    import urllib.request

    port = stack.health.port
    for path in ("/healthz", "/readyz"):
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5) as r:
            body = json.loads(r.read())
            assert r.status == 200 and body["ok"] is True
    assert body["venues"] == {"SIM": True} and body["amqp_consuming"] is True
