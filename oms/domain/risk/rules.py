"""The individual pre-trade rules. Each returns ``None`` when the order passes it, or the
rejecting decision, so that ``checks`` can chain them with ``or`` and stop at the first reject.

Accepting allocates nothing but the Decimal arithmetic itself; texts are built on reject only.
Boundaries: a figure *at* its limit passes, one *over* it is rejected.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from oms.domain.risk.codes import RiskCode
from oms.domain.risk.context import RiskContext
from oms.domain.risk.decision import RiskDecision
from oms.domain.risk.intents import OrderIntent
from oms.domain.risk.limits import RateLimit, RiskLimits
from oms.domain.risk.rate_window import SlidingWindow
from oms.domain.risk.text import computed, num, percent, seconds
from oms.domain.values import Instrument, OrdType, Side

_reject = RiskDecision.reject
_ZERO = Decimal(0)
_HUNDRED = Decimal(100)
_CENT = Decimal("0.01")

# Enum members and properties cost a class-attribute lookup (or a Python call) each time; the
# hot path compares identities against these module constants instead.
_BUY = Side.BUY
_LIMIT = OrdType.LIMIT
_STOP = OrdType.STOP
_STOP_LIMIT = OrdType.STOP_LIMIT


def has_limit_price(ord_type: OrdType) -> bool:
    return ord_type is _LIMIT or ord_type is _STOP_LIMIT


def has_stop_price(ord_type: OrdType) -> bool:
    return ord_type is _STOP or ord_type is _STOP_LIMIT


def trading_stopped(order: OrderIntent, ctx: RiskContext) -> RiskDecision | None:
    blocked = ctx.kill_switch.is_blocked(order.account, order.venue, order.symbol)
    if blocked is not None:
        return _reject(RiskCode.KILL_SWITCH, blocked)
    halted = ctx.breaker.halted_text
    if halted is not None:
        return _reject(RiskCode.ACCOUNT_HALTED, halted)
    return None


def restricted_symbol(order: OrderIntent, limits: RiskLimits) -> RiskDecision | None:
    restricted = limits.restricted_symbols
    if restricted and order.symbol in restricted:
        return _reject(
            RiskCode.RESTRICTED_SYMBOL,
            f"symbol {order.symbol} is restricted for account {order.account}",
        )
    return None


def malformed(order: OrderIntent) -> RiskDecision | None:
    """Figures no risk limit can be evaluated on (validation should have caught them)."""
    if order.quantity <= _ZERO:
        return _reject(
            RiskCode.INVALID_QUANTITY, f"order quantity {num(order.quantity)} is not positive"
        )
    ord_type = order.ord_type
    price, stop = order.price, order.stop_price
    if (ord_type is _LIMIT or ord_type is _STOP_LIMIT) and (price is None or price <= _ZERO):
        return _reject(RiskCode.INVALID_PRICE, f"a {ord_type} order needs a positive price")
    if (ord_type is _STOP or ord_type is _STOP_LIMIT) and (stop is None or stop <= _ZERO):
        return _reject(RiskCode.INVALID_PRICE, f"a {ord_type} order needs a positive stop price")
    return None


def off_increment(order: OrderIntent, instrument: Instrument) -> RiskDecision | None:
    lot = instrument.lot_size
    if lot:
        remainder = order.quantity % lot
        if remainder:
            return _reject(
                RiskCode.LOT_SIZE,
                f"order quantity {num(order.quantity)} is not a multiple of lot size "
                f"{num(lot)} for {order.symbol} (off by {num(remainder)})",
                lot, order.quantity,
            )
    tick = instrument.tick_size
    if tick:
        ord_type = order.ord_type
        price = order.price
        if price is not None and (ord_type is _LIMIT or ord_type is _STOP_LIMIT) and price % tick:
            return _off_tick("limit price", price, tick, order.symbol)
        stop = order.stop_price
        if stop is not None and (ord_type is _STOP or ord_type is _STOP_LIMIT) and stop % tick:
            return _off_tick("stop price", stop, tick, order.symbol)
    return None


def _off_tick(label: str, price: Decimal, tick: Decimal, symbol: str) -> RiskDecision:
    return _reject(
        RiskCode.TICK_SIZE,
        f"{label} {num(price)} is not a multiple of tick size {num(tick)} for {symbol} "
        f"(off by {num(price % tick)})",
        tick, price,
    )


def too_large(order: OrderIntent, limits: RiskLimits) -> RiskDecision | None:
    max_qty = limits.max_order_qty
    if max_qty is not None and order.quantity > max_qty:
        return _reject(
            RiskCode.MAX_ORDER_QTY,
            f"order quantity {num(order.quantity)} exceeds max {num(max_qty)} "
            f"by {num(order.quantity - max_qty)}",
            max_qty, order.quantity,
        )
    return None


def needs_reference(order: OrderIntent, limits: RiskLimits) -> bool:
    """Whether a limit set for this order is measured against the reference price."""
    return (
        limits.price_collar is not None
        or limits.max_gross_exposure is not None
        or (limits.max_order_notional is not None and not has_limit_price(order.ord_type))
    )


def unusable_reference(
    order: OrderIntent, ctx: RiskContext, now: datetime
) -> RiskDecision | None:
    ref = ctx.reference
    if ref is None or ref.price <= _ZERO:
        return _reject(
            RiskCode.REFERENCE_PRICE_MISSING, f"no reference price for {order.symbol}"
        )
    max_age = ctx.limits.max_reference_age
    if max_age is not None:
        age = now - ref.as_of
        if age > max_age:
            return _reject(
                RiskCode.REFERENCE_PRICE_STALE,
                f"reference price {num(ref.price)} for {order.symbol} is {seconds(age)} old "
                f"(as of {ref.as_of.isoformat()}), older than the max age "
                f"{seconds(max_age)} by {seconds(age - max_age)}",
            )
    return None


def outside_collar(
    order: OrderIntent, limits: RiskLimits, reference: Decimal
) -> RiskDecision | None:
    collar = limits.price_collar
    if collar is None:
        return None
    band = reference * collar
    ord_type = order.ord_type
    price = order.price
    if (
        price is not None
        and (ord_type is _LIMIT or ord_type is _STOP_LIMIT)
        and abs(price - reference) > band
    ):
        return _collar_breach("limit price", price, reference, collar, band)
    stop = order.stop_price
    if (
        stop is not None
        and (ord_type is _STOP or ord_type is _STOP_LIMIT)
        and abs(stop - reference) > band
    ):
        return _collar_breach("stop price", stop, reference, collar, band)
    return None


def _collar_breach(
    label: str, price: Decimal, reference: Decimal, collar: Decimal, band: Decimal
) -> RiskDecision:
    distance = abs(price - reference)
    pct = (distance * _HUNDRED / reference).quantize(_CENT)
    low, high = reference - band, reference + band
    return _reject(
        RiskCode.PRICE_COLLAR,
        f"{label} {num(price)} is {num(pct)}% from reference {num(reference)}, outside the "
        f"{percent(collar)} collar ({computed(low)} to {computed(high)}) "
        f"by {computed(distance - band)}",
        high if price > reference else low, price,
    )


def too_much_notional(
    order: OrderIntent, limits: RiskLimits, multiplier: Decimal, reference: Decimal | None
) -> RiskDecision | None:
    """Notional = quantity x price x multiplier; without a limit price (market and stop orders)
    the price is the reference moved by the collar against the order (up for a buy, down for a
    sell)."""
    max_notional = limits.max_order_notional
    if max_notional is None:
        return None
    priced = has_limit_price(order.ord_type)
    if priced:
        price = order.price
        assert price is not None  # malformed() ran first
    else:
        assert reference is not None  # needs_reference() made sure of it
        price = reference * (limits.collar_up if order.side is _BUY else limits.collar_down)
    notional = order.quantity * price * multiplier
    if notional > max_notional:
        how = ""
        if not priced:
            how = f", valued at reference {num(reference or price)}"
            if limits.price_collar:
                how += f" moved by the {percent(limits.price_collar)} collar"
        return _reject(
            RiskCode.MAX_ORDER_NOTIONAL,
            f"order notional {computed(notional)} ({num(order.quantity)} x {computed(price)} x "
            f"{num(multiplier)}{how}) exceeds max {num(max_notional)} "
            f"by {computed(notional - max_notional)}",
            max_notional, notional,
        )
    return None


def too_many_open_orders(ctx: RiskContext) -> RiskDecision | None:
    max_open = ctx.limits.max_open_orders
    if max_open is not None and ctx.open_orders >= max_open:
        would_be = ctx.open_orders + 1
        return _reject(
            RiskCode.MAX_OPEN_ORDERS,
            f"open orders would be {would_be}, exceeding max {max_open} by {would_be - max_open}",
            Decimal(max_open), Decimal(would_be),
        )
    return None


def position_breach(side: Side, added: Decimal, ctx: RiskContext) -> RiskDecision | None:
    """``added``: open quantity the order adds on its side (its quantity, or a replace's change
    of leaves). Orders adding nothing pass, so risk can always be reduced."""
    max_position = ctx.limits.max_position
    if max_position is None or added <= _ZERO:
        return None
    if side is _BUY:
        worst = ctx.position + ctx.open_buy_leaves + added
        if worst > max_position:
            return _position_reject("long", worst, max_position, ctx, added)
    else:
        worst = ctx.open_sell_leaves + added - ctx.position
        if worst > max_position:
            return _position_reject("short", worst, max_position, ctx, added)
    return None


def _position_reject(
    direction: str, worst: Decimal, max_position: Decimal, ctx: RiskContext, added: Decimal
) -> RiskDecision:
    side_leaves = ctx.open_buy_leaves if direction == "long" else ctx.open_sell_leaves
    return _reject(
        RiskCode.MAX_POSITION,
        f"worst-case {direction} position {num(worst)} in {ctx.instrument.symbol} (position "
        f"{num(ctx.position)}, open {'buys' if direction == 'long' else 'sells'} "
        f"{num(side_leaves)}, this order adds {num(added)}) exceeds max {num(max_position)} "
        f"by {num(worst - max_position)}",
        max_position, worst,
    )


def exposure_breach(
    side: Side, added: Decimal, ctx: RiskContext, reference: Decimal | None
) -> RiskDecision | None:
    """Reject if the order raises the account's worst-case gross exposure above the max."""
    max_gross = ctx.limits.max_gross_exposure
    if max_gross is None or added <= _ZERO:
        return None
    assert reference is not None  # needs_reference() made sure of it
    # Worst case = the larger magnitude of "all buys fill" and "all sells fill". The order
    # moves one of the two outward; it adds exposure only if that side becomes the larger.
    long = ctx.position + ctx.open_buy_leaves
    short = ctx.position - ctx.open_sell_leaves
    long_size = -long if long < _ZERO else long
    short_size = -short if short < _ZERO else short
    before = long_size if long_size > short_size else short_size
    moved = long + added if side is _BUY else short - added
    after = -moved if moved < _ZERO else moved
    if after <= before:
        return None
    gross = ctx.other_gross_exposure + after * reference * ctx.instrument.multiplier
    if gross > max_gross:
        return _reject(
            RiskCode.MAX_GROSS_EXPOSURE,
            f"worst-case gross exposure {computed(gross)} (other symbols "
            f"{num(ctx.other_gross_exposure)}, {ctx.instrument.symbol} {num(after)} at "
            f"{num(reference)}) exceeds max {num(max_gross)} by {computed(gross - max_gross)}",
            max_gross, gross,
        )
    return None


