"""What the core must cancel when a kill switch or an execution breaker trips."""

from __future__ import annotations

from dataclasses import dataclass

from oms.domain.values import KillScope

GLOBAL_KEY = "*"
"""The key of the global scope (as stored in ``kill_switches.key``)."""


@dataclass(frozen=True, slots=True)
class MassCancelIntent:
    """Cancel every open order in ``scope`` / ``key`` (all of them for the global scope)."""

    scope: KillScope
    key: str
    reason: str

    def covers(self, account: str, venue: str, symbol: str) -> bool:
        """Whether an open order of this account, venue and symbol must be canceled."""
        scope = self.scope
        if scope is KillScope.GLOBAL:
            return True
        if scope is KillScope.ACCOUNT:
            return account == self.key
        if scope is KillScope.VENUE:
            return venue == self.key
        return symbol == self.key
