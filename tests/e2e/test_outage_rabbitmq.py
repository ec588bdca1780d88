"""RabbitMQ restarted in the middle of a burst: the gateway reconnects by itself, and no
command or event is lost (events are at-least-once: consumers drop duplicates by event_id)."""

from __future__ import annotations

import json
import os
import subprocess
import time
import uuid
from pathlib import Path

import pika
import pytest
from sqlalchemy import create_engine, text

from tests.support.isolation import TestVhost
from tests.support.stack import running_stack, test_settings

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(
        os.environ.get("OMS_TEST_DISRUPTIVE") != "1",
        reason="restarts the machine's shared RabbitMQ: runs under `make test` "
               "(OMS_TEST_DISRUPTIVE=1), not beside other test runs",
    ),
]


def _rabbitmqctl(*args: str) -> None:
    subprocess.run(["rabbitmqctl", "-q", *args], check=True, capture_output=True, timeout=120)


def _publisher(url: str) -> pika.adapters.blocking_connection.BlockingChannel:
    channel = pika.BlockingConnection(pika.URLParameters(url)).channel()
    channel.confirm_delivery()  # a strategy that must not lose orders waits for the confirm
    return channel


def _order(channel: pika.adapters.blocking_connection.BlockingChannel, account: str,
           cl_ord_id: str, side: str) -> None:
    body = {"type": "new_order", "cl_ord_id": cl_ord_id, "account": account, "symbol": "ZVZZT",
            "side": side, "order_type": "limit", "quantity": "10", "price": "10.00"}
    channel.basic_publish("oms.orders", account, json.dumps(body).encode(),
                          pika.BasicProperties(content_type="application/json", delivery_mode=2,
                                               user_id="guest"))


def test_a_broker_restart_mid_burst_loses_no_command_and_no_event(
    database_url: str, amqp_vhost: TestVhost, run_id: str, tmp_path: Path
) -> None:
    settings = test_settings(database_url=database_url, amqp_url=amqp_vhost.url,
                             data_dir=tmp_path)
    audit = f"audit-{run_id}"
    sent: list[str] = []
    with running_stack(settings, tmp_path, f"oms_test_{run_id}_mq:") as gateway:
        channel = _publisher(amqp_vhost.url)
        channel.queue_declare(audit, durable=True)  # a consumer's durable event queue
        channel.queue_bind(audit, "oms.events", "#")
        token = uuid.uuid4().hex[:6]
        for i in range(60):
            if i == 30:
                _rabbitmqctl("stop_app")
                time.sleep(1)
                _rabbitmqctl("start_app")
                _rabbitmqctl("await_startup")
                channel = _publisher(amqp_vhost.url)
            buy, sell = f"mq{token}b{i}", f"mq{token}s{i}"
            _order(channel, "DEMO1", buy, "buy")
            _order(channel, "DEMO2", sell, "sell")
            sent += [buy, sell]
        engine = create_engine(database_url)
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            with engine.connect() as conn:
                filled = conn.execute(text(
                    "SELECT count(*) FROM orders WHERE status = 'filled' AND cl_ord_id LIKE :p"),
                    {"p": f"mq{token}%"}).scalar_one()
                unpublished = conn.execute(text(
                    "SELECT count(*) FROM outbox WHERE published_at IS NULL")).scalar_one()
            if filled == len(sent) and unpublished == 0:
                break
            time.sleep(0.5)
        engine.dispose()
        assert filled == len(sent), f"{len(sent) - filled} orders not filled after the restart"
        assert unpublished == 0, "events left unpublished"
        assert gateway.intake.connections_made >= 2, "the intake never reconnected"
        fills: set[str] = set()
        seen_ids: set[str] = set()
        while True:
            method, _props, body = channel.basic_get(audit, auto_ack=True)
            if method is None:
                break
            event = json.loads(body)
            seen_ids.add(event["event_id"])
            if event["exec_type"] == "fill":
                fills.add(event["cl_ord_id"])
        channel.connection.close()
    missing = [c for c in sent if c not in fills]
    assert not missing, f"fill events never delivered for {missing[:5]}"
