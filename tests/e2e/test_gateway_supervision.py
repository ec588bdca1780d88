"""A gateway whose critical thread dies says so, stops being ready and alive, stops, and exits
with status 1 (for its supervisor to start a fresh copy). The fault is injected into the real
gateway (venue simulator, PostgreSQL, RabbitMQ, Redis): the core thread's next take raises."""

from __future__ import annotations

import dataclasses
import os
import signal
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from oms.gateway import Gateway, run_gateway
from tests.support.isolation import TestVhost
from tests.support.stack import test_settings
from tests.support.waits import eventually

pytestmark = pytest.mark.e2e


def _kill_the_core(gateway: Gateway) -> None:
    def take(timeout: float) -> list[object]:
        raise RuntimeError("injected: the core thread dies")

    gateway.core._take = take  # type: ignore[method-assign]


@pytest.fixture
def venue(database_url: str, amqp_vhost: TestVhost, tmp_path: Path,
          run_id: str) -> Iterator[Any]:
    from fix_gateway.venue_sim import VenueSimulator

    settings = dataclasses.replace(
        test_settings(database_url=database_url, amqp_url=amqp_vhost.url, data_dir=tmp_path),
        redis_prefix=f"oms_test_{run_id}_supervision:")
    simulator = VenueSimulator(settings, "SIM", data_dir=tmp_path / "venue-sim")
    simulator.start()
    try:
        yield settings
    finally:
        simulator.stop()


def test_a_dead_core_thread_makes_the_gateway_not_ready_not_alive_and_exit_1(
    venue: Any, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level("CRITICAL")
    seen: dict[str, Any] = {}
    start = Gateway.start

    def start_then_kill(self: Gateway) -> None:
        start(self)
        seen["gateway"] = self
        threading.Thread(target=inject, args=(self,), daemon=True).start()

    def inject(gateway: Gateway) -> None:
        try:
            assert gateway.wait_until_ready(30)
            seen["ready_before"] = gateway._ready()[0]
            _kill_the_core(gateway)
            seen["ready_after"] = eventually(lambda: gateway._ready()[1]["fatal"])
            seen["alive_after"] = gateway._alive()
        finally:  # a gateway that does not stop by itself is stopped as an operator would
            if not gateway.stop_event.wait(30):
                os.kill(os.getpid(), signal.SIGTERM)

    monkeypatch.setattr(Gateway, "start", start_then_kill)
    handlers = signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)
    try:
        status = run_gateway(venue)
    finally:
        signal.signal(signal.SIGINT, handlers[0])
        signal.signal(signal.SIGTERM, handlers[1])
    assert status == 1
    assert seen["ready_before"] is True
    assert seen["ready_after"].startswith("critical thread oms-core died: RuntimeError:"
                                          " injected: the core thread dies")
    alive, detail = seen["alive_after"]
    assert alive is False and detail["fatal"] == seen["ready_after"]
    assert "stopping, exit status 1" in caplog.text
    assert not seen["gateway"].lock.held  # stopped cleanly: another copy may start
