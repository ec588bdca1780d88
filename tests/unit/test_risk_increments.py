"""Restricted symbols, tick size and lot size."""

from __future__ import annotations

from oms.domain.risk import RiskCode, RiskLimits
from oms.domain.values import Instrument, OrdType
from tests.unit.test_risk_support import D, check, context, order

ROUND_LOTS = Instrument("LOTS", "SIM", tick_size=D("0.05"), lot_size=D(100))


def in_lots(quantity: int, price: str = "100.00") -> bool:
    return check(order(quantity, price, symbol="LOTS"), context(instrument=ROUND_LOTS)).accepted


def test_quantity_in_whole_lots_is_accepted() -> None:
    assert in_lots(100)
    assert in_lots(300)


def test_quantity_off_the_lot_size_is_rejected_with_the_remainder() -> None:
    decision = check(order(250, "100.00", symbol="LOTS"), context(instrument=ROUND_LOTS))
    assert decision.code is RiskCode.LOT_SIZE
    assert decision.text == (
        "order quantity 250 is not a multiple of lot size 100 for LOTS (off by 50)"
    )


def test_quantity_one_share_under_or_over_a_lot_is_rejected() -> None:
    assert not in_lots(99)
    assert not in_lots(101)


def test_price_on_the_tick_is_accepted() -> None:
    assert in_lots(100, "100.05")
    assert in_lots(100, "100.10")


def test_price_between_ticks_is_rejected_with_the_remainder() -> None:
    decision = check(order(100, "100.03", symbol="LOTS"), context(instrument=ROUND_LOTS))
    assert decision.code is RiskCode.TICK_SIZE
    assert decision.text == (
        "limit price 100.03 is not a multiple of tick size 0.05 for LOTS (off by 0.03)"
    )


def test_price_with_a_sub_penny_is_rejected_on_a_penny_tick() -> None:
    assert check(order(100, "100.01")).accepted
    assert check(order(100, "100.005")).code is RiskCode.TICK_SIZE


def test_stop_price_off_the_tick_is_rejected() -> None:
    stop = order(100, "100.00", ord_type=OrdType.STOP_LIMIT, stop_price="99.995")
    decision = check(stop)
    assert decision.code is RiskCode.TICK_SIZE
    assert decision.text.startswith("stop price 99.995")


def test_restricted_symbol_is_rejected() -> None:
    limits = RiskLimits(restricted_symbols=frozenset({"AAPL"}))
    decision = check(order(), context(limits))
    assert decision.code is RiskCode.RESTRICTED_SYMBOL
    assert decision.text == "symbol AAPL is restricted for account DEMO1"


def test_symbol_not_on_the_restricted_list_is_accepted() -> None:
    limits = RiskLimits(restricted_symbols=frozenset({"MSFT"}))
    assert check(order(), context(limits)).accepted


def test_account_restrictions_add_to_the_firm_wide_list() -> None:
    firm = RiskLimits(restricted_symbols=frozenset({"MSFT"}))
    account = RiskLimits(restricted_symbols=frozenset({"AAPL"}))
    effective = firm.merged(account)
    assert check(order(), context(effective)).code is RiskCode.RESTRICTED_SYMBOL
    assert check(order(symbol="MSFT"), context(effective)).code is RiskCode.RESTRICTED_SYMBOL


def test_limit_order_without_a_price_is_rejected() -> None:
    decision = check(order(100, None, ord_type=OrdType.LIMIT))
    assert decision.code is RiskCode.INVALID_PRICE
