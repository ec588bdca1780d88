"""Fixtures for integration tests against the real RabbitMQ and Redis of this machine, isolated
per test run (RabbitMQ: the run's own vhost; Redis: keys under the run's own prefix)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pika
import pytest
import redis
from sqlalchemy import Engine, text

from oms.bus.outbox_relay import OutboxRelay
from oms.bus.topology import (
    DEAD_LETTER_QUEUE,
    EVENTS_EXCHANGE,
    INTAKE_QUEUE,
    ORDERS_EXCHANGE,
)
from tests.support.isolation import TestVhost

WAIT_S = 30.0
"""Generous bound for anything asynchronous to happen; never a timing assertion."""


def wait_until(condition: Callable[[], bool], timeout: float = WAIT_S, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up after {timeout}s waiting for {what or condition}")
        time.sleep(0.02)


def recorded_events(engine: Engine, cl_ord_id: str, count: int) -> list[tuple[str, str]]:
    """The first ``count`` events recorded about ``cl_ord_id`` (waiting for them), in the order
    they happened: (exec_type, text)."""
    sql = text("SELECT exec_type::text AS exec_type, coalesce(body->>'text', '') AS reason"
               " FROM order_events WHERE body->>'cl_ord_id' = :c ORDER BY created_at, seq")

    def rows() -> list[Any]:
        with engine.connect() as conn:
            return list(conn.execute(sql, {"c": cl_ord_id}))

    wait_until(lambda: len(rows()) >= count, what=f"{count} event(s) for {cl_ord_id}")
    return [(r.exec_type, r.reason) for r in rows()[:count]]


@dataclass
class Broker:
    """Test-side access to the run's vhost: each call uses a short-lived connection of its own,
    so it survives the connection closures the tests cause."""

    vhost: TestVhost

    @property
    def url(self) -> str:
        return self.vhost.url

    def connect(self) -> pika.BlockingConnection:
        return pika.BlockingConnection(pika.URLParameters(self.url))

    def reset(self) -> None:
        """Remove the contract's queues and exchanges so a test starts from nothing."""
        connection = self.connect()
        try:
            channel = connection.channel()
            for queue in (INTAKE_QUEUE, DEAD_LETTER_QUEUE):
                channel.queue_delete(queue)
            for exchange in (ORDERS_EXCHANGE, EVENTS_EXCHANGE):
                channel.exchange_delete(exchange)
        finally:
            connection.close()

    def publish_command(
        self,
        command: dict[str, Any] | bytes,
        *,
        routing_key: str = "DEMO1",
        user_id: str | None = None,
        content_type: str | None = "application/json",
        message_id: str | None = None,
    ) -> None:
        body = command if isinstance(command, bytes) else json.dumps(command).encode()
        connection = self.connect()
        try:
            channel = connection.channel()
            channel.confirm_delivery()
            channel.basic_publish(
                ORDERS_EXCHANGE, routing_key, body,
                pika.BasicProperties(content_type=content_type, delivery_mode=2,
                                     user_id=user_id, message_id=message_id),
                mandatory=True,
            )
        finally:
            connection.close()

    def bind_fresh_queue(self, queue: str, routing_key: str, *, durable: bool = False,
                         arguments: dict[str, Any] | None = None) -> None:
        """``queue`` deleted, declared again (empty) and bound to ``oms.events``."""
        connection = self.connect()
        try:
            channel = connection.channel()
            channel.queue_delete(queue)
            channel.queue_declare(queue, durable=durable, arguments=arguments)
            channel.queue_bind(queue, EVENTS_EXCHANGE, routing_key=routing_key)
        finally:
            connection.close()

    def get(self, queue: str, timeout: float = WAIT_S) -> tuple[Any, bytes]:
        """The next message of ``queue`` (acknowledged), waiting for it up to ``timeout``."""
        deadline = time.monotonic() + timeout
        connection = self.connect()
        try:
            channel = connection.channel()
            while True:
                method, properties, body = channel.basic_get(queue, auto_ack=True)
                if method is not None:
                    return properties, body
                if time.monotonic() > deadline:
                    raise AssertionError(f"no message in {queue} after {timeout}s")
                connection.sleep(0.05)
        finally:
            connection.close()

    def ready_count(self, queue: str) -> int:
        connection = self.connect()
        try:
            return int(connection.channel().queue_declare(queue, passive=True).method
                       .message_count)
        finally:
            connection.close()

    def close_client_connections(self) -> None:
        """What an operator or a broker restart does: close every connection of this vhost."""
        result = subprocess.run(
            ["rabbitmqctl", "-q", "close_all_connections", "--vhost", self.vhost.name,
             "closed by the test"],
            check=False, capture_output=True, text=True, timeout=60,
        )
        assert result.returncode == 0, result.stderr


@pytest.fixture
def broker(amqp_vhost: TestVhost) -> Broker:
    """The run's vhost, emptied of the contract's queues and exchanges."""
    broker = Broker(amqp_vhost)
    broker.reset()
    return broker


@pytest.fixture(scope="session")
def redis_url() -> str:
    return os.environ.get("OMS_REDIS_URL", "redis://127.0.0.1:6379/0")


@pytest.fixture
def redis_prefix(run_id: str, redis_url: str, request: pytest.FixtureRequest) -> Iterator[str]:
    """A key prefix of this test's own; its keys are deleted afterwards."""
    prefix = f"oms_test_{run_id}_{re.sub(r'[^A-Za-z0-9_]', '_', request.node.name[:40])}:"
    yield prefix
    client = redis.Redis.from_url(redis_url)
    try:
        keys = list(client.scan_iter(match=f"{prefix}*", count=500))
        if keys:
            client.delete(*keys)
    finally:
        client.close()


FULL_QUEUE = {"x-max-length": 0, "x-overflow": "reject-publish"}
"""Arguments of a queue that refuses every message (the broker answers ``basic.nack``)."""


def relay_starter(url: str, engine: Engine, **defaults: Any
                  ) -> tuple[Callable[..., OutboxRelay], Callable[[], None]]:
    """``start(**options)`` starts an outbox relay (``defaults`` overridden by ``options``)
    and waits until it is ready; ``stop_all()`` stops every relay started."""
    relays: list[OutboxRelay] = []

    def start(**options: Any) -> OutboxRelay:
        relay = OutboxRelay(url, engine, **{"reconnect_min_s": 0.1, **defaults, **options})
        relays.append(relay)
        relay.start()
        assert relay.wait_until_ready(WAIT_S)
        return relay

    def stop_all() -> None:
        for relay in relays:
            relay.stop(timeout=2.0)

    return start, stop_all
