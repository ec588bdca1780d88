"""The running stack for end-to-end tests: venue simulator + gateway on loopback."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.isolation import TestVhost
from tests.support.stack import Strategy, test_settings


@pytest.fixture(scope="module")
def stack(
    database_url: str, amqp_vhost: TestVhost, run_id: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[object]:
    from fix_gateway.venue_sim import VenueSimulator
    from oms.gateway import Gateway

    data_dir: Path = tmp_path_factory.mktemp("stack")
    settings = test_settings(database_url=database_url, amqp_url=amqp_vhost.url,
                             data_dir=data_dir)
    venue = VenueSimulator(settings, "SIM", data_dir=data_dir / "venue-sim")
    venue.start()
    gateway = Gateway(settings, redis_prefix=f"oms_test_{run_id}:")
    gateway.start()
    try:
        assert gateway.wait_until_ready(30), "gateway not ready: venue or broker not connected"
        yield gateway
    finally:
        gateway.stop()
        venue.stop()


@pytest.fixture
def trader(stack: object, amqp_vhost: TestVhost) -> Iterator[Strategy]:
    s = Strategy(amqp_vhost.url)
    try:
        yield s
    finally:
        s.close()
