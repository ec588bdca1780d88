"""How the strategy client waits between attempts to reach RabbitMQ again."""

from __future__ import annotations

import random
from dataclasses import dataclass


class OmsClientError(Exception):
    """Base of the client's own errors."""


class OmsUnavailableError(OmsClientError, ConnectionError):
    """RabbitMQ could not be reached within the reconnect policy's attempts."""


class CommandNotDeliveredError(OmsClientError):
    """The broker did not take the command: no queue was bound to ``oms.orders`` (no gateway
    has declared its topology on this vhost), the broker refused it (nack), or it closed the
    channel (for instance a ``user_id`` that is not the connection's user)."""


@dataclass(frozen=True, slots=True)
class ReconnectPolicy:
    """Exponential backoff with jitter: ``initial_delay_s``, times ``multiplier`` per failure,
    at most ``max_delay_s``. ``max_attempts`` consecutive failures raise ``OmsUnavailableError``;
    ``None`` retries forever (a long-running strategy usually wants that)."""

    initial_delay_s: float = 0.25
    max_delay_s: float = 5.0
    multiplier: float = 2.0
    max_attempts: int | None = 20

    def __post_init__(self) -> None:
        if self.initial_delay_s <= 0 or self.max_delay_s < self.initial_delay_s:
            raise ValueError("need 0 < initial_delay_s <= max_delay_s")
        if self.multiplier < 1:
            raise ValueError("multiplier must be at least 1")
        if self.max_attempts is not None and self.max_attempts < 1:
            raise ValueError("max_attempts must be positive (or None for no limit)")

    def delay(self, failures: int, rng: random.Random | None = None) -> float:
        """Seconds to wait after the ``failures``-th consecutive failure (1, 2, ...):
        between half and all of the capped exponential delay."""
        exponent = max(failures - 1, 0)
        ceiling = min(self.max_delay_s, self.initial_delay_s * self.multiplier**exponent)
        return ceiling / 2 + (rng or random).uniform(0, ceiling / 2)

    def gives_up_after(self, failures: int) -> bool:
        return self.max_attempts is not None and failures >= self.max_attempts
