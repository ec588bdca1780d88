"""The one retry policy: how long each reconnecting loop waits, when it starts over, and how a
stop or a non-retried error ends it."""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable

import pytest

from oms.retry import Retrier, RetryPolicy

NO_JITTER = RetryPolicy(initial_delay_s=0.5, max_delay_s=4.0, multiplier=2.0, jitter=0.0)


class RecordedWaits:
    """Stands in for the stop event's wait: remembers each delay, never sleeps."""

    def __init__(self, stop_after: int | None = None) -> None:
        self.delays: list[float] = []
        self._stop_after = stop_after

    def __call__(self, seconds: float) -> bool:
        self.delays.append(seconds)
        return self._stop_after is not None and len(self.delays) >= self._stop_after


def failing(times: int, error: BaseException, then: str = "connected") -> Callable[[], str]:
    """An action that raises ``error`` ``times`` times, then returns ``then``."""
    calls = {"n": 0}

    def action() -> str:
        calls["n"] += 1
        if calls["n"] <= times:
            raise error
        return then

    return action


def test_the_wait_doubles_up_to_its_cap() -> None:
    assert [NO_JITTER.delay(n) for n in range(1, 8)] == [0.5, 1, 2, 4, 4, 4, 4]


def test_jitter_draws_each_wait_between_its_floor_and_the_capped_delay() -> None:
    policy = RetryPolicy(initial_delay_s=0.5, max_delay_s=4.0, jitter=0.25)
    rng = random.Random(11)
    delays = [policy.delay(n, rng) for n in range(1, 200)]
    ceilings = [policy.ceiling(n) for n in range(1, 200)]
    assert all(0.75 * c <= d <= c for d, c in zip(delays, ceilings, strict=True))
    assert len({round(d, 6) for d in delays[10:]}) > 100  # capped waits still differ


def test_a_broker_down_for_days_still_waits_the_cap_and_not_an_overflow() -> None:
    assert NO_JITTER.delay(100_000) == 4.0


def test_a_loop_retries_until_the_action_works_and_logs_each_failure(
    caplog: pytest.LogCaptureFixture,
) -> None:
    waits = RecordedWaits()
    retrier = NO_JITTER.retrier("intake: consuming", threading.Event(), wait=waits)
    with caplog.at_level(logging.WARNING, logger="oms.retry"):
        result = retrier.call(failing(3, ConnectionError("refused")), retry_on=(OSError,))
    assert result == "connected"
    assert waits.delays == [0.5, 1.0, 2.0]
    assert [r.getMessage() for r in caplog.records] == [
        f"intake: consuming failed (attempt {n}: ConnectionError('refused')); "
        f"retrying in {delay:.2f}s"
        for n, delay in ((1, 0.5), (2, 1.0), (3, 2.0))
    ]
    assert all(r.exc_info is None for r in caplog.records)
    assert retrier.failures == 0  # the success reset it


def test_a_connection_that_worked_for_a_while_starts_the_backoff_over() -> None:
    waits = RecordedWaits(stop_after=6)
    retrier = NO_JITTER.retrier("relay", threading.Event(), wait=waits)
    attempts = iter(["refused", "refused", "refused", "connected", "refused", "connected"])

    def connect_then_consume_until_lost() -> None:
        if next(attempts) == "connected":
            retrier.succeeded()
        raise ConnectionError("lost")

    assert retrier.call(connect_then_consume_until_lost, retry_on=(ConnectionError,)) is None
    # after: refused, refused, refused, a lost connection, refused, a lost connection
    assert waits.delays == [0.5, 1.0, 2.0, 0.5, 1.0, 0.5]


def test_stop_interrupts_a_long_wait_at_once_and_no_attempt_follows() -> None:
    stop = threading.Event()
    retrier = RetryPolicy(initial_delay_s=60.0, max_delay_s=60.0).retrier("core: loading", stop)
    calls: list[float] = []

    def unreachable_database() -> None:
        calls.append(time.monotonic())
        threading.Timer(0.05, stop.set).start()
        raise OSError("connection refused")

    started = time.monotonic()
    assert retrier.call(unreachable_database, retry_on=(OSError,)) is None
    assert time.monotonic() - started < 5.0
    assert len(calls) == 1


def test_a_loop_stopped_before_it_starts_makes_no_attempt() -> None:
    stop = threading.Event()
    stop.set()
    calls: list[int] = []
    assert NO_JITTER.retrier("listener", stop).call(lambda: calls.append(1), (OSError,)) is None
    assert calls == []


def test_an_error_that_is_not_retried_propagates_at_once() -> None:
    waits = RecordedWaits()
    action = failing(1, ValueError("a bug, not an outage"))
    with pytest.raises(ValueError, match="a bug"):
        NO_JITTER.retrier("intake", threading.Event(), wait=waits).call(action, (OSError,))
    assert waits.delays == []


def test_the_policy_gives_up_with_the_last_error_after_max_attempts() -> None:
    waits = RecordedWaits()
    policy = RetryPolicy(initial_delay_s=0.5, max_delay_s=4.0, max_attempts=3, jitter=0.0)
    retrier = Retrier(policy, "client", wait=waits)
    with pytest.raises(ConnectionError, match="still down"):
        retrier.call(failing(5, ConnectionError("still down")), retry_on=(ConnectionError,))
    assert retrier.failures == 3
    assert waits.delays == [0.5, 1.0]


def test_an_unexpected_error_is_retried_and_logged_with_its_traceback(
    caplog: pytest.LogCaptureFixture,
) -> None:
    waits = RecordedWaits()
    retrier = NO_JITTER.retrier("intake", threading.Event(), wait=waits)
    action = failing(1, KeyError("surprise"), then="consuming")
    with caplog.at_level(logging.WARNING, logger="oms.retry"):
        assert retrier.call(action, retry_on=(Exception,), expected=(OSError,)) == "consuming"
    [record] = caplog.records
    assert record.exc_info is not None and record.exc_info[0] is KeyError


def test_a_loop_that_keeps_the_gateway_from_serving_logs_its_failures_as_errors(
    caplog: pytest.LogCaptureFixture,
) -> None:
    retrier = NO_JITTER.retrier("core: loading state", threading.Event(),
                                wait=RecordedWaits(), level=logging.ERROR)
    with caplog.at_level(logging.WARNING, logger="oms.retry"):
        retrier.call(failing(2, OSError("database down")), retry_on=(OSError,))
    assert [(r.levelno, r.getMessage()[:35]) for r in caplog.records] == [
        (logging.ERROR, "core: loading state failed (attempt"),
    ] * 2


@pytest.mark.parametrize(
    "kwargs",
    [{"initial_delay_s": 0}, {"initial_delay_s": 2, "max_delay_s": 1}, {"multiplier": 0.5},
     {"max_attempts": 0}, {"jitter": -0.1}, {"jitter": 1.5}],
)
def test_nonsense_policies_are_refused(kwargs: dict[str, float]) -> None:
    with pytest.raises(ValueError):
        RetryPolicy(**kwargs)  # type: ignore[arg-type]
