"""The benchmark's strategy: publishes new orders to ``oms.orders`` as the contract says and
listens to ``oms.events``, stamping (time.monotonic_ns) the events of each order.

Orders are named ``<phase letter><index>``: the listener keeps, per index of the current
phase, when the ``new`` and the final event arrived. Orders alternate between the accounts and,
per account, between buying and selling, so positions stay flat; limit prices cross the venue
simulator's quotes, so every order fills in full at once."""

from __future__ import annotations

import contextlib
import json
import threading
import time
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import pika

from oms.bench.isolation import ACCOUNTS, SYMBOL
from oms.bus.topology import EVENTS_EXCHANGE, ORDERS_EXCHANGE

FINAL = frozenset({"fill", "rejected", "canceled", "expired", "done_for_day"})


@dataclass(slots=True)
class Phase:
    letter: str
    orders: int
    new_ns: list[int] = field(default_factory=list)
    final_ns: list[int] = field(default_factory=list)
    done: int = 0
    rejects: list[str] = field(default_factory=list)
    finished: threading.Event = field(default_factory=threading.Event)

    def __post_init__(self) -> None:
        self.new_ns = [0] * self.orders
        self.final_ns = [0] * self.orders


class Publisher:
    def __init__(self, amqp_url: str, reference: Decimal, tick: Decimal) -> None:
        params = pika.URLParameters(amqp_url)
        self._connection = pika.BlockingConnection(params)
        self._channel = self._connection.channel()
        user = params.credentials.username
        self._props = pika.BasicProperties(content_type="application/json", delivery_mode=2,
                                           user_id=user)
        self._prices = {"buy": str(reference + 5 * tick), "sell": str(reference - 5 * tick)}

    def send(self, letter: str, index: int) -> None:
        account = ACCOUNTS[index % 2]
        side = "buy" if (index // 2) % 2 == 0 else "sell"
        body = (
            f'{{"type":"new_order","cl_ord_id":"{letter}{index}","account":"{account}",'
            f'"symbol":"{SYMBOL}","side":"{side}","order_type":"limit","quantity":"100",'
            f'"price":"{self._prices[side]}","time_in_force":"day"}}'
        )
        self._channel.basic_publish(ORDERS_EXCHANGE, account, body.encode(), self._props)

    def close(self) -> None:
        if self._connection.is_open:
            with contextlib.suppress(pika.exceptions.AMQPError):  # lost: nothing to close
                self._connection.close()


class Listener:
    """Consumes the events on its own thread and connection (pika is not thread-safe)."""

    def __init__(self, amqp_url: str) -> None:
        self._url = amqp_url
        self.phase: Phase | None = None
        self._stop = threading.Event()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, name="bench-events", daemon=True)
        self.error: BaseException | None = None

    def start(self) -> None:
        self._thread.start()
        if not self._ready.wait(15):
            raise RuntimeError(f"the event listener did not start: {self.error!r}")

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(10)

    def _run(self) -> None:
        try:
            connection = pika.BlockingConnection(pika.URLParameters(self._url))
            channel = connection.channel()
            queue = channel.queue_declare(queue="", exclusive=True).method.queue
            channel.queue_bind(queue, EVENTS_EXCHANGE, routing_key="#")
            channel.basic_consume(queue, self._on_event, auto_ack=True)
            self._ready.set()
            while not self._stop.is_set():
                connection.process_data_events(time_limit=0.1)
            connection.close()
        except BaseException as exc:
            self.error = exc
            self._ready.set()

    def _on_event(self, channel: Any, method: Any, properties: Any, body: bytes) -> None:
        now = time.monotonic_ns()
        phase = self.phase
        if phase is None:
            return
        event = json.loads(body)
        cl_ord_id = event.get("cl_ord_id") or ""
        if not cl_ord_id.startswith(phase.letter):
            return
        index = int(cl_ord_id[1:])
        exec_type = event.get("exec_type")
        if exec_type == "new":
            phase.new_ns[index] = now
        elif exec_type in FINAL:
            phase.final_ns[index] = now
            if exec_type != "fill":
                phase.rejects.append(f"{cl_ord_id} {exec_type}: {event.get('text')}")
            phase.done += 1
            if phase.done >= phase.orders:
                phase.finished.set()
