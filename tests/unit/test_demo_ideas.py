"""The sample strategy's orders: inside the default limits unless meant to be rejected."""

from __future__ import annotations

from collections import Counter
from decimal import Decimal
from pathlib import Path

import pytest

from oms.demo.ideas import CROSS_SYMBOL, Ideas, instruments_from
from oms.demo.tally import Intent, TrackedOrder
from oms.settings import load_settings

CONFIG = Path(__file__).resolve().parents[2] / "config" / "oms.toml"


@pytest.fixture
def ideas() -> Ideas:
    settings = load_settings({"OMS_CONFIG": str(CONFIG)})
    return Ideas(instruments_from(settings.file.instruments), seed=3)


def outside_limits(order_symbol: str, quantity: Decimal, price: Decimal | None,
                   ideas: Ideas) -> bool:
    if order_symbol not in ideas.instruments:
        return True
    reference = ideas.instruments[order_symbol].reference_price
    notional = quantity * (price or reference)
    collar = price is not None and abs(price / reference - 1) > Decimal("0.10")
    return quantity > 10_000 or notional > 1_000_000 or collar


def test_only_the_tests_are_outside_the_default_limits(ideas: Ideas) -> None:
    intents: Counter[Intent] = Counter()
    for _ in range(3000):
        for order in ideas.next_orders({}):
            intents[order.intent] += 1
            meant = order.intent in (Intent.RISK_TEST, Intent.VALIDATION_TEST)
            assert outside_limits(order.symbol, order.quantity, order.price, ideas) == meant
            assert order.quantity > 0
    assert all(intents[i] > 0 for i in Intent)
    assert intents[Intent.RISK_TEST] < 0.05 * sum(intents.values())


def test_a_cross_is_two_accounts_on_opposite_sides_at_one_price(ideas: Ideas) -> None:
    crosses = [o for _ in range(500) if len(o := ideas.next_orders({})) == 2]
    assert crosses
    for maker, taker in crosses:
        assert maker.symbol == taker.symbol == CROSS_SYMBOL and maker.price == taker.price
        assert maker.account != taker.account and maker.side != taker.side
        assert taker.quantity <= maker.quantity


def test_sides_lean_against_a_large_position(ideas: Ideas) -> None:
    long = {(a, s): Decimal(50_000) for a in ("DEMO1", "DEMO2") for s in ("AAPL", "MSFT")}
    sides = Counter(o.side for _ in range(2000) for o in ideas.next_orders(long)
                    if o.symbol in ("AAPL", "MSFT") and o.intent is Intent.TAKE)
    assert sides["sell"] > 2 * sides["buy"]


def test_the_same_seed_gives_the_same_orders() -> None:
    settings = load_settings({"OMS_CONFIG": str(CONFIG)})
    first = Ideas(instruments_from(settings.file.instruments), seed=9)
    second = Ideas(instruments_from(settings.file.instruments), seed=9)
    assert [first.next_orders({}) for _ in range(50)] == [
        second.next_orders({}) for _ in range(50)]


def test_resting_orders_are_cancelled_or_replaced_toward_the_market(ideas: Ideas) -> None:
    actions: Counter[str] = Counter()
    for n in range(400):
        order = TrackedOrder(f"r{n}", "DEMO1", "AAPL", "buy", Intent.REST, 0, f"r{n}")
        step = ideas.follow_up(order, Decimal("185.00"), Decimal("100"))
        actions[step.action if step else "none"] += 1
        if step and step.action == "replace":
            assert step.price is not None and step.price > Decimal("185.00")
    assert actions["cancel"] > actions["replace"] > actions["none"] > 0


def test_settings_without_the_demo_instruments_are_refused() -> None:
    with pytest.raises(ValueError, match="ZVZZT"):
        Ideas({}, seed=1)
