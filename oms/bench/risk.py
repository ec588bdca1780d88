"""The inline pre-trade risk check alone: ``check_new_order`` for one limit order with every
limit configured (collar, stale reference, notional, quantity, open orders, position,
exposure, account and session rates, duplicate detection), the way the engine runs it.

Accepted orders are recorded between timings, so the rate windows and the duplicate detector
hold a realistic load. Each call is timed on its own (HdrHistogram, nanoseconds); throughput is
calls per second back to back. The time including building the ``RiskContext``, which the
engine does per order, is reported beside it."""

from __future__ import annotations

import dataclasses
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from oms.bench.stats import histogram_of, summary_us
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


def _context(start: datetime) -> RiskContext:
    kill_switch = KillSwitch()
    # A switch tripped elsewhere, so the check takes the realistic (non-empty) path.
    kill_switch.trip(KillScope.SYMBOL, "XXXX", "bench", OperatorRole.ADMIN, "bench", start)
    return RiskContext(
        limits=_limits(),
        instrument=Instrument("AAPL", "SIM", tick_size=Decimal("0.01")),
        reference=ReferencePrice(Decimal("100.00"), start),
        kill_switch=kill_switch,
        breaker=ExecutionBreaker("DEMO1"),
        windows=RateWindows(SlidingWindow(), SlidingWindow(), SlidingWindow(), SlidingWindow()),
        duplicates=DuplicateOrderGuard(),
        open_orders=250,
        position=Decimal(5_000),
        open_buy_leaves=Decimal(20_000),
        open_sell_leaves=Decimal(15_000),
        other_gross_exposure=Decimal(30_000_000),
    )


def run(iterations: int = 100_000) -> dict[str, Any]:
    """Time ``iterations`` checks. Figures in microseconds; ``rejected`` should be 0."""
    start = datetime(2026, 1, 5, 14, 30, tzinfo=UTC)
    ctx = _context(start)
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
    checking_ns = 0
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
        checking_ns += t2 - t1
        if decision.accepted:
            record_new_order(order, ctx, now)
        else:
            rejected += 1
    histogram = histogram_of(samples)
    result: dict[str, Any] = summary_us(histogram)
    context = summary_us(histogram_of(with_context))
    result |= {
        "iterations": iterations,
        "throughput_per_s": round(iterations / (checking_ns / 1e9), 1),
        "with_context_us": {k: context[k] for k in ("p50", "p90", "p99", "p999", "max")},
        "rejected": rejected,
        "_histogram": histogram,
    }
    return result


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


def run_risk_check(iterations: int) -> dict[str, Any]:
    """Warm up, then measure."""
    run(min(iterations, 10_000))
    return run(iterations)


def main(argv: list[str]) -> int:
    """``python -m oms.bench.risk [iterations]``: exit 1 when the p50 target is missed."""
    iterations = int(argv[1]) if len(argv) > 1 else 100_000
    figures = run_risk_check(iterations)
    context = figures["with_context_us"]
    print(
        f"risk check_new_order: {iterations} iterations, p50 {figures['p50']:.2f} us, "
        f"p99 {figures['p99']:.2f} us, max {figures['max']:.1f} us, "
        f"{figures['throughput_per_s']:.0f} checks/s, rejected {figures['rejected']} "
        f"(target p50 <= {TARGET_P50_US:.0f} us)\n"
        f"  including building the RiskContext: p50 {context['p50']:.2f} us, "
        f"p99 {context['p99']:.2f} us"
    )
    return 0 if figures["p50"] <= TARGET_P50_US else 1


if __name__ == "__main__":
    import sys

    sys.exit(main(sys.argv))
