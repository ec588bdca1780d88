"""Cancel on disconnect: a client session configured for it has its open orders cancelled when
it drops, and the events say why; the reports of the cancels are owed and delivered at the
next logon. A session configured not to cancel on a clean Logout keeps its orders then."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from oms.settings import Settings
from tests.support.client_stack import (
    client_settings,
    gateway_running,
    port_of,
    venue_running,
)
from tests.support.isolation import TestVhost
from tests.support.raw_fix import RawFixClient, now_text
from tests.support.stack import Strategy

pytestmark = pytest.mark.e2e


def cid(label: str) -> str:
    return f"{label}-{uuid.uuid4().hex[:8]}"


@pytest.fixture(scope="module")
def settings(database_url: str, amqp_vhost: TestVhost,
             tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return client_settings(database_url, amqp_vhost.url, tmp_path_factory.mktemp("cod"))


@pytest.fixture(scope="module")
def gateway(settings: Settings, run_id: str) -> Iterator[Any]:
    with venue_running(settings, Path(settings.file.engine.data_dir)), \
            gateway_running(settings, f"oms_test_{run_id}_cod:") as gw:
        yield gw


@pytest.fixture
def connect(gateway: Any, settings: Settings) -> Iterator[Callable[[str], RawFixClient]]:
    clients: list[RawFixClient] = []

    def make(session: str) -> RawFixClient:
        client = RawFixClient(port_of(settings, session), sender=session)
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.drop()
    for client in clients:
        assert client.errors == [], client.errors


@pytest.fixture
def strategy(gateway: Any, amqp_vhost: TestVhost) -> Iterator[Strategy]:
    s = Strategy(amqp_vhost.url)
    try:
        yield s
    finally:
        s.close()


def place(client: RawFixClient, cl_ord_id: str, price: str) -> str:
    client.send("D", [(11, cl_ord_id), (55, "ZVZZT"), (54, "1"), (60, now_text()), (38, "10"),
                      (40, "2"), (44, price)])
    _pending, new = client.reports_for(cl_ord_id, 2)
    assert new[150] == "0", new
    return new[37]


def test_a_dropped_connection_cancels_the_open_orders_and_says_why(
    connect: Callable[[str], RawFixClient], strategy: Strategy,
) -> None:
    client = connect("CODCLIENT")
    assert client.logon(reset=True)[35] == "A"
    first, second = cid("cod1"), cid("cod2")
    order_ids = {place(client, first, "9.11"), place(client, second, "9.12")}
    client.drop()
    canceled = [
        strategy.wait_for(lambda e, o=o: e["order_id"] == o and e["exec_type"] == "canceled")
        for o in order_ids
    ]
    for event in canceled:
        assert event["text"] == "cancel on disconnect of session CODCLIENT"
        assert event["ord_status"] == "canceled" and event["account"] == "CLIENT4"
    assert {e["orig_cl_ord_id"] for e in canceled} == {first, second}


def test_the_reports_of_the_cancels_are_delivered_at_the_next_logon(
    connect: Callable[[str], RawFixClient], strategy: Strategy,
) -> None:
    client = connect("CODCLIENT")
    assert client.logon(reset=True)[35] == "A"
    placed = cid("cod3")
    order_id = place(client, placed, "9.13")
    client.drop()
    strategy.wait_for(lambda e: e["order_id"] == order_id and e["exec_type"] == "canceled")
    assert client.logon(reset=True)[35] == "A"
    pending = client.wait_for(lambda m: m.get(41) == placed and m[150] == "6")
    canceled = client.wait_for(lambda m: m.get(41) == placed and m[150] == "4")
    assert canceled[58] == pending[58] == "cancel on disconnect of session CODCLIENT"
    assert (canceled[37], canceled[39]) == (order_id, "4")


def test_a_clean_logout_keeps_the_orders_when_so_configured_and_a_drop_cancels_them(
    connect: Callable[[str], RawFixClient], strategy: Strategy,
) -> None:
    client = connect("CODLOGOUT")
    assert client.logon(reset=True)[35] == "A"
    placed = cid("stay")
    order_id = place(client, placed, "9.14")
    client.logout()
    assert client.logon(reset=True)[35] == "A"
    client.send("H", [(11, placed), (55, "ZVZZT"), (54, "1")])
    status = client.wait_for(lambda m: m.get(11) == placed and m[150] == "I")
    assert status[39] == "0", "the order was cancelled after a clean logout"
    client.drop()
    canceled = strategy.wait_for(
        lambda e: e["order_id"] == order_id and e["exec_type"] == "canceled")
    assert canceled["text"] == "cancel on disconnect of session CODLOGOUT"