def rate_exceeded(
    code: RiskCode,
    what: str,
    window: SlidingWindow | None,
    rate: RateLimit | None,
    now: datetime,
) -> RiskDecision | None:
    if rate is None or window is None:
        return None
    would_be = window.count(now, rate.per) + 1
    if would_be > rate.count:
        return _reject(
            code,
            f"{what} would be {would_be} in {seconds(rate.per)}, exceeding max "
            f"{rate.describe()} by {would_be - rate.count}",
            Decimal(rate.count), Decimal(would_be),
        )
    return None


def duplicate(order: OrderIntent, ctx: RiskContext, now: datetime) -> RiskDecision | None:
    window = ctx.limits.duplicate_window
    if window is None:
        return None
    seen = ctx.duplicates.last_seen(order_key(order), now, window)
    if seen is not None:
        return _reject(
            RiskCode.DUPLICATE_ORDER,
            f"duplicate of an order with the same account, symbol, side, quantity and price "
            f"accepted {seconds(now - seen)} ago (duplicate window {seconds(window)})",
        )
    return None


def order_key(
    order: OrderIntent,
) -> tuple[str, str, Side, Decimal, Decimal | None, Decimal | None]:
    return (
        order.account, order.symbol, order.side, order.quantity, order.price, order.stop_price
    )
