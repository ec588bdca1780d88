"""A gateway restart in the middle of a FIX client's session: sequence numbers continue, reports
owed while the client was away are delivered at its next logon (PossResend), and an order that
quickfix had taken but the core had not committed is asked for again and executed once.

The client is the independent one (simplefix over a raw socket): it keeps its own sequence
numbers across the restart and answers the gateway's ResendRequest as a FIX engine must.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from oms.bus.topology import declare_topology_at
from oms.engine.inputs import Stop
from oms.settings import Settings
from tests.support.client_stack import client_settings, gateway_running, port_of, venue_running
from tests.support.isolation import TestVhost
from tests.support.raw_fix import RawFixClient, now_text
from tests.support.stack import Strategy

pytestmark = pytest.mark.e2e


def cid(label: str) -> str:
    return f"{label}-{uuid.uuid4().hex[:8]}"


@pytest.fixture(scope="module")
def settings(database_url: str, amqp_vhost: TestVhost,
             tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return client_settings(database_url, amqp_vhost.url, tmp_path_factory.mktemp("restart"))


@pytest.fixture(scope="module")
def venue(settings: Settings) -> Iterator[object]:
    with venue_running(settings, Path(settings.file.engine.data_dir)) as sim:
        yield sim


@pytest.fixture
def prefix(run_id: str) -> str:
    return f"oms_test_{run_id}_restart:"


@pytest.fixture
def strategy(amqp_vhost: TestVhost) -> Iterator[Strategy]:
    declare_topology_at(amqp_vhost.url)  # the strategy outlives each gateway of the test
    s = Strategy(amqp_vhost.url)
    try:
        yield s
    finally:
        s.close()


def new_order(cl_ord_id: str, side: str, price: str) -> list[tuple[int, str]]:
    return [(11, cl_ord_id), (55, "ZVZZT"), (54, side), (60, now_text()), (38, "100"),
            (40, "2"), (44, price)]


def wait_until_the_core_has_stopped(timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while any(t.name == "oms-core" for t in threading.enumerate()):
        assert time.monotonic() < deadline, "the core thread did not stop"
        time.sleep(0.05)


def test_reports_owed_while_the_client_was_away_survive_a_restart_and_sequences_continue(
    settings: Settings, venue: object, prefix: str, strategy: Strategy,
) -> None:
    client = RawFixClient(port_of(settings, "CLIENT1"))
    buy, sell = cid("away"), cid("cross")
    with gateway_running(settings, prefix):
        assert client.logon(reset=True)[35] == "A"
        client.send("D", new_order(buy, "1", "9.20"))
        client.reports_for(buy, 2)
        client.drop()
        strategy.new_order("DEMO2", sell, "ZVZZT", "sell", "100", "9.20")
        strategy.wait_for(lambda e: e["cl_ord_id"] == buy and e["exec_type"] == "fill")
    expected_from_gateway, next_to_send = client.next_in, client.next_out
    with gateway_running(settings, prefix):
        logon = client.logon()  # no reset: both sides carry on from where they were
        assert logon[35] == "A" and int(logon[34]) == expected_from_gateway
        assert next_to_send > 2
        fill = client.wait_for(lambda m: m.get(11) == buy and m[150] == "F")
        assert (fill[39], fill[32], fill.get(97)) == ("2", "100", "Y")
        client.logout()
    assert client.errors == []


def committed_watermark(db: Engine, session: str) -> int | None:
    with db.connect() as conn:
        value = conn.execute(text(
            "SELECT last_inbound_seq FROM fix_session_watermarks WHERE session_id = :s"),
            {"s": f"client:{session}"}).scalar()
    return None if value is None else int(value)


def wait_for_watermark(db: Engine, session: str, seq: int, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while committed_watermark(db, session) != seq:
        assert time.monotonic() < deadline, f"watermark of {session} never reached {seq}"
        time.sleep(0.05)


def test_an_order_taken_but_not_committed_is_asked_for_again_and_executed_once(
    settings: Settings, venue: object, prefix: str, strategy: Strategy, db_engine: Engine,
) -> None:
    client = RawFixClient(port_of(settings, "CLIENT1"))
    lost = cid("inflight")
    with gateway_running(settings, prefix) as gateway:
        assert client.logon(reset=True)[35] == "A"
        wait_for_watermark(db_engine, "CLIENT1", 1)  # the logon is committed
        gateway.core.put(Stop("test: the core stops before the next batch commits"))
        wait_until_the_core_has_stopped()
        seq = client.send("D", new_order(lost, "1", "9.21"))
        client.send("0", [])  # quickfix has taken the order: it answers nothing, rejects nothing
        client.drop()
    with gateway_running(settings, prefix):
        assert client.logon()[35] == "A"
        resend = client.wait_admin(lambda m: m[35] == "2")
        assert int(resend[7]) == seq
        pending, new = client.reports_for(lost, 2)
        assert (pending[150], new[150]) == ("A", "0")
        placed = strategy.wait_for(lambda e: e["cl_ord_id"] == lost and e["exec_type"] == "new")
        client.logout()
    with gateway_running(settings, prefix):  # once more: nothing is asked for or done twice
        assert client.logon()[35] == "A"
        client.send("H", [(11, lost), (55, "ZVZZT"), (54, "1")])
        status = client.wait_for(lambda m: m.get(11) == lost and m[150] == "I")
        assert (status[37], status[39]) == (placed["order_id"], "0")
        client.logout()
    created = [e for e in strategy.events_of(lost) if e["exec_type"] == "pending_new"]
    assert len(created) == 1
    assert client.errors == []


def test_a_sequence_reset_the_core_cannot_record_is_refused_and_accepted_later(
    settings: Settings, venue: object, prefix: str, strategy: Strategy,
) -> None:
    client = RawFixClient(port_of(settings, "CLIENT1"))
    placed = cid("afterreset")
    with gateway_running(settings, prefix) as gateway:
        gateway.core.put(Stop("test: the core stops; the reset cannot be committed"))
        wait_until_the_core_has_stopped()
        refused = client.logon(reset=True)
        assert refused[35] == "5" and "could not record the sequence reset" in refused[58]
        client.drop()
    with gateway_running(settings, prefix):
        assert client.logon(reset=True)[35] == "A"
        client.send("D", new_order(placed, "1", "9.23"))
        pending, new = client.reports_for(placed, 2)
        assert (pending[150], new[150]) == ("A", "0")
        client.logout()
    assert client.errors == []
