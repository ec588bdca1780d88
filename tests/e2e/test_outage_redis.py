"""Redis unreachable: the gateway keeps trading on the reference prices it has, and fails closed
(rejects orders that need a price) once they are older than the limit allows."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from tests.support.events import cid, is_
from tests.support.isolation import TestVhost
from tests.support.stack import Strategy, free_port, running_stack, test_settings

pytestmark = pytest.mark.e2e


def _short_price_life(raw: dict[str, Any]) -> None:
    raw["risk"]["defaults"]["reference_price_max_age_s"] = "3"


def test_with_redis_unreachable_orders_are_rejected_once_reference_prices_are_stale(
    database_url: str, amqp_vhost: TestVhost, run_id: str, tmp_path: Path
) -> None:
    settings = test_settings(database_url=database_url, amqp_url=amqp_vhost.url,
                             data_dir=tmp_path, edit=_short_price_life)
    with running_stack(settings, tmp_path, f"oms_test_{run_id}_redis:") as gateway, \
            Strategy(amqp_vhost.url) as trader:
        working = gateway.cache._client
        gateway.cache._client = redis.Redis(  # Redis "down": nothing listens there
            port=free_port(), socket_timeout=0.2, socket_connect_timeout=0.2,
            retry=Retry(NoBackoff(), 0))
        try:
            fresh = cid("fresh")
            trader.new_order("DEMO1", fresh, "ZVZZT", "buy", "1", "9.50")
            assert trader.wait_for(is_(fresh, "new"))  # the last known price still serves
            time.sleep(3.5)
            stale = cid("stale")
            trader.new_order("DEMO1", stale, "ZVZZT", "buy", "1", "9.50")
            rejected = trader.wait_for(is_(stale, "rejected"))
            assert rejected["reject_source"] == "risk" and "old" in rejected["text"]
            for _ in range(40):  # the next refresh (every second) notices
                if not gateway.references.available:
                    break
                time.sleep(0.25)
            assert gateway.references.available is False
        finally:
            gateway.cache._client = working
        gateway.cache.seed_reference_prices(settings.file.instruments, datetime.now(UTC),
                                            overwrite=True)
        time.sleep(1.5)  # the next refresh picks the fresh prices up
        again = cid("again")
        trader.new_order("DEMO1", again, "ZVZZT", "buy", "1", "9.50")
        assert trader.wait_for(is_(again, "new"))
