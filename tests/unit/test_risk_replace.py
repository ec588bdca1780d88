"""Replace requests: the order as it would stand is re-checked; exposure counts the change."""

from __future__ import annotations

from oms.domain.risk import (
    RateLimit,
    ReplaceIntent,
    RiskCode,
    RiskContext,
    RiskDecision,
    RiskLimits,
    check_replace,
    record_replace,
)
from oms.domain.values import Side
from tests.unit.test_risk_support import NOW, D, context, order, seconds


def replace(
    quantity: int, price: str = "100.00", *, filled: int = 0, leaves: int = 1_000,
    ctx: RiskContext | None = None, side: Side = Side.BUY,
) -> RiskDecision:
    request = ReplaceIntent(order(quantity, price, side=side), D(filled), D(leaves))
    return check_replace(request, ctx or context(open_buy_leaves=leaves), NOW)


def test_replace_up_to_the_max_order_quantity_is_accepted() -> None:
    ctx = context(RiskLimits(max_order_qty=D(10_000)), open_buy_leaves=1_000)
    assert replace(10_000, ctx=ctx).accepted


def test_replace_over_the_max_order_quantity_is_rejected() -> None:
    ctx = context(RiskLimits(max_order_qty=D(10_000)), open_buy_leaves=1_000)
    decision = replace(10_001, ctx=ctx)
    assert decision.code is RiskCode.MAX_ORDER_QTY
    assert decision.text == "order quantity 10001 exceeds max 10000 by 1"


def test_replace_to_a_price_outside_the_collar_is_rejected() -> None:
    ctx = context(RiskLimits(price_collar=D("0.10")), open_buy_leaves=1_000)
    assert replace(1_000, "110.00", ctx=ctx).accepted
    assert replace(1_000, "110.01", ctx=ctx).code is RiskCode.PRICE_COLLAR


def test_replace_off_the_tick_is_rejected() -> None:
    assert replace(1_000, "100.001").code is RiskCode.TICK_SIZE


def test_replace_notional_is_the_new_total_quantity_at_the_new_price() -> None:
    ctx = context(RiskLimits(max_order_notional=D(100_000)), open_buy_leaves=500)
    assert replace(1_000, "100.00", filled=500, leaves=500, ctx=ctx).accepted
    assert replace(1_000, "100.01", filled=500, leaves=500, ctx=ctx).code is (
        RiskCode.MAX_ORDER_NOTIONAL
    )


POSITION = RiskLimits(max_position=D(10_000))


def test_replace_adding_leaves_up_to_the_max_position_is_accepted() -> None:
    # position 8000 + open buys 1000 (this order's leaves); raising it to 2000 reaches 10000.
    ctx = context(POSITION, position=8_000, open_buy_leaves=1_000)
    assert replace(2_000, ctx=ctx).accepted


def test_replace_adding_leaves_over_the_max_position_is_rejected_with_the_excess() -> None:
    ctx = context(POSITION, position=8_000, open_buy_leaves=1_000)
    decision = replace(2_001, ctx=ctx)
    assert decision.code is RiskCode.MAX_POSITION
    assert decision.text.endswith("this order adds 1001) exceeds max 10000 by 1")


def test_replace_that_only_moves_the_price_adds_no_position() -> None:
    over = context(POSITION, position=12_000, open_buy_leaves=1_000)
    assert replace(1_000, "100.50", ctx=over).accepted


def test_replace_that_cuts_quantity_is_accepted_even_over_the_limits() -> None:
    limits = RiskLimits(max_position=D(10_000), max_gross_exposure=D(1))
    ctx = context(limits, position=12_000, open_buy_leaves=1_000)
    assert replace(400, ctx=ctx).accepted


def test_replace_counts_the_gross_exposure_change_only() -> None:
    limits = RiskLimits(max_gross_exposure=D(200_000))
    ctx = context(limits, open_buy_leaves=1_000, other_gross_exposure=0)
    assert replace(2_000, ctx=ctx).accepted  # 2000 x 100 = 200,000: at the max
    assert replace(2_001, ctx=ctx).code is RiskCode.MAX_GROSS_EXPOSURE


def test_replace_below_the_filled_quantity_is_rejected() -> None:
    decision = replace(300, filled=300, leaves=700)
    assert decision.code is RiskCode.INVALID_QUANTITY
    assert decision.text == "new quantity 300 is not above the filled quantity 300"


def test_replace_does_not_count_as_a_new_open_order() -> None:
    ctx = context(RiskLimits(max_open_orders=5), open_orders=5, open_buy_leaves=1_000)
    assert replace(1_000, ctx=ctx).accepted


def test_replace_counts_against_the_message_rate_not_the_order_rate() -> None:
    limits = RiskLimits(account_order_rate=RateLimit(0, seconds(1)),
                        account_message_rate=RateLimit(1, seconds(1)))
    ctx = context(limits, open_buy_leaves=1_000)
    assert replace(1_000, ctx=ctx).accepted
    record_replace(ctx, NOW)
    assert replace(1_000, ctx=ctx).code is RiskCode.ACCOUNT_MESSAGE_RATE


def test_replace_of_a_sell_counts_against_the_short_side() -> None:
    ctx = context(POSITION, position=-9_000, open_sell_leaves=500)
    # short 9000 + open sells 500 (this order's leaves); raising it to 1000 reaches 10000.
    assert replace(1_000, side=Side.SELL, leaves=500, ctx=ctx).accepted
    assert replace(1_001, side=Side.SELL, leaves=500, ctx=ctx).code is RiskCode.MAX_POSITION
