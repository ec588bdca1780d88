"""FIX clients built on quickfix trade through the gateway, FIX 4.4 and FIX 4.2.

The client validates every message against quickfix's data dictionary for its version, so a
report the gateway sends with a missing or ill-formed field fails the test (checked after each).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from oms.settings import Settings
from tests.support.client_stack import (
    PASSWORD,
    client_settings,
    gateway_running,
    port_of,
    venue_running,
)
from tests.support.isolation import TestVhost
from tests.support.quickfix_client import QuickfixClient, QuickfixInitiator
from tests.support.stack import Strategy

pytestmark = pytest.mark.e2e


def cid(label: str) -> str:
    return f"{label}-{uuid.uuid4().hex[:8]}"


@pytest.fixture(scope="module")
def settings(database_url: str, amqp_vhost: TestVhost,
             tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return client_settings(database_url, amqp_vhost.url, tmp_path_factory.mktemp("qf-clients"))


@pytest.fixture(scope="module")
def gateway(settings: Settings, run_id: str) -> Iterator[Any]:
    with venue_running(settings, Path(settings.file.engine.data_dir)), \
            gateway_running(settings, f"oms_test_{run_id}_qfc:") as gw:
        yield gw


@pytest.fixture
def log_on(gateway: Any, settings: Settings,
           tmp_path: Path) -> Iterator[Callable[..., QuickfixClient]]:
    initiators: list[QuickfixInitiator] = []

    def make(session: str = "CLIENT1", begin_string: str = "FIX.4.4",
             password: str | None = None) -> QuickfixClient:
        initiator = QuickfixInitiator(begin_string, session, port_of(settings, session),
                                      tmp_path / session, password=password)
        initiators.append(initiator)
        return initiator.client

    yield make
    for initiator in initiators:
        initiator.stop()
    for initiator in initiators:
        assert initiator.client.session_rejects == [], "the gateway sent an invalid message"


@pytest.fixture
def strategy(gateway: Any, amqp_vhost: TestVhost) -> Iterator[Strategy]:
    s = Strategy(amqp_vhost.url)
    try:
        yield s
    finally:
        s.close()


def order(cl_ord_id: str, side: str, qty: str, price: str, **extra: str) -> dict[int, str]:
    fields = {11: cl_ord_id, 21: "1", 55: "ZVZZT", 54: side, 38: qty, 40: "2", 44: price}
    return fields | {int(tag[1:]): value for tag, value in extra.items()}


def test_fix44_client_is_filled_against_a_strategy_and_every_report_validates(
    log_on: Callable[..., QuickfixClient], strategy: Strategy,
) -> None:
    client = log_on("CLIENT1")
    sell, buy = cid("qfsell"), cid("amqpbuy")
    client.send("D", order(sell, "2", "60", "10.10"))
    pending, new = client.reports_for(sell, 2)
    assert (pending[150], new[150]) == ("A", "0")
    strategy.new_order("DEMO1", buy, "ZVZZT", "buy", "60", "10.10")
    fill = client.wait_for(lambda m: m.get(11) == sell and m[150] == "F")
    assert (fill[39], fill[32], fill[151]) == ("2", "60", "0")
    assert Decimal(fill[31]) == Decimal("10.10")
    strategy.wait_for(lambda e: e["cl_ord_id"] == buy and e["exec_type"] == "fill")


def test_fix44_client_with_the_right_password_trades(
    log_on: Callable[..., QuickfixClient],
) -> None:
    client = log_on("SECURE", password=PASSWORD)
    placed = cid("secure")
    client.send("D", order(placed, "1", "5", "9.50"))
    assert [m[150] for m in client.reports_for(placed, 2)] == ["A", "0"]


def test_fix42_client_places_asks_status_and_cancels(
    log_on: Callable[..., QuickfixClient],
) -> None:
    client = log_on("CLIENT42", "FIX.4.2")
    placed, cancel = cid("f42"), cid("f42x")
    client.send("D", order(placed, "1", "40", "9.40"))
    pending, new = client.reports_for(placed, 2)
    assert [(m[20], m[150], m[39]) for m in (pending, new)] == [("0", "A", "A"), ("0", "0", "0")]
    assert new[1] == "CLIENT2"
    client.send("H", {11: placed, 55: "ZVZZT", 54: "1"})
    status = client.wait_for(lambda m: m.get(11) == placed)
    assert (status[20], status[150], status[39], status[151]) == ("3", "0", "0", "40")
    client.send("F", {11: cancel, 41: placed, 55: "ZVZZT", 54: "1", 38: "40"})
    pending_cancel, canceled = client.reports_for(cancel, 2)
    assert (canceled[20], canceled[150], canceled[39], canceled[41]) == ("0", "4", "4", placed)
    assert pending_cancel[150] == "6"


def test_fix42_client_is_filled_with_exec_type_2(
    log_on: Callable[..., QuickfixClient], strategy: Strategy,
) -> None:
    client = log_on("CLIENT42", "FIX.4.2")
    buy, sell = cid("f42buy"), cid("amqpsell")
    client.send("D", order(buy, "1", "25", "9.95"))
    client.reports_for(buy, 2)
    strategy.new_order("DEMO2", sell, "ZVZZT", "sell", "25", "9.95")
    fill = client.wait_for(lambda m: m.get(11) == buy and m[150] in ("1", "2"))
    assert (fill[20], fill[150], fill[39], fill[32], fill[14]) == ("0", "2", "2", "25", "25")


def test_fix42_replace_of_an_unknown_order_gets_an_order_cancel_reject(
    log_on: Callable[..., QuickfixClient],
) -> None:
    client = log_on("CLIENT42", "FIX.4.2")
    replace = cid("f42r")
    client.send("G", order(replace, "1", "10", "9.00", t41="not-an-order"))
    reject = client.wait_for(lambda m: m.get(11) == replace)
    assert (reject[35], reject[434], reject[102], reject[39]) == ("9", "2", "1", "8")


def test_fix42_status_of_an_unknown_order_is_rejected_unknown(
    log_on: Callable[..., QuickfixClient],
) -> None:
    client = log_on("CLIENT42", "FIX.4.2")
    client.send("H", {11: "nothing-here", 55: "ZVZZT", 54: "2"})
    status = client.wait_for(lambda m: m.get(11) == "nothing-here")
    assert (status[20], status[150], status[39], status[58]) == ("3", "8", "8", "unknown order")
