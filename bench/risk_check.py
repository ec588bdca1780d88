"""Micro-benchmark of the inline pre-trade risk check (not a test).

Times ``check_new_order`` for one limit order with every limit configured (collar, stale
reference, notional, quantity, open orders, position, exposure, account and session rates,
duplicate detection), the way the engine runs it, and prints p50/p99 in microseconds. Accepted
orders are recorded between timings, so the rate windows and the duplicate detector hold a
realistic load. It also reports the time including building the ``RiskContext``, which the
engine does per order. ``run`` returns the figures for ``oms bench``.

    .venv/bin/python bench/risk_check.py [iterations]
"""

from __future__ import annotations

import dataclasses
import sys
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from oms.domain.risk import (
    DuplicateOrderGuard,
    ExecutionBreaker,
    KillSwitch,
    OrderIntent,
    RateLimit,
    RateWindows,
    ReferencePrice,
    RiskContext,
    RiskLimits,
    SlidingWindow,
    check_new_order,
    record_new_order,
)
from oms.domain.values import Instrument, KillScope, OperatorRole, OrdType, Side

TARGET_P50_US = 20.0


def _limits() -> RiskLimits:
    second = timedelta(seconds=1)
    return RiskLimits(
        max_order_qty=Decimal(10_000),
        max_order_notional=Decimal(1_000_000),
        price_collar=Decimal("0.10"),
        max_reference_age=timedelta(seconds=5),
        max_open_orders=1_000,
        max_position=Decimal(1_000_000),
        max_gross_exposure=Decimal(100_000_000),
        account_order_rate=RateLimit(2_000, second),
        account_message_rate=RateLimit(4_000, second),
        session_order_rate=RateLimit(2_000, second),
        session_message_rate=RateLimit(4_000, second),
        duplicate_window=second,
        restricted_symbols=frozenset({"ZZZZ", "XXXX"}),
    )


def _percentile(sorted_ns: list[int], fraction: float) -> float:
    index = min(len(sorted_ns) - 1, int(fraction * len(sorted_ns)))
    return sorted_ns[index] / 1000.0


def run(iterations: int = 100_000) -> dict[str, float]:
    """Time ``iterations`` checks; figures in microseconds (``rejected`` should be 0)."""
    start = datetime(2026, 1, 5, 14, 30, tzinfo=UTC)
    kill_switch = KillSwitch()
    # A switch tripped elsewhere, so the check takes the realistic (non-empty) path.
    kill_switch.trip(KillScope.SYMBOL, "XXXX", "bench", OperatorRole.ADMIN, "bench", start)
    ctx = RiskContext(
        limits=_limits(),
        instrument=Instrument("AAPL", "SIM", tick_size=Decimal("0.01")),
        reference=ReferencePrice(Decimal("100.00"), start),
        kill_switch=kill_switch,
        breaker=ExecutionBreaker("DEMO1"),
        windows=RateWindows(
            SlidingWindow(), SlidingWindow(), SlidingWindow(), SlidingWindow()
        ),
        duplicates=DuplicateOrderGuard(),
        open_orders=250,
        position=Decimal(5_000),
        open_buy_leaves=Decimal(20_000),
        open_sell_leaves=Decimal(15_000),
        other_gross_exposure=Decimal(30_000_000),
    )
    prices = [Decimal("100.00") + Decimal(k) / 100 for k in range(-50, 51)]
    orders = [
        OrderIntent(
            "DEMO1", "AAPL", "SIM", Side.BUY if q % 2 else Side.SELL, OrdType.LIMIT,
            Decimal(q), prices[q % len(prices)],
        )
        for q in range(1, 2_001)
    ]
    step = timedelta(milliseconds=1)
    samples = [0] * iterations
    with_context = [0] * iterations
    rejected = 0
    clock = time.perf_counter_ns
    for i in range(iterations):
        order = orders[i % len(orders)]
        now = start + step * i
        ctx = _with_fresh_reference(ctx, now, i)
        t0 = clock()
        ctx = _rebuilt(ctx)
        t1 = clock()
        decision = check_new_order(order, ctx, now)
        t2 = clock()
        samples[i] = t2 - t1
        with_context[i] = t2 - t0
        if decision.accepted:
            record_new_order(order, ctx, now)
        else:
            rejected += 1
    samples.sort()
    with_context.sort()
    return {
        "iterations": float(iterations),
        "p50_us": _percentile(samples, 0.50),
        "p99_us": _percentile(samples, 0.99),
        "max_us": samples[-1] / 1000.0,
        "p50_with_context_us": _percentile(with_context, 0.50),
        "p99_with_context_us": _percentile(with_context, 0.99),
        "rejected": float(rejected),
    }


def _rebuilt(ctx: RiskContext) -> RiskContext:
    """A new context from the same parts, as the engine builds one per order."""
    return RiskContext(
        ctx.limits, ctx.instrument, ctx.reference, ctx.kill_switch, ctx.breaker, ctx.windows,
        ctx.duplicates, ctx.open_orders, ctx.position, ctx.open_buy_leaves,
        ctx.open_sell_leaves, ctx.other_gross_exposure,
    )


def _with_fresh_reference(ctx: RiskContext, now: datetime, i: int) -> RiskContext:
    """Refresh the reference price now and then, as the engine would when prices tick."""
    if i % 1_000:
        return ctx
    assert ctx.reference is not None
    return dataclasses.replace(ctx, reference=ReferencePrice(ctx.reference.price, now))


def main(argv: list[str]) -> int:
    iterations = int(argv[1]) if len(argv) > 1 else 100_000
    run(min(iterations, 10_000))  # warm up
    figures = run(iterations)
    print(
        f"risk check_new_order: {int(figures['iterations'])} iterations, "
        f"p50 {figures['p50_us']:.2f} us, p99 {figures['p99_us']:.2f} us, "
        f"max {figures['max_us']:.1f} us, rejected {int(figures['rejected'])} "
        f"(target p50 <= {TARGET_P50_US:.0f} us)\n"
        f"  including building the RiskContext: p50 {figures['p50_with_context_us']:.2f} us, "
        f"p99 {figures['p99_with_context_us']:.2f} us"
    )
    return 0 if figures["p50_us"] <= TARGET_P50_US else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
