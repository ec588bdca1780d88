"""A venue's outbound rate limit holds messages within a bound, then refuses them."""

from __future__ import annotations

import pytest

from oms.engine.venue_throttle import OutboundThrottle


def test_messages_within_the_rate_go_out_at_once() -> None:
    throttle = OutboundThrottle(10, hold_s=0.1, now_s=0.0)
    assert [throttle.reserve(0.0) for _ in range(10)] == [0.0] * 10


def test_a_message_over_the_rate_is_held_for_the_time_a_token_takes() -> None:
    throttle = OutboundThrottle(10, hold_s=0.25, now_s=0.0)
    for _ in range(10):
        throttle.reserve(0.0)
    assert throttle.reserve(0.0) == pytest.approx(0.1)
    assert throttle.reserve(0.0) == pytest.approx(0.2)


def test_a_message_that_would_wait_longer_than_the_hold_is_refused_and_costs_nothing() -> None:
    throttle = OutboundThrottle(10, hold_s=0.1, now_s=0.0)
    for _ in range(11):
        throttle.reserve(0.0)
    assert throttle.reserve(0.0) is None
    assert throttle.reserve(0.0) is None
    assert throttle.reserve(0.2) == pytest.approx(0.0)


def test_tokens_refill_with_time_up_to_one_second_of_burst() -> None:
    throttle = OutboundThrottle(5, hold_s=0.0, now_s=0.0)
    for _ in range(5):
        assert throttle.reserve(0.0) == 0.0
    assert throttle.reserve(0.0) is None
    assert throttle.reserve(100.0) == 0.0
    assert sum(1 for _ in range(10) if throttle.reserve(100.0) == 0.0) == 4


def test_a_cancel_past_the_hold_is_never_refused_and_waits_its_turn() -> None:
    throttle = OutboundThrottle(10, hold_s=0.0, now_s=0.0)
    for _ in range(10):
        throttle.reserve(0.0)
    assert throttle.reserve(0.0) is None  # a new order: refused
    assert [throttle.reserve_always(0.0) for _ in range(3)] == pytest.approx([0.1, 0.2, 0.3])


def test_new_orders_after_a_burst_of_cancels_see_the_load() -> None:
    throttle = OutboundThrottle(10, hold_s=0.15, now_s=0.0)
    for _ in range(12):
        throttle.reserve_always(0.0)  # ten at once, two held 0.1 s and 0.2 s
    assert throttle.reserve(0.0) is None  # would wait 0.3 s, past the hold
    assert throttle.reserve(0.2) == pytest.approx(0.1)  # two tokens back, one owed
