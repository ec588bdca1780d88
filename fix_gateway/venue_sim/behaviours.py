"""Misbehaviours a test can inject into the simulator, to see how the OMS copes."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Behaviours:
    """All off by default. Random choices use the simulator's seeded generator.

    - ``reject_rate``: fraction of new orders rejected (ExecType 8, "rejected by the simulator").
    - ``ack_latency_ms``: every order request (new, cancel, replace, status) is handled this
      long after it arrived; requests keep their order.
    - ``unsolicited_cancel_rate``: fraction of orders that rest which the venue cancels on its
      own ``unsolicited_cancel_after_ms`` later (if still resting).
    - ``duplicate_reports``: every execution report and cancel reject is sent twice, with the
      same ExecID (each copy has its own MsgSeqNum, as a real venue's duplicate would).
    - ``disconnect_after_messages``: once a session has received this many application
      messages since it logged on, the venue logs it out (the counter restarts at the next
      logon).
    """

    reject_rate: float = 0.0
    ack_latency_ms: int = 0
    unsolicited_cancel_rate: float = 0.0
    unsolicited_cancel_after_ms: int = 1000
    duplicate_reports: bool = False
    disconnect_after_messages: int | None = None

    def __post_init__(self) -> None:
        for name in ("reject_rate", "unsolicited_cancel_rate"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"{name} must be between 0 and 1, not {value}")
        for name in ("ack_latency_ms", "unsolicited_cancel_after_ms"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must not be negative")
        if self.disconnect_after_messages is not None and self.disconnect_after_messages < 1:
            raise ValueError("disconnect_after_messages must be at least 1")
