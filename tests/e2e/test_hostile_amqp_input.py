"""Hostile strategy input against the running gateway: whatever arrives on oms.orders ends as
an event or a dead letter, and the gateway stays up."""

from __future__ import annotations

import contextlib
import json
import urllib.request
import uuid
from typing import Any

import pika
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.support.isolation import TestVhost
from tests.support.stack import Strategy

pytestmark = pytest.mark.e2e

FIELDS = ["type", "cl_ord_id", "account", "symbol", "side", "order_type", "quantity", "price",
          "stop_price", "time_in_force", "expire_time", "orig_cl_ord_id", "venue", "bogus"]
VALUES = st.one_of(
    st.none(), st.booleans(), st.integers(min_value=-(10**30), max_value=10**30),
    st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=30),
    st.sampled_from(["new_order", "cancel", "replace", "buy", "sell", "limit", "market", "DEMO1",
                     "ZVZZT", "10.00", "NaN", "-5", "1e400", "gtd", "\u0000", "\U0001f4a5"]),
    st.lists(st.integers(), max_size=3), st.dictionaries(st.text(max_size=3), st.integers(),
                                                         max_size=2),
)
BODIES = st.one_of(
    st.binary(max_size=200),
    st.dictionaries(st.sampled_from(FIELDS), VALUES, max_size=10).map(
        lambda d: json.dumps(d, allow_nan=True).encode()),
    st.fixed_dictionaries({"type": st.sampled_from(["new_order", "cancel", "replace", "x"]),
                           "account": st.sampled_from(["DEMO1", "DEMO2", "GHOST", ""])},
                          optional={k: VALUES for k in FIELDS[3:]}).map(
        lambda d: json.dumps(d, allow_nan=True).encode()),
)


def _cl_ord_id_of(body: bytes) -> str | None:
    try:
        parsed = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return None
    return parsed.get("cl_ord_id") if isinstance(parsed, dict) else None


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(bodies=st.lists(BODIES, min_size=5, max_size=5))
def test_every_hostile_message_ends_as_an_event_or_a_dead_letter(
    stack: Any, amqp_vhost: TestVhost, bodies: list[bytes]
) -> None:
    with Strategy(amqp_vhost.url) as trader:
        expected: dict[str, bytes] = {}
        for body in bodies:
            wrapped = body
            if _cl_ord_id_of(body) is not None or body.startswith(b"{"):
                try:
                    parsed = json.loads(body)
                    if isinstance(parsed, dict):
                        parsed["cl_ord_id"] = f"fz-{uuid.uuid4().hex[:10]}"  # traceable
                        wrapped = json.dumps(parsed, allow_nan=True).encode()
                except ValueError:
                    pass
            message_id = uuid.uuid4().hex
            expected[message_id] = wrapped
            trader.channel.basic_publish(
                "oms.orders", "DEMO1", wrapped,
                pika.BasicProperties(content_type="application/json", message_id=message_id,
                                     delivery_mode=2, user_id="guest"))
        outcomes: dict[str, str] = {}
        for _ in range(120):
            method, props, _body = trader.channel.basic_get("oms.orders.dlq", auto_ack=True)
            if method is not None and props.message_id in expected:
                outcomes[props.message_id] = "dead letter"
            for message_id, body in expected.items():
                cl_ord_id = _cl_ord_id_of(body)
                if message_id not in outcomes and cl_ord_id is not None and any(
                        e.get("cl_ord_id") == cl_ord_id for e in trader.events):
                    outcomes[message_id] = "event"
            if len(outcomes) == len(expected):
                break
            if method is None:
                with contextlib.suppress(AssertionError):
                    trader.wait_for(lambda e: False, timeout=0.5)
        lost = {m: expected[m][:80] for m in expected if m not in outcomes}
        assert not lost, f"inputs with neither an event nor a dead letter: {lost}"
    port = stack.health.port
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5) as r:
        assert r.status == 200
