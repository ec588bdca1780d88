"""The repeated-execution breaker of one account.

Fills cannot be refused, but a burst of them (more than ``max_executions`` in a window), or the
same execution repeated (more than ``max_identical_executions`` with the same symbol, side,
quantity and price in a window) is the signature of a runaway strategy or a looping venue. The
breaker then halts the account: it moves from ``armed`` to ``tripped``, new orders and replaces
of the account are rejected, and the core is asked to cancel the account's open orders. It stays
tripped until an admin re-enables it, which re-arms it with empty windows.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from enum import StrEnum

from oms.domain.risk.limits import RiskLimits
from oms.domain.risk.mass_cancel import MassCancelIntent
from oms.domain.risk.permissions import may_reenable
from oms.domain.risk.text import num, seconds
from oms.domain.values import KillScope, OperatorRole, Side

_ExecutionKey = tuple[str, Side, Decimal, Decimal]


class BreakerState(StrEnum):
    ARMED = "armed"
    TRIPPED = "tripped"


@dataclass(frozen=True, slots=True)
class BreakerChange:
    """A state change of the breaker (or a refused re-enable, with ``applied`` False)."""

    applied: bool
    state: BreakerState
    text: str
    mass_cancel: MassCancelIntent | None = None


class ExecutionBreaker:
    """Breaker state of one account. Pass ``tripped_reason``/``tripped_at`` to restore a halt."""

    __slots__ = (
        "_executions", "_identical_counts", "_identical_log", "_reason", "_tripped_at",
        "account", "halted_text",
    )

    def __init__(
        self,
        account: str,
        *,
        tripped_reason: str | None = None,
        tripped_at: datetime | None = None,
    ) -> None:
        self.account = account
        self._executions: deque[datetime] = deque()
        self._identical_log: deque[tuple[datetime, _ExecutionKey]] = deque()
        self._identical_counts: dict[_ExecutionKey, int] = {}
        self._reason: str | None = None
        self._tripped_at: datetime | None = None
        self.halted_text: str | None = None
        """The rejection text while the account is halted, ``None`` while armed."""
        if tripped_reason is not None:
            if tripped_at is None:
                raise ValueError("a tripped breaker needs the time it tripped")
            self._trip(tripped_reason, tripped_at)

    @property
    def state(self) -> BreakerState:
        return BreakerState.ARMED if self._reason is None else BreakerState.TRIPPED

    @property
    def reason(self) -> str | None:
        return self._reason

    @property
    def tripped_at(self) -> datetime | None:
        return self._tripped_at

    def record_execution(
        self,
        symbol: str,
        side: Side,
        quantity: Decimal,
        price: Decimal,
        now: datetime,
        limits: RiskLimits,
    ) -> BreakerChange | None:
        """Count one execution (fill or partial fill) of the account; a change if it trips."""
        if self._reason is not None:
            return None
        burst = limits.max_executions
        if burst is not None:
            times = self._executions
            cutoff = now - burst.per
            while times and times[0] <= cutoff:
                times.popleft()
            times.append(now)
            if len(times) > burst.count:
                return self._trip(
                    f"{len(times)} executions in {seconds(burst.per)} exceeds max "
                    f"{burst.describe()} by {len(times) - burst.count}",
                    now,
                )
        repeat = limits.max_identical_executions
        if repeat is not None:
            key: _ExecutionKey = (symbol, side, quantity, price)
            n = self._count_identical(key, now, repeat.per)
            if n > repeat.count:
                return self._trip(
                    f"{n} identical executions ({symbol} {side} {num(quantity)} @ {num(price)}) "
                    f"in {seconds(repeat.per)} exceeds max {repeat.describe()} "
                    f"by {n - repeat.count}",
                    now,
                )
        return None

    def reenable(self, by: str, role: OperatorRole, at: datetime) -> BreakerChange:
        if not may_reenable(role):
            return BreakerChange(
                False, self.state, f"{by} ({role}) may not re-enable account {self.account}: "
                "admin only",
            )
        if self._reason is None:
            return BreakerChange(False, self.state, f"account {self.account} is not halted")
        text = (
            f"account {self.account} re-enabled by {by} at {at.isoformat()} "
            f"(halted: {self._reason})"
        )
        self._reason = self._tripped_at = self.halted_text = None
        self._executions.clear()
        self._identical_log.clear()
        self._identical_counts.clear()
        return BreakerChange(True, BreakerState.ARMED, text)

    def _count_identical(self, key: _ExecutionKey, now: datetime, per: timedelta) -> int:
        log, counts = self._identical_log, self._identical_counts
        cutoff = now - per
        while log and log[0][0] <= cutoff:
            _, old = log.popleft()
            left = counts[old] - 1
            if left:
                counts[old] = left
            else:
                del counts[old]
        log.append((now, key))
        n = counts.get(key, 0) + 1
        counts[key] = n
        return n

    def _trip(self, reason: str, at: datetime) -> BreakerChange:
        self._reason, self._tripped_at = reason, at
        self.halted_text = (
            f"account {self.account} halted by the execution breaker at {at.isoformat()}: "
            f"{reason}; an admin must re-enable it"
        )
        return BreakerChange(
            True,
            BreakerState.TRIPPED,
            self.halted_text,
            MassCancelIntent(KillScope.ACCOUNT, self.account, self.halted_text),
        )
