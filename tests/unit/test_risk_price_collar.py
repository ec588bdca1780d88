"""Price collar around the reference price, and stale or missing reference prices."""

from __future__ import annotations

import pytest

from oms.domain.risk import RiskCode, RiskLimits
from oms.domain.values import OrdType, Side
from tests.unit.test_risk_support import D, check, context, order, seconds

COLLAR = RiskLimits(price_collar=D("0.10"))
FRESHNESS = RiskLimits(price_collar=D("0.10"), max_reference_age=seconds(5))


@pytest.mark.parametrize("price", ["109.99", "90.01", "100.00"])
def test_limit_price_just_inside_the_collar_is_accepted(price: str) -> None:
    assert check(order(100, price), context(COLLAR)).accepted


@pytest.mark.parametrize("price", ["110.00", "90.00"])
def test_limit_price_at_the_collar_edge_is_accepted(price: str) -> None:
    assert check(order(100, price), context(COLLAR)).accepted
    assert check(order(100, price, side=Side.SELL), context(COLLAR)).accepted


def test_limit_price_one_tick_above_the_collar_is_rejected_with_the_excess() -> None:
    decision = check(order(100, "110.01"), context(COLLAR))
    assert decision.code is RiskCode.PRICE_COLLAR
    assert decision.text == (
        "limit price 110.01 is 10.01% from reference 100.00, outside the 10% collar "
        "(90 to 110) by 0.01"
    )
    assert (decision.limit, decision.value) == (D("110.0000"), D("110.01"))


def test_limit_price_one_tick_below_the_collar_is_rejected_with_the_excess() -> None:
    decision = check(order(100, "89.99", side=Side.SELL), context(COLLAR))
    assert decision.code is RiskCode.PRICE_COLLAR
    assert decision.text.endswith("outside the 10% collar (90 to 110) by 0.01")


def test_stop_price_outside_the_collar_is_rejected() -> None:
    stop = order(100, None, ord_type=OrdType.STOP, stop_price="110.01")
    decision = check(stop, context(COLLAR))
    assert decision.code is RiskCode.PRICE_COLLAR
    assert decision.text.startswith("stop price 110.01")
    assert check(order(100, None, ord_type=OrdType.STOP, stop_price="110.00"),
                 context(COLLAR)).accepted


def test_market_order_passes_the_collar_at_the_reference_price() -> None:
    assert check(order(100, None), context(COLLAR)).accepted


def test_collar_needs_a_reference_price() -> None:
    decision = check(order(100, "100.00"), context(COLLAR, reference=None))
    assert not decision.accepted
    assert decision.code is RiskCode.REFERENCE_PRICE_MISSING
    assert decision.text == "no reference price for AAPL"


def test_reference_price_just_younger_than_the_max_age_is_used() -> None:
    assert check(order(), context(FRESHNESS, reference_age=seconds("4.999999"))).accepted


def test_reference_price_exactly_at_the_max_age_is_used() -> None:
    assert check(order(), context(FRESHNESS, reference_age=seconds(5))).accepted


def test_stale_reference_price_is_rejected_with_its_age() -> None:
    decision = check(order(), context(FRESHNESS, reference_age=seconds("5.25")))
    assert decision.code is RiskCode.REFERENCE_PRICE_STALE
    assert decision.text == (
        "reference price 100.00 for AAPL is 5.25s old (as of 2026-01-05T14:29:54.750000+00:00), "
        "older than the max age 5s by 0.25s"
    )


def test_reference_price_is_not_required_when_no_limit_uses_it() -> None:
    no_reference_limits = RiskLimits(max_order_qty=D(100), max_reference_age=seconds(1))
    assert check(order(), context(no_reference_limits, reference=None)).accepted
    assert check(order(), context(no_reference_limits, reference_age=seconds(60))).accepted
