"""The repeated-execution breaker: halts an account until an admin re-enables it."""

from __future__ import annotations

from datetime import timedelta

from oms.domain.risk import (
    BreakerChange,
    BreakerState,
    ExecutionBreaker,
    RateLimit,
    ReplaceIntent,
    RiskCode,
    RiskLimits,
    check_replace,
)
from oms.domain.values import KillScope, OperatorRole, Side
from tests.unit.test_risk_support import NOW, D, check, context, order, seconds

BURST = RiskLimits(max_executions=RateLimit(3, seconds(1)))
REPEAT = RiskLimits(max_identical_executions=RateLimit(2, seconds(60)))


def fill(breaker: ExecutionBreaker, at_ms: int, limits: RiskLimits = BURST,
         quantity: int = 100, price: str = "100.00") -> BreakerChange | None:
    return breaker.record_execution(
        "AAPL", Side.BUY, D(quantity), D(price), NOW + timedelta(milliseconds=at_ms), limits
    )


def test_executions_up_to_the_max_in_the_window_keep_the_breaker_armed() -> None:
    breaker = ExecutionBreaker("DEMO1")
    assert [fill(breaker, t, quantity=q) for t, q in ((0, 1), (100, 2), (200, 3))] == [None] * 3
    assert breaker.state is BreakerState.ARMED


def test_one_execution_over_the_max_in_the_window_trips_the_breaker() -> None:
    breaker = ExecutionBreaker("DEMO1")
    for t, q in ((0, 1), (100, 2), (200, 3)):
        fill(breaker, t, quantity=q)
    change = breaker.record_execution("AAPL", Side.BUY, D(4), D(100), NOW + seconds("0.3"), BURST)
    assert change is not None and change.applied
    assert breaker.state is BreakerState.TRIPPED
    assert breaker.reason == "4 executions in 1s exceeds max 3 per 1s by 1"
    assert change.mass_cancel is not None
    assert (change.mass_cancel.scope, change.mass_cancel.key) == (KillScope.ACCOUNT, "DEMO1")


def test_executions_spread_wider_than_the_window_do_not_trip() -> None:
    breaker = ExecutionBreaker("DEMO1")
    for t, q in ((0, 1), (400, 2), (800, 3), (1_000, 4), (1_400, 5)):
        assert fill(breaker, t, quantity=q) is None
    assert breaker.state is BreakerState.ARMED


def test_identical_executions_up_to_the_max_keep_the_breaker_armed() -> None:
    breaker = ExecutionBreaker("DEMO1")
    assert fill(breaker, 0, REPEAT) is None
    assert fill(breaker, 10_000, REPEAT) is None
    assert breaker.state is BreakerState.ARMED


def test_one_identical_execution_over_the_max_trips_the_breaker() -> None:
    breaker = ExecutionBreaker("DEMO1")
    fill(breaker, 0, REPEAT)
    fill(breaker, 10_000, REPEAT)
    change = fill(breaker, 20_000, REPEAT)
    assert change is not None
    assert breaker.reason == (
        "3 identical executions (AAPL buy 100 @ 100.00) in 60s exceeds max 2 per 60s by 1"
    )


def test_different_executions_are_not_identical() -> None:
    breaker = ExecutionBreaker("DEMO1")
    for i in range(10):
        assert fill(breaker, i, REPEAT, quantity=100 + i) is None


def test_identical_executions_outside_the_window_do_not_trip() -> None:
    breaker = ExecutionBreaker("DEMO1")
    for minute in range(5):
        assert fill(breaker, minute * 60_000, REPEAT) is None


def halted() -> ExecutionBreaker:
    return ExecutionBreaker("DEMO1", tripped_reason="too many fills", tripped_at=NOW)


def test_a_halted_account_cannot_send_new_orders() -> None:
    decision = check(order(), context(breaker=halted()))
    assert decision.code is RiskCode.ACCOUNT_HALTED
    assert decision.text == (
        "account DEMO1 halted by the execution breaker at 2026-01-05T14:30:00+00:00: "
        "too many fills; an admin must re-enable it"
    )


def test_a_halted_account_cannot_replace() -> None:
    replace = ReplaceIntent(order(50), filled_qty=D(0), current_leaves=D(100))
    assert check_replace(replace, context(breaker=halted()), NOW).code is RiskCode.ACCOUNT_HALTED


def test_a_trader_may_not_re_enable_a_halted_account() -> None:
    breaker = halted()
    change = breaker.reenable("alice", OperatorRole.TRADER, NOW)
    assert not change.applied
    assert breaker.state is BreakerState.TRIPPED


def test_an_admin_re_enables_a_halted_account_and_it_is_armed_again() -> None:
    breaker = halted()
    change = breaker.reenable("root", OperatorRole.ADMIN, NOW + seconds(60))
    assert change.applied and change.state is BreakerState.ARMED
    assert "re-enabled by root" in change.text
    assert breaker.state is BreakerState.ARMED and breaker.halted_text is None
    assert check(order(), context(breaker=breaker)).accepted


def test_re_enabling_starts_counting_afresh() -> None:
    breaker = ExecutionBreaker("DEMO1")
    for t in range(4):
        fill(breaker, t, quantity=t + 1)
    breaker.reenable("root", OperatorRole.ADMIN, NOW)
    for t in range(3):
        assert fill(breaker, 10 + t, quantity=t + 1) is None


def test_re_enabling_an_armed_breaker_changes_nothing() -> None:
    change = ExecutionBreaker("DEMO1").reenable("root", OperatorRole.ADMIN, NOW)
    assert not change.applied
    assert change.text == "account DEMO1 is not halted"


def test_executions_after_the_trip_do_not_trip_again() -> None:
    breaker = halted()
    assert fill(breaker, 0) is None
    assert breaker.reason == "too many fills"


def test_no_breaker_limits_means_it_never_trips() -> None:
    breaker = ExecutionBreaker("DEMO1")
    for t in range(1_000):
        assert fill(breaker, t, RiskLimits()) is None
