"""Venues that differ from the default: a FIX 4.2 venue, a venue that rejects, a venue that
is down, and a broker connection dropped under the gateway."""

from __future__ import annotations

import subprocess
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from fix_gateway.venue_sim import Behaviours
from tests.support.events import cid, is_
from tests.support.isolation import TestVhost
from tests.support.stack import Strategy, running_stack, test_settings

pytestmark = pytest.mark.e2e




def _stack(database_url: str, vhost: TestVhost, tmp: Path, prefix: str, *,
           edit: Any = None, behaviours: Behaviours | None = None) -> Any:
    settings = test_settings(database_url=database_url, amqp_url=vhost.url, data_dir=tmp,
                             edit=edit)
    return running_stack(settings, tmp, prefix, behaviours)


def _fix42(raw: dict[str, Any]) -> None:
    raw["venues"][0]["fix_version"] = "4.2"


def test_a_fix_42_venue_acknowledges_and_fills_a_cross(
    database_url: str, amqp_vhost: TestVhost, run_id: str, tmp_path: Path
) -> None:
    with _stack(database_url, amqp_vhost, tmp_path, f"oms_test_{run_id}_42:", edit=_fix42), \
            Strategy(amqp_vhost.url) as trader:
        buy, sell = cid("b42"), cid("s42")
        trader.new_order("DEMO1", buy, "ZVZZT", "buy", "100", "10.00")
        trader.wait_for(is_(buy, "new"))
        trader.new_order("DEMO2", sell, "ZVZZT", "sell", "60", "10.00")
        partial = trader.wait_for(is_(buy, "partial_fill"))
        assert Decimal(partial["cum_qty"]) == 60 and Decimal(partial["leaves_qty"]) == 40
        assert trader.wait_for(is_(sell, "fill"))["ord_status"] == "filled"


def test_a_venue_reject_reaches_the_strategy_with_the_venue_text(
    database_url: str, amqp_vhost: TestVhost, run_id: str, tmp_path: Path
) -> None:
    with _stack(database_url, amqp_vhost, tmp_path, f"oms_test_{run_id}_rej:",
                behaviours=Behaviours(reject_rate=1.0)), Strategy(amqp_vhost.url) as trader:
        order = cid("vrej")
        trader.new_order("DEMO1", order, "ZVZZT", "buy", "10", "10.00")
        rejected = trader.wait_for(is_(order, "rejected"))
        assert rejected["reject_source"] == "venue" and rejected["text"]
        assert rejected["ord_status"] == "rejected"


def test_orders_for_a_venue_that_is_down_are_rejected_with_that_reason(
    database_url: str, amqp_vhost: TestVhost, run_id: str, tmp_path: Path
) -> None:
    from oms.gateway import Gateway

    settings = test_settings(database_url=database_url, amqp_url=amqp_vhost.url,
                             data_dir=tmp_path)  # nothing listens on the venue's port
    gateway = Gateway(settings, redis_prefix=f"oms_test_{run_id}_down:")
    gateway.start()
    try:
        assert gateway.intake.wait_until_consuming(30)
        with Strategy(amqp_vhost.url) as trader:
            order = cid("down")
            trader.new_order("DEMO1", order, "ZVZZT", "buy", "10", "10.00")
            rejected = trader.wait_for(is_(order, "rejected"))
            assert rejected["reject_source"] == "venue"
            assert rejected["text"] == "venue SIM is not connected"
    finally:
        gateway.stop()


def test_the_broker_connection_dropped_and_restored_loses_no_order_or_event(
    database_url: str, amqp_vhost: TestVhost, run_id: str, tmp_path: Path
) -> None:
    with _stack(database_url, amqp_vhost, tmp_path, f"oms_test_{run_id}_amqp:") as gateway:
        before = gateway.intake.connections_made
        subprocess.run(
            ["rabbitmqctl", "-q", "close_all_connections", "--vhost", amqp_vhost.name,
             "test: broker connection dropped"], check=True, capture_output=True, timeout=60,
        )
        with Strategy(amqp_vhost.url) as trader:
            buy, sell = cid("ab"), cid("as")
            trader.new_order("DEMO1", buy, "ZVZZT", "buy", "10", "10.00")
            trader.new_order("DEMO2", sell, "ZVZZT", "sell", "10", "10.00")
            assert trader.wait_for(is_(buy, "fill"), timeout=60)["ord_status"] == "filled"
            assert trader.wait_for(is_(sell, "fill"), timeout=60)["ord_status"] == "filled"
        assert gateway.intake.connections_made > before


def _slow_venue(raw: dict[str, Any]) -> None:
    raw["venues"][0]["max_messages_per_s"] = 2
    raw["venues"][0]["rate_limit_hold_ms"] = 0


def test_orders_over_the_venue_outbound_rate_are_rejected_with_the_limit(
    database_url: str, amqp_vhost: TestVhost, run_id: str, tmp_path: Path
) -> None:
    with _stack(database_url, amqp_vhost, tmp_path, f"oms_test_{run_id}_rate:",
                edit=_slow_venue), Strategy(amqp_vhost.url) as trader:
        orders = [cid(f"rate{i}") for i in range(6)]
        for order in orders:
            trader.new_order("DEMO1", order, "ZVZZT", "buy", "1", "9.00")
        outcomes = [trader.wait_for(lambda e, o=o: e["cl_ord_id"] == o
                                    and e["exec_type"] in ("new", "rejected")) for o in orders]
        rejected = [e for e in outcomes if e["exec_type"] == "rejected"]
        assert rejected, "a burst over 2 msg/s with no hold must be throttled"
        assert all("outbound rate limit of venue SIM" in e["text"] for e in rejected)
        assert all(e["reject_source"] == "venue" for e in rejected)


def _fast_reconnect(raw: dict[str, Any]) -> None:
    raw["venues"][0]["reconnect_s"] = 1


def test_a_venue_that_drops_the_session_is_reconnected_and_reconciled(
    database_url: str, amqp_vhost: TestVhost, run_id: str, tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level("INFO", logger="oms.engine.venue_reports")
    with _stack(database_url, amqp_vhost, tmp_path, f"oms_test_{run_id}_drop:",
                edit=_fast_reconnect, behaviours=Behaviours(disconnect_after_messages=3)) \
            as gateway, Strategy(amqp_vhost.url) as trader:
        first = [cid(f"drop{i}") for i in range(3)]
        for order in first:
            trader.new_order("DEMO1", order, "ZVZZT", "buy", "1", "9.00")
        for order in first:  # each answered: acknowledged, or reconciled after the drop
            answer = trader.wait_for(lambda e, o=order: e["cl_ord_id"] == o
                                     and e["exec_type"] in ("new", "rejected"), timeout=30)
            assert answer["exec_type"] == "new"
        assert gateway.wait_until_ready(30), "the venue session did not come back"
        later = cid("after")
        trader.new_order("DEMO1", later, "ZVZZT", "buy", "1", "9.00")
        assert trader.wait_for(is_(later, "new"), timeout=30)["ord_status"] == "new"
    assert "venue SIM logged out" in caplog.text, "the venue never dropped the session"
