"""The strategy client (``oms.client``) against the whole running system: its commands reach
the venue simulator through the gateway, and its typed events come back."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path

import pytest

from oms.client import OrderEvent, StrategyClient
from tests.support.isolation import TestVhost

pytestmark = pytest.mark.e2e


@pytest.fixture
def oms(stack: object, amqp_vhost: TestVhost) -> Iterator[StrategyClient]:
    with StrategyClient(amqp_vhost.url, ["DEMO1", "DEMO2"]) as client:
        yield client


class Seen:
    """Every event the test has received, to wait on and look back at."""

    def __init__(self, client: StrategyClient) -> None:
        self.client = client
        self.events: list[OrderEvent] = []

    def wait_for(self, predicate: Callable[[OrderEvent], bool],
                 timeout: float = 20.0) -> OrderEvent:
        for event in self.events:
            if predicate(event):
                return event
        for event in self.client.events(idle_timeout=timeout):
            self.events.append(event)
            if predicate(event):
                return event
        raise AssertionError(
            f"no matching event within {timeout}s; saw "
            f"{[(e.cl_ord_id, e.exec_type, e.text) for e in self.events]}"
        )

    def of(self, cl_ord_id: str) -> list[str]:
        return [e.exec_type for e in self.events if e.cl_ord_id == cl_ord_id]


def is_(cl_ord_id: str, exec_type: str) -> Callable[[OrderEvent], bool]:
    return lambda e: e.cl_ord_id == cl_ord_id and e.exec_type == exec_type


def test_two_accounts_cross_on_zvzzt(oms: StrategyClient) -> None:
    seen = Seen(oms)
    buy = oms.submit("DEMO1", "ZVZZT", "buy", 100, price=Decimal("10.00"))
    seen.wait_for(is_(buy, "new"))
    sell = oms.submit("DEMO2", "ZVZZT", "sell", 100, price="10.00")
    bought = seen.wait_for(is_(buy, "fill"))
    sold = seen.wait_for(is_(sell, "fill"))
    for event in (bought, sold):
        assert event.ord_status == "filled" and event.is_terminal
        assert (event.cum_qty, event.leaves_qty) == (Decimal(100), Decimal(0))
        assert event.last_px == Decimal("10")
        assert event.transact_time is not None and event.transact_time.utcoffset() is not None
    assert seen.of(buy) == ["pending_new", "new", "fill"]
    assert bought.routing_key == "DEMO1.ZVZZT.fill" and sold.account == "DEMO2"


def test_a_marketable_aapl_order_fills_against_the_simulated_liquidity(
    oms: StrategyClient,
) -> None:
    seen = Seen(oms)
    buy = oms.submit("DEMO1", "AAPL", "buy", 100, price="190.50")
    filled = seen.wait_for(lambda e: e.cl_ord_id == buy and e.ord_status == "filled")
    assert filled.cum_qty == 100 and filled.avg_px is not None
    assert Decimal("190") < filled.avg_px <= Decimal("190.50")
    market = oms.submit("DEMO1", "MSFT", "sell", 50)
    sold = seen.wait_for(lambda e: e.cl_ord_id == market and e.ord_status == "filled")
    assert sold.last_px is not None and sold.last_px < Decimal("420")


def test_replace_then_cancel_a_resting_order_through_the_client(oms: StrategyClient) -> None:
    seen = Seen(oms)
    order = oms.submit("DEMO1", "AAPL", "buy", 100, price="185.00")
    seen.wait_for(is_(order, "new"))
    replace = oms.replace("DEMO1", order, quantity=200, price="185.50")
    replaced = seen.wait_for(is_(replace, "replaced"))
    assert replaced.orig_cl_ord_id == order and replaced.ord_status == "new"
    assert (replaced.quantity, replaced.price) == (Decimal(200), Decimal("185.50"))
    cancel = oms.cancel("DEMO1", replace, symbol="AAPL")
    canceled = seen.wait_for(is_(cancel, "canceled"))
    assert canceled.orig_cl_ord_id == replace and canceled.order_id == replaced.order_id
    assert canceled.leaves_qty == 0 and canceled.is_terminal


def test_risk_rejects_reach_the_strategy_with_their_reason(oms: StrategyClient) -> None:
    seen = Seen(oms)
    far = oms.submit("DEMO2", "MSFT", "buy", 10, price="500.00")
    big = oms.submit("DEMO2", "AAPL", "sell", 10_001, price="190.00")
    for cl_ord_id, words in ((far, "collar"), (big, "10001")):
        rejected = seen.wait_for(is_(cl_ord_id, "rejected"))
        assert rejected.is_reject and rejected.reject_source == "risk"
        assert rejected.text is not None and words in rejected.text


def test_the_example_strategy_runs_to_its_end(stack: object, amqp_vhost: TestVhost) -> None:
    example = Path(__file__).resolve().parents[2] / "examples" / "simple_strategy.py"
    result = subprocess.run([sys.executable, str(example), "--amqp-url", amqp_vhost.url],
                            capture_output=True, text=True, timeout=180, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "replaced" in result.stdout and "300@10" in result.stdout
    assert "collar" in result.stdout and result.stdout.rstrip().endswith("done")
