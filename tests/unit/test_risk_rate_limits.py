"""Order and message rate limits per account and per session (sliding windows)."""

from __future__ import annotations

from datetime import datetime, timedelta

from oms.domain.risk import (
    RateLimit,
    RateWindows,
    ReplaceIntent,
    RiskCode,
    RiskLimits,
    SlidingWindow,
    check_replace,
    record_cancel,
    record_new_order,
)
from tests.unit.test_risk_support import NOW, D, check, context, order, seconds, windows

THREE_A_SECOND = RateLimit(3, seconds(1))


def recorded(*ages: str) -> SlidingWindow:
    """A window holding events that happened ``ages`` seconds before NOW."""
    window = SlidingWindow()
    for age in sorted(ages, key=float, reverse=True):
        window.record(NOW - seconds(age))
    return window


def account_orders(*ages: str) -> RateWindows:
    w = windows()
    w.account_orders = recorded(*ages)
    return w


ORDER_RATE = RiskLimits(account_order_rate=THREE_A_SECOND)


def test_account_order_rate_just_under_the_max_is_accepted() -> None:
    assert check(order(), context(ORDER_RATE, rate_windows=account_orders("0.5"))).accepted


def test_account_order_rate_at_the_max_is_accepted() -> None:
    assert check(order(), context(ORDER_RATE, rate_windows=account_orders("0.5", "0.1"))).accepted


def test_account_order_rate_over_the_max_is_rejected_with_the_excess() -> None:
    ctx = context(ORDER_RATE, rate_windows=account_orders("0.9", "0.5", "0.1"))
    decision = check(order(), ctx)
    assert decision.code is RiskCode.ACCOUNT_ORDER_RATE
    assert decision.text == "account order rate would be 4 in 1s, exceeding max 3 per 1s by 1"


def test_an_order_exactly_one_window_old_no_longer_counts() -> None:
    ctx = context(ORDER_RATE, rate_windows=account_orders("1", "0.5", "0.1"))
    assert check(order(), ctx).accepted


def test_an_order_just_inside_the_window_still_counts() -> None:
    ctx = context(ORDER_RATE, rate_windows=account_orders("0.999999", "0.5", "0.1"))
    assert check(order(), ctx).code is RiskCode.ACCOUNT_ORDER_RATE


def test_accepted_orders_fill_the_window_until_the_rate_is_reached() -> None:
    ctx = context(ORDER_RATE)
    for i in range(3):
        now = NOW + timedelta(milliseconds=100 * i)
        assert check(order(), ctx, now).accepted
        record_new_order(order(), ctx, now)
    assert check(order(), ctx, NOW + seconds("0.3")).code is RiskCode.ACCOUNT_ORDER_RATE
    assert check(order(), ctx, NOW + seconds("1.0")).accepted  # the first has slid out


def test_session_order_rate_is_counted_in_the_session_window() -> None:
    limits = RiskLimits(session_order_rate=THREE_A_SECOND)
    w = windows()
    w.session_orders = recorded("0.3", "0.2")
    assert check(order(), context(limits, rate_windows=w)).accepted
    w.session_orders = recorded("0.3", "0.2", "0.1")
    decision = check(order(), context(limits, rate_windows=w))
    assert decision.code is RiskCode.SESSION_ORDER_RATE
    assert decision.text.endswith("exceeding max 3 per 1s by 1")


def test_session_rate_does_not_apply_to_an_origin_without_a_session() -> None:
    limits = RiskLimits(session_order_rate=RateLimit(0, seconds(1)))
    no_session = RateWindows(SlidingWindow(), SlidingWindow())
    assert check(order(), context(limits, rate_windows=no_session)).accepted


def test_account_message_rate_counts_orders_and_cancels() -> None:
    limits = RiskLimits(account_message_rate=THREE_A_SECOND)
    ctx = context(limits)
    record_new_order(order(), ctx, NOW - seconds("0.2"))
    record_cancel(limits, ctx.windows, NOW - seconds("0.1"))
    assert check(order(), ctx).accepted  # the third message
    record_cancel(limits, ctx.windows, NOW)
    decision = check(order(), ctx)
    assert decision.code is RiskCode.ACCOUNT_MESSAGE_RATE
    assert decision.text == "account message rate would be 4 in 1s, exceeding max 3 per 1s by 1"


