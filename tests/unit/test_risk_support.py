"""Builders shared by the risk unit tests (no tests here).

The defaults describe a quiet account trading AAPL at a fresh reference price of 100.00 with
no limits set; each test sets the one limit it is about.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from oms.domain.risk import (
    DuplicateOrderGuard,
    ExecutionBreaker,
    KillSwitch,
    OrderIntent,
    RateWindows,
    ReferencePrice,
    RiskContext,
    RiskDecision,
    RiskLimits,
    SlidingWindow,
    check_new_order,
)
from oms.domain.values import Instrument, OrdType, Side

D = Decimal
NOW = datetime(2026, 1, 5, 14, 30, tzinfo=UTC)
AAPL = Instrument("AAPL", "SIM", tick_size=D("0.01"), lot_size=D("1"))
REFERENCE = D("100.00")


def seconds(value: str | float) -> timedelta:
    return timedelta(microseconds=int(D(str(value)) * 1_000_000))


def order(
    quantity: str | int = 100,
    price: str | None = "100.00",
    *,
    side: Side = Side.BUY,
    ord_type: OrdType | None = None,
    stop_price: str | None = None,
    symbol: str = "AAPL",
    account: str = "DEMO1",
    venue: str = "SIM",
) -> OrderIntent:
    """A limit order by default; a market order when ``price`` is None."""
    if ord_type is None:
        ord_type = OrdType.MARKET if price is None else OrdType.LIMIT
    return OrderIntent(
        account, symbol, venue, side, ord_type, D(quantity),
        None if price is None else D(price), None if stop_price is None else D(stop_price),
    )


def market(quantity: str | int, side: Side = Side.BUY) -> OrderIntent:
    return order(quantity, None, side=side)


def windows() -> RateWindows:
    return RateWindows(SlidingWindow(), SlidingWindow(), SlidingWindow(), SlidingWindow())


def context(
    limits: RiskLimits | None = None,
    *,
    instrument: Instrument = AAPL,
    reference: str | None = "100.00",
    reference_age: timedelta = timedelta(0),
    kill_switch: KillSwitch | None = None,
    breaker: ExecutionBreaker | None = None,
    rate_windows: RateWindows | None = None,
    duplicates: DuplicateOrderGuard | None = None,
    open_orders: int = 0,
    position: str | int = 0,
    open_buy_leaves: str | int = 0,
    open_sell_leaves: str | int = 0,
    other_gross_exposure: str | int = 0,
) -> RiskContext:
    return RiskContext(
        limits=limits or RiskLimits(),
        instrument=instrument,
        reference=None if reference is None else ReferencePrice(D(reference), NOW - reference_age),
        kill_switch=kill_switch or KillSwitch(),
        breaker=breaker or ExecutionBreaker("DEMO1"),
        windows=rate_windows or windows(),
        duplicates=duplicates or DuplicateOrderGuard(),
        open_orders=open_orders,
        position=D(position),
        open_buy_leaves=D(open_buy_leaves),
        open_sell_leaves=D(open_sell_leaves),
        other_gross_exposure=D(other_gross_exposure),
    )


def check(new: OrderIntent, ctx: RiskContext | None = None, now: datetime = NOW) -> RiskDecision:
    return check_new_order(new, ctx or context(), now)
