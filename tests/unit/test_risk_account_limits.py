"""Max open orders, max position and max gross exposure (worst case, counting open orders)."""

from __future__ import annotations

from oms.domain.risk import RiskCode, RiskDecision, RiskLimits, worst_case_exposure
from oms.domain.values import Instrument, Side
from tests.unit.test_risk_support import D, check, context, order

OPEN = RiskLimits(max_open_orders=100)
POSITION = RiskLimits(max_position=D(10_000))
GROSS = RiskLimits(max_gross_exposure=D(1_000_000))


def test_open_orders_one_under_the_max_after_this_order_is_accepted() -> None:
    assert check(order(), context(OPEN, open_orders=98)).accepted


def test_open_orders_reaching_the_max_with_this_order_is_accepted() -> None:
    assert check(order(), context(OPEN, open_orders=99)).accepted


def test_open_orders_one_over_the_max_is_rejected() -> None:
    decision = check(order(), context(OPEN, open_orders=100))
    assert decision.code is RiskCode.MAX_OPEN_ORDERS
    assert decision.text == "open orders would be 101, exceeding max 100 by 1"


def long_book(quantity: int) -> RiskDecision:
    return check(
        order(quantity), context(POSITION, position=5_000, open_buy_leaves=4_000,
                                 open_sell_leaves=3_000),
    )


def test_worst_case_long_position_just_under_the_max_is_accepted() -> None:
    assert long_book(999).accepted


def test_worst_case_long_position_at_the_max_is_accepted() -> None:
    assert long_book(1_000).accepted


def test_worst_case_long_position_over_the_max_is_rejected_with_the_excess() -> None:
    decision = long_book(1_001)
    assert decision.code is RiskCode.MAX_POSITION
    assert decision.text == (
        "worst-case long position 10001 in AAPL (position 5000, open buys 4000, this order "
        "adds 1001) exceeds max 10000 by 1"
    )


def short_book(quantity: int) -> RiskDecision:
    return check(
        order(quantity, side=Side.SELL_SHORT),
        context(POSITION, position=-5_000, open_sell_leaves=4_000, open_buy_leaves=3_000),
    )


def test_worst_case_short_position_at_the_max_is_accepted() -> None:
    assert short_book(999).accepted
    assert short_book(1_000).accepted


def test_worst_case_short_position_over_the_max_is_rejected_with_the_excess() -> None:
    decision = short_book(1_001)
    assert decision.code is RiskCode.MAX_POSITION
    assert decision.text.startswith("worst-case short position 10001")
    assert decision.text.endswith("by 1")


def test_sell_that_reduces_a_position_over_the_max_is_accepted() -> None:
    assert check(order(100, side=Side.SELL), context(POSITION, position=12_000)).accepted


def test_buy_that_reduces_a_short_over_the_max_is_accepted() -> None:
    assert check(order(100), context(POSITION, position=-12_000)).accepted


def gross(
    quantity: int, side: Side = Side.BUY, *, position: int = 0, open_buy_leaves: int = 0
) -> RiskDecision:
    ctx = context(GROSS, other_gross_exposure=500_000, position=position,
                  open_buy_leaves=open_buy_leaves)
    return check(order(quantity, side=side), ctx)


def test_gross_exposure_just_under_the_max_is_accepted() -> None:
    assert gross(4_999).accepted


def test_gross_exposure_at_the_max_is_accepted() -> None:
    assert gross(5_000).accepted  # 500,000 + 5000 x 100


def test_gross_exposure_over_the_max_is_rejected_with_the_excess() -> None:
    decision = gross(5_001)
    assert decision.code is RiskCode.MAX_GROSS_EXPOSURE
    assert decision.text == (
        "worst-case gross exposure 1000100 (other symbols 500000, AAPL 5001 at 100.00) "
        "exceeds max 1000000 by 100"
    )


def test_gross_exposure_counts_open_orders_on_the_same_side() -> None:
    assert gross(1_000, open_buy_leaves=4_000).accepted
    rejected = gross(1_001, open_buy_leaves=4_000)
    assert rejected.code is RiskCode.MAX_GROSS_EXPOSURE


def test_sell_within_a_long_position_adds_no_gross_exposure() -> None:
    # Long 5000: selling up to 10000 leaves at most 5000 short, no worse than the long.
    assert gross(10_000, Side.SELL, position=5_000).accepted
    over = gross(10_001, Side.SELL, position=5_000)
    assert over.code is RiskCode.MAX_GROSS_EXPOSURE


def test_gross_exposure_counts_the_contract_multiplier() -> None:
    future = Instrument("ESH6", "SIM", tick_size=D("0.25"), multiplier=D(50))
    ctx = context(GROSS, instrument=future, reference="5000.00")
    assert check(order(4, "5000.00", symbol="ESH6"), ctx).accepted
    assert check(order(5, "5000.00", symbol="ESH6"), ctx).code is RiskCode.MAX_GROSS_EXPOSURE


def test_gross_exposure_needs_a_reference_price() -> None:
    decision = check(order(), context(GROSS, reference=None))
    assert decision.code is RiskCode.REFERENCE_PRICE_MISSING


def test_worst_case_exposure_takes_the_larger_of_all_buys_or_all_sells_filling() -> None:
    assert worst_case_exposure(D(100), D(50), D(400), D(10), D(1)) == D(3_000)
    assert worst_case_exposure(D(-100), D(300), D(0), D(10), D(2)) == D(4_000)
