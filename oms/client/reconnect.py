"""How the strategy client waits between attempts to reach RabbitMQ again."""

from __future__ import annotations

from dataclasses import dataclass

from oms.retry import RetryPolicy


class OmsClientError(Exception):
    """Base of the client's own errors."""


class OmsUnavailableError(OmsClientError, ConnectionError):
    """RabbitMQ could not be reached within the reconnect policy's attempts."""


class CommandNotDeliveredError(OmsClientError):
    """The broker did not take the command: no queue was bound to ``oms.orders`` (no gateway
    has declared its topology on this vhost), the broker refused it (nack), or it closed the
    channel (for instance a ``user_id`` that is not the connection's user)."""


@dataclass(frozen=True, slots=True)
class ReconnectPolicy(RetryPolicy):
    """The gateway's ``RetryPolicy`` with the client's defaults. Exponential backoff with
    jitter: ``initial_delay_s``, times ``multiplier`` per failure, at most ``max_delay_s``; each
    wait is drawn between ``1 - jitter`` (half, by default) and all of that.
    ``max_attempts`` consecutive failures raise ``OmsUnavailableError``; ``None`` retries
    forever (a long-running strategy usually wants that)."""

    initial_delay_s: float = 0.25
    max_delay_s: float = 5.0
    max_attempts: int | None = 20
