"""Property tests: an order passes the checks exactly when it breaks no limit.

The oracle below restates every rule independently of the implementation (from the business
definitions in the risk package docstrings), so an accepted order provably violates nothing and
a rejected one is rejected for a rule it really breaks.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

from hypothesis import event, given, settings
from hypothesis import strategies as st

from oms.domain.risk import (
    OrderIntent,
    RateLimit,
    ReplaceIntent,
    RiskCode,
    RiskContext,
    RiskLimits,
    check_new_order,
    check_replace,
    record_cancel,
    record_new_order,
)
from oms.domain.values import Instrument, OrdType, Side
from tests.unit.test_risk_support import NOW, D, context, seconds, windows

BOUNDED = settings(max_examples=200, deadline=None)
TICKS = [D("0.01"), D("0.05"), D("0.25")]
LOTS = [D(1), D(10), D(100)]


def maybe(strategy: st.SearchStrategy[object]) -> st.SearchStrategy[object]:
    return st.none() | strategy


def mostly() -> st.SearchStrategy[bool]:
    """True nine times in ten: keeps most generated orders clear of the cheap rejects."""
    return st.integers(0, 9).map(lambda n: n < 9)


def decimals(low: int, high: int) -> st.SearchStrategy[Decimal]:
    return st.integers(low, high).map(Decimal)


limits_strategy = st.builds(
    RiskLimits,
    max_order_qty=maybe(decimals(1, 40_000)),
    max_order_notional=maybe(decimals(1, 3_000_000)),
    price_collar=maybe(st.sampled_from([D(0), D("0.01"), D("0.05"), D("0.10"), D("0.25")])),
    max_reference_age=maybe(st.integers(1, 10).map(seconds)),
    max_open_orders=maybe(st.integers(0, 100)),
    max_position=maybe(decimals(0, 60_000)),
    max_gross_exposure=maybe(decimals(0, 20_000_000)),
    restricted_symbols=st.sampled_from(
        [frozenset(), frozenset({"MSFT"}), frozenset({"MSFT", "ZVZZT"})] * 3
        + [frozenset({"AAPL"})]
    ),
)


@st.composite
def scenarios(draw: st.DrawFn) -> tuple[OrderIntent, RiskContext]:
    tick, lot = draw(st.sampled_from(TICKS)), draw(st.sampled_from(LOTS))
    instrument = Instrument("AAPL", "SIM", tick_size=tick, lot_size=lot,
                            multiplier=draw(st.sampled_from([D(1), D(50)])))
    reference = (draw(st.integers(100, 50_000)) / D(100)) if draw(mostly()) else None
    ctx = context(
        draw(limits_strategy),
        instrument=instrument,
        reference=None if reference is None else str(reference),
        reference_age=timedelta(milliseconds=draw(st.integers(0, 8_000))),
        open_orders=draw(st.integers(0, 60)),
        position=draw(st.integers(-20_000, 20_000)),
        open_buy_leaves=draw(st.integers(0, 20_000)),
        open_sell_leaves=draw(st.integers(0, 20_000)),
        other_gross_exposure=draw(st.integers(0, 5_000_000)),
    )
    ord_type = draw(st.sampled_from(list(OrdType)))
    around = reference if reference is not None else D(100)
    around = (around / tick).to_integral_value() * tick  # the nearest tick

    def price() -> Decimal:
        # Mostly on the tick near the reference; sometimes a sub-tick price.
        step = tick if draw(mostly()) else tick / 2
        return max(step, around + step * draw(st.integers(-600, 600)))

    quantity = D(draw(st.integers(1, 200))) * lot if draw(mostly()) else D(
        draw(st.integers(1, 20_000)))
    order = OrderIntent(
        "DEMO1", "AAPL", "SIM", draw(st.sampled_from(list(Side))), ord_type, quantity,
        price() if ord_type.needs_price else None,
        price() if ord_type.needs_stop_price else None,
    )
    return order, ctx


def violations(
    order: OrderIntent, ctx: RiskContext, now: datetime, added: Decimal
) -> set[RiskCode]:
    """Every rule the order breaks, by the business definitions (``added``: the open quantity
    it adds on its side: its quantity for a new order)."""
    lim, ins = ctx.limits, ctx.instrument
    broken: set[RiskCode] = set()
    buy = order.side is Side.BUY
    limit_price = order.price if order.ord_type.needs_price else None
    prices = [p for p in (limit_price, order.stop_price) if p is not None]
    if order.symbol in lim.restricted_symbols:
        broken.add(RiskCode.RESTRICTED_SYMBOL)
    if order.quantity % ins.lot_size != 0:
        broken.add(RiskCode.LOT_SIZE)
    if any(p % ins.tick_size != 0 for p in prices):
        broken.add(RiskCode.TICK_SIZE)
    if lim.max_order_qty is not None and order.quantity > lim.max_order_qty:
        broken.add(RiskCode.MAX_ORDER_QTY)
    uses_reference = (lim.price_collar is not None or lim.max_gross_exposure is not None
                      or (lim.max_order_notional is not None and limit_price is None))
    ref = ctx.reference
    usable = ref is not None
    if uses_reference and ref is None:
        broken.add(RiskCode.REFERENCE_PRICE_MISSING)
    if (uses_reference and ref is not None and lim.max_reference_age is not None
            and now - ref.as_of > lim.max_reference_age):
        broken.add(RiskCode.REFERENCE_PRICE_STALE)
        usable = False
    if usable and ref is not None and lim.price_collar is not None and any(
            abs(p - ref.price) > ref.price * lim.price_collar for p in prices):
        broken.add(RiskCode.PRICE_COLLAR)
    if lim.max_order_notional is not None:
        valued_at = limit_price
        if valued_at is None and usable and ref is not None:
            collar = lim.price_collar or D(0)
            valued_at = ref.price * (1 + collar if buy else 1 - collar)
        if valued_at is not None and (
                order.quantity * valued_at * ins.multiplier > lim.max_order_notional):
            broken.add(RiskCode.MAX_ORDER_NOTIONAL)
    if added > 0 and lim.max_position is not None:
        long_after = ctx.position + ctx.open_buy_leaves + added
        short_after = -(ctx.position - ctx.open_sell_leaves - added)
        if (long_after if buy else short_after) > lim.max_position:
            broken.add(RiskCode.MAX_POSITION)
    if added > 0 and lim.max_gross_exposure is not None and usable and ref is not None:
        long_, short_ = ctx.position + ctx.open_buy_leaves, ctx.position - ctx.open_sell_leaves
        before = max(abs(long_), abs(short_))
        after = max(abs(long_ + added), abs(short_)) if buy else max(
            abs(long_), abs(short_ - added))
        gross = ctx.other_gross_exposure + after * ref.price * ins.multiplier
        if after > before and gross > lim.max_gross_exposure:
            broken.add(RiskCode.MAX_GROSS_EXPOSURE)
    return broken


@BOUNDED
@given(scenarios())
def test_a_new_order_is_accepted_exactly_when_it_breaks_no_limit(
    scenario: tuple[OrderIntent, RiskContext],
) -> None:
    order, ctx = scenario
    broken = violations(order, ctx, NOW, order.quantity)
    max_open = ctx.limits.max_open_orders
    if max_open is not None and ctx.open_orders + 1 > max_open:
        broken.add(RiskCode.MAX_OPEN_ORDERS)
    decision = check_new_order(order, ctx, NOW)
    event(f"new order: {decision.code or 'accepted'}")
    assert decision.accepted == (not broken), (decision, broken)
    if not decision.accepted:
        assert decision.code in broken
        assert decision.text


@BOUNDED
@given(scenarios(), st.integers(0, 100), st.integers(0, 2_000))
def test_a_replace_is_accepted_exactly_when_the_replaced_order_breaks_no_limit(
    scenario: tuple[OrderIntent, RiskContext], filled_pct: int, current: int
) -> None:
    order, ctx = scenario
    filled = (order.quantity * filled_pct / 100).to_integral_value()
    current_leaves = min(D(current), ctx.open_buy_leaves if order.side is Side.BUY
                         else ctx.open_sell_leaves)
    replace = ReplaceIntent(order, filled, current_leaves)
    decision = check_replace(replace, ctx, NOW)
    if replace.new_leaves <= 0:
        assert decision.code is RiskCode.INVALID_QUANTITY
        return
    broken = violations(order, ctx, NOW, replace.new_leaves - current_leaves)
    event(f"replace: {decision.code or 'accepted'}")
    assert decision.accepted == (not broken), (decision, broken)
    if not decision.accepted:
        assert decision.code in broken


ORDER_RATE = RateLimit(5, seconds(1))
MESSAGE_RATE = RateLimit(8, seconds(1))


@BOUNDED
@given(st.lists(st.tuples(st.integers(0, 400), st.booleans()), min_size=1, max_size=80))
def test_new_orders_respect_the_rates_and_cancels_always_go_counted(
    arrivals: list[tuple[int, bool]],
) -> None:
    """A new order is accepted exactly when the order and message windows (which hold every
    cancel, also those past the limit) have room; a cancel is never refused, always counted."""
    limits = RiskLimits(account_order_rate=ORDER_RATE, account_message_rate=MESSAGE_RATE)
    ctx = context(limits, rate_windows=windows())
    now = NOW
    orders: list[datetime] = []
    messages: list[datetime] = []
    for i, (gap_ms, is_order) in enumerate(arrivals):
        now += timedelta(milliseconds=gap_ms)
        in_orders = sum(t > now - ORDER_RATE.per for t in orders)
        in_messages = sum(t > now - MESSAGE_RATE.per for t in messages)
        if is_order:
            new = OrderIntent("DEMO1", "AAPL", "SIM", Side.BUY, OrdType.LIMIT, D(i + 1), D(100))
            decision = check_new_order(new, ctx, now)
            allowed = in_orders < ORDER_RATE.count and in_messages < MESSAGE_RATE.count
            assert decision.accepted == allowed
            if decision.accepted:
                record_new_order(new, ctx, now)
                orders.append(now)
                messages.append(now)
        else:
            record_cancel(limits, ctx.windows, now)
            messages.append(now)
            assert ctx.windows.account_messages.count(now, MESSAGE_RATE.per) == in_messages + 1
