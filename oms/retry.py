"""One retry policy for every loop that must reach something again: the AMQP intake and the
outbox relay (reconnect on loss), the core (load its state from PostgreSQL), the operator
command listener (LISTEN again) and the strategy client (reconnect to RabbitMQ).

``RetryPolicy`` says how long to wait after each consecutive failure: exponential from
``initial_delay_s``, times ``multiplier`` per failure, capped at ``max_delay_s``, of which the
fraction ``jitter`` is drawn at random (so many processes cut off together do not all come back
at the same instant); ``max_attempts`` failures in a row give up (``None``: never).
``Retrier.call`` runs an action until it returns, logging each failure with its attempt number
and the wait before the next; a stop event ends the wait at once and no attempt follows it.
A long-running action (connect, then consume until the connection is lost) calls
``Retrier.succeeded()`` once connected: the next loss waits ``initial_delay_s`` again.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

log = logging.getLogger(__name__)

T = TypeVar("T")
Errors = tuple[type[BaseException], ...]
Waiter = Callable[[float], bool]
"""Waits up to the given seconds; True if told to stop meanwhile (like ``Event.wait``)."""


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Capped exponential backoff with jitter. The wait after the ``n``-th consecutive failure
    is drawn between ``(1 - jitter)`` and all of ``min(max_delay_s, initial_delay_s *
    multiplier ** (n - 1))``."""

    initial_delay_s: float = 0.5
    max_delay_s: float = 30.0
    multiplier: float = 2.0
    max_attempts: int | None = None
    jitter: float = 0.5

    def __post_init__(self) -> None:
        if self.initial_delay_s <= 0 or self.max_delay_s < self.initial_delay_s:
            raise ValueError("need 0 < initial_delay_s <= max_delay_s")
        if self.multiplier < 1:
            raise ValueError("multiplier must be at least 1")
        if self.max_attempts is not None and self.max_attempts < 1:
            raise ValueError("max_attempts must be positive (or None for no limit)")
        if not 0 <= self.jitter <= 1:
            raise ValueError("jitter must be between 0 and 1")

    def ceiling(self, failures: int) -> float:
        """The longest wait after the ``failures``-th consecutive failure (1, 2, ...)."""
        try:
            grown = self.initial_delay_s * self.multiplier ** max(failures - 1, 0)
        except OverflowError:  # a day or so of failures in a row: long past the cap
            return self.max_delay_s
        return min(self.max_delay_s, grown)

    def delay(self, failures: int, rng: random.Random | None = None) -> float:
        """Seconds to wait after the ``failures``-th consecutive failure (1, 2, ...)."""
        ceiling = self.ceiling(failures)
        return ceiling - (rng or random).uniform(0, ceiling * self.jitter)

    def gives_up_after(self, failures: int) -> bool:
        return self.max_attempts is not None and failures >= self.max_attempts

    def retrier(
        self, what: str, stop: threading.Event | None = None, *,
        wait: Waiter | None = None, logger: logging.Logger = log, level: int = logging.WARNING,
        rng: random.Random | None = None,
    ) -> Retrier:
        """A retrier of ``what`` (named in its log lines, logged at ``level``) that ``stop``
        interrupts. ``wait`` replaces ``stop.wait`` (``time.sleep`` without ``stop``)."""
        return Retrier(self, what, stop, wait=wait, logger=logger, level=level, rng=rng)


def _sleep(seconds: float) -> bool:
    time.sleep(seconds)
    return False


class Retrier:
    """Runs one task again after each failure, as its ``RetryPolicy`` says."""

    def __init__(
        self, policy: RetryPolicy, what: str, stop: threading.Event | None = None, *,
        wait: Waiter | None = None, logger: logging.Logger = log, level: int = logging.WARNING,
        rng: random.Random | None = None,
    ) -> None:
        self.policy = policy
        self.what = what
        self.failures = 0
        """Consecutive failures since the last success."""
        self._stop = stop
        self._wait = wait or (stop.wait if stop is not None else _sleep)
        self._log = logger
        self._level = level
        self._rng = rng

    def succeeded(self) -> None:
        """The task works (e.g. it is connected): the next failure waits the least again."""
        self.failures = 0

    def call(self, action: Callable[[], T], retry_on: Errors, *,
             expected: Errors | None = None) -> T | None:
        """``action()``'s result, calling it again after each error of ``retry_on``; ``None``
        if ``stop`` was set first. Errors of ``expected`` (by default all of ``retry_on``) are
        logged on one line, others with their traceback. Other errors, and the last one once
        the policy gives up, are raised."""
        while self._stop is None or not self._stop.is_set():
            try:
                result = action()
            except retry_on as error:
                if self._failed(error, retry_on if expected is None else expected):
                    return None
                continue
            self.succeeded()
            return result
        return None

    def _failed(self, error: BaseException, expected: Errors) -> bool:
        """Count a failure, log it and wait; True if stopped meanwhile. Raises ``error`` if
        the policy gives up."""
        self.failures += 1
        if self.policy.gives_up_after(self.failures):
            raise error
        delay = self.policy.delay(self.failures, self._rng)
        self._log.log(
            self._level, "%s failed (attempt %d: %r); retrying in %.2fs", self.what,
            self.failures, error, delay,
            exc_info=None if isinstance(error, expected) else error,
        )
        return self._wait(delay)
