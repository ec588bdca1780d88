"""The risk checks the engine runs inline: one per kind of request, and what to record after.

The engine builds a ``RiskContext`` for the order's account (and session), calls the check
with the current UTC time, and on ``accepted`` calls the matching ``record_*`` before handling
the next input, so that rate windows and duplicate detection see the accepted request. A
rejected request records nothing. Rejections carry ``RejectSource.RISK``.

A cancel is never refused here: no kill switch, no halt and no message rate stops it (desks
and regulators, RTS 6 and 15c3-5 practice, expect a cancel always to get through). It has no
check, only ``record_cancel``: it still counts in the message-rate windows, so that new orders
and replaces sent after a burst of cancels see the load.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from oms.domain.risk import rules
from oms.domain.risk.codes import RiskCode
from oms.domain.risk.context import RiskContext
from oms.domain.risk.decision import ACCEPTED, RiskDecision
from oms.domain.risk.intents import OrderIntent, ReplaceIntent
from oms.domain.risk.limits import RiskLimits
from oms.domain.risk.rate_window import RateWindows
from oms.domain.risk.text import num

_ZERO = Decimal(0)
_ACCOUNT_ORDER_RATE = RiskCode.ACCOUNT_ORDER_RATE
_SESSION_ORDER_RATE = RiskCode.SESSION_ORDER_RATE
_ACCOUNT_MESSAGE_RATE = RiskCode.ACCOUNT_MESSAGE_RATE
_SESSION_MESSAGE_RATE = RiskCode.SESSION_MESSAGE_RATE


def check_new_order(order: OrderIntent, ctx: RiskContext, now: datetime) -> RiskDecision:
    limits = ctx.limits
    windows = ctx.windows
    return (
        _check_terms(order, order.quantity, ctx, now)
        or rules.too_many_open_orders(ctx)
        or rules.rate_exceeded(
            _ACCOUNT_ORDER_RATE, "account order rate", windows.account_orders,
            limits.account_order_rate, now,
        )
        or rules.rate_exceeded(
            _SESSION_ORDER_RATE, "session order rate", windows.session_orders,
            limits.session_order_rate, now,
        )
        or _message_rates(limits, windows, now)
        or rules.duplicate(order, ctx, now)
        or ACCEPTED
    )


def check_replace(replace: ReplaceIntent, ctx: RiskContext, now: datetime) -> RiskDecision:
    """A replace is checked as the order it would leave (new total quantity and prices); its
    position and exposure effect is the change of open quantity. Kill switches and breaker
    halts block replaces too. It counts as a message, not as a new order."""
    order = replace.order
    new_leaves = replace.new_leaves
    if new_leaves <= _ZERO:
        return RiskDecision.reject(
            RiskCode.INVALID_QUANTITY,
            f"new quantity {num(order.quantity)} is not above the filled quantity "
            f"{num(replace.filled_qty)}",
        )
    added: Decimal = new_leaves - replace.current_leaves
    return (
        _check_terms(order, added, ctx, now)
        or _message_rates(ctx.limits, ctx.windows, now)
        or ACCEPTED
    )


def record_new_order(order: OrderIntent, ctx: RiskContext, now: datetime) -> None:
    """Record an accepted new order in the rate windows and the duplicate detector."""
    limits, windows = ctx.limits, ctx.windows
    if limits.account_order_rate is not None:
        windows.account_orders.record(now)
    if limits.session_order_rate is not None and windows.session_orders is not None:
        windows.session_orders.record(now)
    _record_message(limits, windows, now)
    window = limits.duplicate_window
    if window is not None:
        ctx.duplicates.record(rules.order_key(order), now, window)


def record_replace(ctx: RiskContext, now: datetime) -> None:
    _record_message(ctx.limits, ctx.windows, now)


def record_cancel(limits: RiskLimits, windows: RateWindows, now: datetime) -> None:
    """Count a cancel in the message-rate windows. Every cancel is counted, also one that takes
    a window past its limit (cancels are never refused): the new orders and replaces after it
    are then refused until the window has room again."""
    _record_message(limits, windows, now)


def _check_terms(
    order: OrderIntent, added: Decimal, ctx: RiskContext, now: datetime
) -> RiskDecision | None:
    """The rules new orders and replaces share. ``added``: open quantity the request adds."""
    limits = ctx.limits
    decision = (
        rules.trading_stopped(order, ctx)
        or rules.restricted_symbol(order, limits)
        or rules.malformed(order)
        or rules.off_increment(order, ctx.instrument)
        or rules.too_large(order, limits)
    )
    if decision is not None:
        return decision
    reference: Decimal | None = None
    if rules.needs_reference(order, limits):
        decision = rules.unusable_reference(order, ctx, now)
        if decision is not None:
            return decision
        assert ctx.reference is not None
        reference = ctx.reference.price
        decision = rules.outside_collar(order, limits, reference)
        if decision is not None:
            return decision
    return (
        rules.too_much_notional(order, limits, ctx.instrument.multiplier, reference)
        or rules.position_breach(order.side, added, ctx)
        or rules.exposure_breach(order.side, added, ctx, reference)
    )


def _message_rates(limits: RiskLimits, windows: RateWindows, now: datetime) -> RiskDecision | None:
    return rules.rate_exceeded(
        _ACCOUNT_MESSAGE_RATE, "account message rate", windows.account_messages,
        limits.account_message_rate, now,
    ) or rules.rate_exceeded(
        _SESSION_MESSAGE_RATE, "session message rate", windows.session_messages,
        limits.session_message_rate, now,
    )


def _record_message(limits: RiskLimits, windows: RateWindows, now: datetime) -> None:
    if limits.account_message_rate is not None:
        windows.account_messages.record(now)
    if limits.session_message_rate is not None and windows.session_messages is not None:
        windows.session_messages.record(now)
