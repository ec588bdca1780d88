"""Duplicate-order detection: same account, symbol, side, quantity and price within a window."""

from __future__ import annotations

from oms.domain.risk import RiskCode, RiskLimits, record_new_order
from oms.domain.values import Side
from tests.unit.test_risk_support import NOW, check, context, order, seconds

WINDOW = RiskLimits(duplicate_window=seconds(2))


def test_same_order_just_inside_the_window_is_rejected_as_a_duplicate() -> None:
    ctx = context(WINDOW)
    record_new_order(order(), ctx, NOW - seconds("1.999999"))
    decision = check(order(), ctx)
    assert decision.code is RiskCode.DUPLICATE_ORDER
    assert decision.text == (
        "duplicate of an order with the same account, symbol, side, quantity and price "
        "accepted 1.999999s ago (duplicate window 2s)"
    )


def test_same_order_exactly_one_window_later_is_accepted() -> None:
    ctx = context(WINDOW)
    record_new_order(order(), ctx, NOW - seconds(2))
    assert check(order(), ctx).accepted


def test_same_order_after_the_window_is_accepted() -> None:
    ctx = context(WINDOW)
    record_new_order(order(), ctx, NOW - seconds("2.5"))
    assert check(order(), ctx).accepted


def test_orders_differing_in_quantity_price_side_symbol_or_account_are_not_duplicates() -> None:
    ctx = context(WINDOW)
    record_new_order(order(100, "100.00"), ctx, NOW)
    assert check(order(101, "100.00"), ctx).accepted
    assert check(order(100, "100.01"), ctx).accepted
    assert check(order(100, "100.00", side=Side.SELL), ctx).accepted
    assert check(order(100, "100.00", symbol="MSFT"), ctx).accepted
    assert check(order(100, "100.00", account="DEMO2"), ctx).accepted


def test_equal_decimals_written_differently_are_duplicates() -> None:
    ctx = context(WINDOW)
    record_new_order(order("100", "100.0"), ctx, NOW)
    assert check(order("100.00", "100.00"), ctx).code is RiskCode.DUPLICATE_ORDER


def test_duplicate_detection_is_off_by_default() -> None:
    ctx = context()
    record_new_order(order(), ctx, NOW)
    assert check(order(), ctx).accepted
    assert len(ctx.duplicates) == 0


def test_old_orders_are_forgotten() -> None:
    ctx = context(WINDOW)
    for i in range(100):
        record_new_order(order(i + 1), ctx, NOW + seconds(i))
    assert len(ctx.duplicates) <= 3
