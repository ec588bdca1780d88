"""Order events as the strategy client reads them, deduplication and the reconnect backoff."""

from __future__ import annotations

import json
import random
import uuid
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from oms.client import EventDeduplicator, MalformedEventError, OrderEvent, ReconnectPolicy
from oms.contract.event_format import encode_event


def _event(**overrides: object) -> dict[str, object]:
    body: dict[str, object] = {
        "event_id": str(uuid.uuid4()), "order_id": "O1", "seq": 3, "cl_ord_id": "c-1",
        "orig_cl_ord_id": None, "account": "DEMO1", "symbol": "AAPL", "side": "buy",
        "venue": "SIM", "exec_type": "partial_fill", "ord_status": "partially_filled",
        "quantity": Decimal("100"), "price": Decimal("190.05"), "cum_qty": Decimal("40"),
        "leaves_qty": Decimal("60"), "avg_px": Decimal("190.01"), "last_qty": Decimal("40"),
        "last_px": Decimal("190.01"), "text": None, "reject_source": None,
        "venue_order_id": "V1", "venue_exec_id": "E1",
        "transact_time": datetime(2024, 6, 1, 20, 0, tzinfo=UTC),
    }
    body.update(overrides)
    return body


def test_an_event_published_by_the_gateway_reads_back_exactly() -> None:
    raw = _event()
    event = OrderEvent.from_body(encode_event(raw), routing_key="DEMO1.AAPL.partial_fill",
                                 redelivered=True)
    assert event.event_id == raw["event_id"] and event.seq == 3
    assert event.last_px == Decimal("190.01") and event.leaves_qty == 60
    assert event.transact_time == datetime(2024, 6, 1, 20, 0, tzinfo=UTC)
    assert event.is_fill and not event.is_reject and not event.is_terminal
    assert event.routing_key == "DEMO1.AAPL.partial_fill" and event.redelivered
    assert event.extra == {}


def test_nulls_stay_none_and_new_fields_are_kept_in_extra() -> None:
    body = _event(order_id=None, seq=None, exec_type="rejected", ord_status="rejected",
                  price=None, transact_time=None, reject_source="risk", text="collar")
    body["future_field"] = "x"
    event = OrderEvent.from_body(encode_event(body))
    assert event.order_id is None and event.seq is None and event.price is None
    assert event.is_reject and event.is_terminal and event.extra == {"future_field": "x"}


@pytest.mark.parametrize(
    "body",
    [b"{nope", b"[1]", json.dumps({"exec_type": "new"}).encode(),
     json.dumps({"event_id": "e"}).encode(),
     json.dumps({"event_id": "e", "exec_type": "new", "price": 1.5}).encode(),
     json.dumps({"event_id": "e", "exec_type": "new", "seq": "1"}).encode(),
     json.dumps({"event_id": "e", "exec_type": "new", "transact_time": "yesterday"}).encode(),
     json.dumps({"event_id": "e", "exec_type": "new", "symbol": 5}).encode()],
)
def test_a_message_that_is_not_an_order_event_is_refused(body: bytes) -> None:
    with pytest.raises(MalformedEventError):
        OrderEvent.from_body(body)


def test_the_deduplicator_drops_repeats_and_forgets_the_oldest() -> None:
    dedup = EventDeduplicator(capacity=3)
    assert [dedup.is_new(e) for e in "abca"] == [True, True, True, False]
    assert dedup.is_new("d")  # evicts b (a was refreshed by its repeat)
    assert dedup.is_new("b") and not dedup.is_new("a")
    assert dedup.duplicates == 2


def test_backoff_grows_to_its_cap_with_jitter() -> None:
    policy = ReconnectPolicy(initial_delay_s=0.5, max_delay_s=4, multiplier=2, max_attempts=5)
    rng = random.Random(7)
    delays = [policy.delay(n, rng) for n in range(1, 8)]
    ceilings = [0.5, 1, 2, 4, 4, 4, 4]
    assert all(c / 2 <= d <= c for d, c in zip(delays, ceilings, strict=True))
    assert not policy.gives_up_after(4) and policy.gives_up_after(5)
    assert not ReconnectPolicy(max_attempts=None).gives_up_after(10**6)


@pytest.mark.parametrize(
    "kwargs",
    [{"initial_delay_s": 0}, {"initial_delay_s": 2, "max_delay_s": 1}, {"multiplier": 0.5},
     {"max_attempts": 0}],
)
def test_nonsense_policies_are_refused(kwargs: dict[str, float]) -> None:
    with pytest.raises(ValueError):
        ReconnectPolicy(**kwargs)  # type: ignore[arg-type]