def test_cancels_past_the_account_message_rate_are_all_counted() -> None:
    """Five orders fill a 5 msg/s account; its three cancels in the same second still go (no
    check refuses a cancel) and are counted: the window holds eight."""
    limits = RiskLimits(account_message_rate=RateLimit(5, seconds(1)))
    ctx = context(limits)
    for i in range(5):
        record_new_order(order(i + 1), ctx, NOW + seconds(f"0.0{i}"))
    for i in range(3):
        record_cancel(limits, ctx.windows, NOW + seconds(f"0.1{i}"))
    assert ctx.windows.account_messages.count(NOW + seconds("0.2"), seconds(1)) == 8


def test_a_new_order_after_a_burst_of_cancels_waits_until_they_slide_out() -> None:
    limits = RiskLimits(account_message_rate=THREE_A_SECOND)
    ctx = context(limits)
    for i in range(5):
        record_cancel(limits, ctx.windows, NOW + seconds(f"0.{i}"))
    late = check(order(), ctx, NOW + seconds("1.05"))  # four cancels of the last second left
    assert late.text == "account message rate would be 5 in 1s, exceeding max 3 per 1s by 2"
    assert check(order(), ctx, NOW + seconds("1.15")).code is RiskCode.ACCOUNT_MESSAGE_RATE
    assert check(order(), ctx, NOW + seconds("1.25")).accepted  # two left: the third message


def test_a_replace_after_cancels_past_the_session_message_rate_is_rejected() -> None:
    limits = RiskLimits(session_message_rate=RateLimit(1, seconds(1)))
    ctx = context(limits, open_buy_leaves=100)
    record_cancel(limits, ctx.windows, NOW)
    record_cancel(limits, ctx.windows, NOW)
    assert ctx.windows.session_messages is not None
    assert len(ctx.windows.session_messages) == 2
    replace = ReplaceIntent(order(50), filled_qty=D(0), current_leaves=D(100))
    decision = check_replace(replace, ctx, NOW)
    assert decision.code is RiskCode.SESSION_MESSAGE_RATE
    assert decision.text == "session message rate would be 3 in 1s, exceeding max 1 per 1s by 2"


def test_cancels_do_not_count_against_the_order_rate() -> None:
    limits = RiskLimits(account_order_rate=RateLimit(1, seconds(1)))
    ctx = context(limits)
    record_cancel(limits, ctx.windows, NOW)
    assert check(order(), ctx).accepted


def test_nothing_is_recorded_in_a_window_whose_limit_is_not_set() -> None:
    ctx = context(RiskLimits())
    record_new_order(order(), ctx, NOW)
    record_cancel(ctx.limits, ctx.windows, NOW)
    assert [len(w) for w in _all(ctx.windows)] == [0, 0, 0, 0]


def test_a_window_keeps_only_the_events_its_limit_can_count() -> None:
    ctx = context(ORDER_RATE)
    start: datetime = NOW
    for i in range(1_000):
        now = start + timedelta(milliseconds=10 * i)
        if check(order(i + 1), ctx, now).accepted:
            record_new_order(order(i + 1), ctx, now)
    assert len(ctx.windows.account_orders) <= THREE_A_SECOND.count


def _all(w: RateWindows) -> list[SlidingWindow]:
    return [x for x in (w.account_orders, w.account_messages, w.session_orders,
                        w.session_messages) if x is not None]


def test_a_window_only_recorded_into_forgets_times_older_than_an_hour() -> None:
    """An account that only cancels records without ever counting: it must stay bounded."""
    from datetime import UTC, datetime, timedelta

    from oms.domain.risk.rate_window import KEPT_FOR, SlidingWindow

    window = SlidingWindow()
    start = datetime(2026, 12, 3, 9, 0, tzinfo=UTC)
    for second in range(3 * 3600):
        window.record(start + timedelta(seconds=second))
    assert len(window) == int(KEPT_FOR.total_seconds())
