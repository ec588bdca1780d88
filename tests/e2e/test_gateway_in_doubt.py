"""An order committed but never confirmed sent is in doubt: after the next logon the gateway
asks the venue, and resolves it by the venue's answer; it never guesses."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pytest

from tests.support.isolation import TestVhost
from tests.support.stack import Strategy, test_settings

pytestmark = pytest.mark.e2e


def test_an_order_lost_between_commit_and_send_is_rejected_after_the_status_request(
    database_url: str, amqp_vhost: TestVhost, run_id: str, tmp_path: Path
) -> None:
    from fix_gateway.venue_sim import VenueSimulator
    from oms.gateway import Gateway

    settings = test_settings(database_url=database_url, amqp_url=amqp_vhost.url,
                             data_dir=tmp_path)
    venue = VenueSimulator(settings, "SIM", data_dir=tmp_path / "venue-sim")
    venue.start()
    prefix = f"oms_test_{run_id}_doubt:"
    try:
        first = Gateway(settings, redis_prefix=prefix)
        real_send = first.sender.send

        def lose_new_orders(v: str, msg_type: str, body: dict[int, str]) -> bool:
            return True if msg_type == "D" else real_send(v, msg_type, body)  # "sent", never was

        first.sender.send = lose_new_orders  # type: ignore[method-assign]
        first.start()
        assert first.wait_until_ready(30)
        lost = f"lost-{uuid.uuid4().hex[:8]}"
        with Strategy(amqp_vhost.url) as trader:
            trader.new_order("DEMO1", lost, "ZVZZT", "buy", "10", "10.00")
            assert trader.wait_for(lambda e: e["cl_ord_id"] == lost)["exec_type"] == "pending_new"
            first.stop()  # the process goes away with the order in doubt

            second = Gateway(settings, redis_prefix=prefix)
            second.start()
            try:
                resolved: Any = trader.wait_for(
                    lambda e: e["cl_ord_id"] == lost and e["exec_type"] != "pending_new")
            finally:
                second.stop()
        assert resolved["exec_type"] == "rejected" and resolved["reject_source"] == "venue"
        assert "unknown order" in resolved["text"]
    finally:
        venue.stop()
