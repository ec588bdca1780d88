"""A whole OMS on loopback for end-to-end tests: the venue simulator and the gateway, in this
process, against this run's own database, vhost and Redis key prefix, on free ports."""

from __future__ import annotations

import json
import random
import socket
import tomllib
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pika

from oms.settings import Settings, SettingsFile

DEFAULT_CONFIG = Path(__file__).resolve().parents[2] / "config" / "oms.toml"


_GIVEN: set[int] = set()
_BELOW_EPHEMERAL = (20_000, 32_000)
"""Linux hands out outbound (ephemeral) ports from 32768 up: a listening port taken from the
same range could be taken meanwhile by any outbound connection of the test (a FIX initiator,
pika, psycopg) before the server it is for binds it."""


def free_port() -> int:
    """A port free now, never handed out before in this run, outside the ephemeral range."""
    for _ in range(1000):
        port = random.randrange(*_BELOW_EPHEMERAL)
        if port in _GIVEN:
            continue
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
        _GIVEN.add(port)
        return port
    raise RuntimeError("no free port below the ephemeral range")


def test_settings(
    *, database_url: str, amqp_url: str, data_dir: Path, edit: Any = None
) -> Settings:
    raw = tomllib.loads(DEFAULT_CONFIG.read_text())
    raw["venues"][0]["port"] = free_port()
    raw["engine"]["data_dir"] = str(data_dir)
    raw["engine"]["metrics_port"] = 0
    raw["engine"]["health_port"] = free_port()
    for client in raw.get("fix_clients", []):
        client["port"] = free_port()
    if edit is not None:
        edit(raw)
    return Settings(
        database_url=database_url, redis_url="redis://127.0.0.1:6379/0", amqp_url=amqp_url,
        config_path=DEFAULT_CONFIG, file=SettingsFile.model_validate(raw), secret_key=None,
    )


test_settings.__test__ = False  # type: ignore[attr-defined]  # a helper, not a test


class Strategy:
    """A strategy as an outsider sees the OMS: publishes commands, reads its events."""

    def __init__(self, amqp_url: str) -> None:
        self.connection = pika.BlockingConnection(pika.URLParameters(amqp_url))
        self.channel = self.connection.channel()
        result = self.channel.queue_declare(queue="", exclusive=True)
        self.queue = result.method.queue
        self.channel.queue_bind(self.queue, "oms.events", routing_key="#")
        self.events: list[dict[str, Any]] = []

    def send(self, account: str, body: dict[str, Any] | bytes, user: str | None = None) -> None:
        payload = body if isinstance(body, bytes) else json.dumps(body).encode()
        self.channel.basic_publish(
            "oms.orders", account, payload,
            pika.BasicProperties(content_type="application/json", delivery_mode=2,
                                 user_id=user, message_id=str(uuid.uuid4())),
        )

    def new_order(self, account: str, cl_ord_id: str, symbol: str, side: str, qty: str,
                  price: str | None = None, **extra: Any) -> None:
        body = {"type": "new_order", "cl_ord_id": cl_ord_id, "account": account,
                "symbol": symbol, "side": side, "quantity": qty,
                "order_type": "limit" if price else "market", **extra}
        if price:
            body["price"] = price
        self.send(account, body)

    def wait_for(self, predicate: Any, timeout: float = 20.0) -> dict[str, Any]:
        """The first event (seen or arriving) matching ``predicate``."""
        for event in self.events:
            if predicate(event):
                return event
        deadline = timeout
        for method, _props, body in self.channel.consume(self.queue, inactivity_timeout=0.5):
            if method is None:
                deadline -= 0.5
                if deadline <= 0:
                    break
                continue
            self.channel.basic_ack(method.delivery_tag)
            event = json.loads(body)
            event["_routing_key"] = method.routing_key
            self.events.append(event)
            if predicate(event):
                self.channel.cancel()
                return event
        self.channel.cancel()
        raise AssertionError(
            f"no matching event within {timeout}s; saw: "
            + json.dumps([(e.get("cl_ord_id"), e.get("exec_type"), e.get("text"))
                          for e in self.events])
        )

    def events_of(self, cl_ord_id: str) -> list[dict[str, Any]]:
        return [e for e in self.events if e.get("cl_ord_id") == cl_ord_id]

    def close(self) -> None:
        if self.connection.is_open:
            self.connection.close()

    def __enter__(self) -> Strategy:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


@contextmanager
def strategy(amqp_url: str) -> Iterator[Strategy]:
    s = Strategy(amqp_url)
    try:
        yield s
    finally:
        s.close()


def write_settings_file(path: Path, *, data_dir: Path) -> dict[str, int]:
    """The default settings file with free ports and ``data_dir``, for gateway subprocesses.
    Returns the ports chosen."""
    ports = {"venue": free_port(), "client": free_port(), "health": free_port(),
             "metrics": free_port()}
    text = DEFAULT_CONFIG.read_text()
    replacements = {
        "port = 9876": f"port = {ports['venue']}",
        "port = 9880": f"port = {ports['client']}",
        "health_port = 9109": f"health_port = {ports['health']}",
        "metrics_port = 9108": f"metrics_port = {ports['metrics']}",
        'data_dir = "var"': f'data_dir = "{data_dir}"',
    }
    for old, new in replacements.items():
        assert old in text, f"default settings no longer contain {old!r}"
        text = text.replace(old, new)
    path.write_text(text)
    return ports


@contextmanager
def running_stack(settings: Settings, data_dir: Path, redis_prefix: str,
                  behaviours: Any = None) -> Iterator[Any]:
    """Venue simulator + gateway in this process; yields the gateway once it is ready."""
    from fix_gateway.venue_sim import VenueSimulator
    from oms.gateway import Gateway

    venue = VenueSimulator(settings, "SIM", data_dir=data_dir / "venue-sim",
                           behaviours=behaviours)
    venue.start()
    gateway = Gateway(settings, redis_prefix=redis_prefix)
    try:
        gateway.start()
        assert gateway.wait_until_ready(30), "gateway not ready: venue or broker not connected"
        yield gateway
    finally:
        gateway.stop()
        venue.stop()
