"""Garbled, broken and out-of-sequence FIX from a client session: nothing crashes the gateway,
the session rules of FIX apply, and the client can trade again afterwards."""

from __future__ import annotations

import urllib.request
import uuid
from collections.abc import Iterator
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
from tests.support.waits import dump_threads

pytestmark = pytest.mark.e2e

GARBAGE = [
    b"\x00\x01\x02\xff" * 40,
    b"8=FIX.4.4\x019=5\x0135=D\x0110=000\x01",                      # wrong length and checksum
    b"8=FIX.4.4\x019=99999\x0135=D\x01",                            # absurd body length
    "8=FIX.4.4\x019=20\x0135=D\x0111=\u00e9\u00e9\x0110=123\x01".encode(),  # non-ASCII
    b"=\x01=\x01=\x01\x01\x01",
    b"GET / HTTP/1.1\r\nHost: x\r\n\r\n",
]


@pytest.fixture(scope="module")
def settings(database_url: str, amqp_vhost: TestVhost,
             tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return client_settings(database_url, amqp_vhost.url, tmp_path_factory.mktemp("hostile"))


@pytest.fixture(scope="module")
def gateway(settings: Settings, run_id: str) -> Iterator[Any]:
    with venue_running(settings, Path(settings.file.engine.data_dir)), \
            gateway_running(settings, f"oms_test_{run_id}_hostile:") as gw:
        yield gw


def _logged_on(settings: Settings) -> RawFixClient:
    client = RawFixClient(port_of(settings, "CLIENT1"))
    answer = client.logon(reset=True)
    assert answer[35] == "A", answer
    return client


def _order_is_acknowledged(client: RawFixClient) -> None:
    cl_ord_id = f"ok-{uuid.uuid4().hex[:8]}"
    client.send("D", [(11, cl_ord_id), (55, "ZVZZT"), (54, "1"), (60, now_text()),
                      (38, "1"), (40, "2"), (44, "9.00")])
    report = client.wait_for(lambda m: m.get(11) == cl_ord_id and m.get(150) == "0")
    assert report[39] == "0"


def _healthy(gateway: Any) -> None:
    port = gateway.health.port
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5) as r:
            assert r.status == 200
    except OSError:
        dump_threads("/healthz did not answer")
        raise


@pytest.mark.parametrize("garbage", GARBAGE, ids=range(len(GARBAGE)))
def test_garbage_on_a_client_session_does_not_hurt_the_gateway(
    gateway: Any, settings: Settings, garbage: bytes
) -> None:
    client = _logged_on(settings)
    try:
        client.send_raw(garbage)
    finally:
        client.drop()
    _healthy(gateway)
    again = _logged_on(settings)  # the client can log on and trade again
    try:
        _order_is_acknowledged(again)
    finally:
        again.drop()


def test_a_sequence_number_too_high_makes_the_gateway_ask_for_a_resend(
    gateway: Any, settings: Settings
) -> None:
    client = _logged_on(settings)
    try:
        client.next_out += 5  # five messages "lost" on the way
        client.send("0", [])
        request = client.wait_admin(lambda m: m[35] == "2")
        assert int(request[7]) == client.next_out - 6  # BeginSeqNo: the first missing one
    finally:
        client.drop()
    _healthy(gateway)


def test_a_sequence_number_too_low_without_poss_dup_ends_the_session(
    gateway: Any, settings: Settings
) -> None:
    client = _logged_on(settings)
    try:
        _order_is_acknowledged(client)
        client.next_out = 1  # replays an old sequence number as if new
        client.send("0", [])
        logout = client.wait_admin(lambda m: m[35] == "5")
        assert "MsgSeqNum too low" in logout.get(58, "")
    finally:
        client.drop()
    _healthy(gateway)
