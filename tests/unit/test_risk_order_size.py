"""Max order quantity and max order notional (market orders valued at the collared reference)."""

from __future__ import annotations

from oms.domain.risk import RiskCode, RiskLimits
from oms.domain.values import Instrument, Side
from tests.unit.test_risk_support import D, check, context, market, order

QTY = RiskLimits(max_order_qty=D(10_000))
NOTIONAL = RiskLimits(max_order_notional=D(1_000_000))
NOTIONAL_COLLARED = RiskLimits(max_order_notional=D(1_100_000), price_collar=D("0.10"))


def test_order_quantity_just_under_the_limit_is_accepted() -> None:
    assert check(order(9_999), context(QTY)).accepted


def test_order_quantity_at_the_limit_is_accepted() -> None:
    assert check(order(10_000), context(QTY)).accepted


def test_order_quantity_one_over_the_limit_is_rejected_with_the_excess() -> None:
    decision = check(order(10_001), context(QTY))
    assert not decision.accepted
    assert decision.code is RiskCode.MAX_ORDER_QTY
    assert decision.text == "order quantity 10001 exceeds max 10000 by 1"
    assert (decision.limit, decision.value) == (D(10_000), D(10_001))


def test_order_quantity_is_unlimited_when_no_max_is_set() -> None:
    assert check(order(10_000_000)).accepted


def test_order_notional_just_under_the_limit_is_accepted() -> None:
    assert check(order(10_000, "99.99"), context(NOTIONAL)).accepted


def test_order_notional_at_the_limit_is_accepted() -> None:
    assert check(order(10_000, "100.00"), context(NOTIONAL)).accepted


def test_order_notional_over_the_limit_is_rejected_with_the_excess() -> None:
    decision = check(order(10_000, "100.01"), context(NOTIONAL))
    assert decision.code is RiskCode.MAX_ORDER_NOTIONAL
    assert decision.text == (
        "order notional 1000100 (10000 x 100.01 x 1) exceeds max 1000000 by 100"
    )


def test_order_notional_counts_the_contract_multiplier() -> None:
    future = Instrument("ESH6", "SIM", tick_size=D("0.25"), multiplier=D(50))
    at_limit = context(NOTIONAL, instrument=future, reference="5000.00")
    assert check(order(4, "5000.00", symbol="ESH6"), at_limit).accepted  # 4 x 5000 x 50 = 1M
    over = check(order(4, "5000.25", symbol="ESH6"), at_limit)
    assert over.code is RiskCode.MAX_ORDER_NOTIONAL
    assert over.text.endswith("exceeds max 1000000 by 50")


def test_market_buy_is_valued_at_the_reference_moved_up_by_the_collar() -> None:
    # 10000 x 100 x 1.10 = 1,100,000: at the limit.
    assert check(market(10_000), context(NOTIONAL_COLLARED)).accepted
    over = check(market(10_001), context(NOTIONAL_COLLARED))
    assert over.code is RiskCode.MAX_ORDER_NOTIONAL
    assert over.text == (
        "order notional 1100110 (10001 x 110 x 1, valued at reference 100.00 moved by the "
        "10% collar) exceeds max 1100000 by 110"
    )


def test_market_sell_is_valued_at_the_reference_moved_down_by_the_collar() -> None:
    limits = RiskLimits(max_order_notional=D(900_000), price_collar=D("0.10"))
    # 10000 x 100 x 0.90 = 900,000: at the limit.
    assert check(market(10_000, Side.SELL), context(limits)).accepted
    over = check(market(10_001, Side.SELL), context(limits))
    assert over.code is RiskCode.MAX_ORDER_NOTIONAL
    assert "10001 x 90 x 1" in over.text


def test_market_order_without_a_collar_is_valued_at_the_reference_price() -> None:
    assert check(market(10_000), context(NOTIONAL)).accepted
    assert check(market(10_001), context(NOTIONAL)).code is RiskCode.MAX_ORDER_NOTIONAL


def test_market_order_cannot_be_valued_without_a_reference_price() -> None:
    decision = check(market(1), context(NOTIONAL, reference=None))
    assert decision.code is RiskCode.REFERENCE_PRICE_MISSING
    assert decision.text == "no reference price for AAPL"


def test_limit_order_notional_needs_no_reference_price() -> None:
    assert check(order(100, "100.00"), context(NOTIONAL, reference=None)).accepted


def test_zero_quantity_is_rejected_before_any_limit() -> None:
    decision = check(order(0), context(QTY))
    assert decision.code is RiskCode.INVALID_QUANTITY
