"""Kill switches: global, per account, per venue, per symbol.

A tripped switch blocks new orders and replaces in its scope (cancels always pass) and asks the
core to cancel every open order in its scope. Any trader or admin may trip one; only an admin
may clear it. The state is pure: the engine persists each change it returns (the source of
truth is Postgres) and rebuilds the object from the stored entries on start.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from oms.domain.risk.mass_cancel import GLOBAL_KEY, MassCancelIntent
from oms.domain.risk.permissions import may_halt, may_reenable
from oms.domain.values import KillScope, OperatorRole


@dataclass(frozen=True, slots=True)
class KillSwitchEntry:
    """One tripped switch. ``key`` is ``"*"`` for the global scope."""

    scope: KillScope
    key: str
    tripped_by: str
    reason: str
    tripped_at: datetime

    @property
    def text(self) -> str:
        where = "global" if self.scope == KillScope.GLOBAL else f"{self.scope} {self.key}"
        return (
            f"kill switch ({where}) tripped by {self.tripped_by} at "
            f"{self.tripped_at.isoformat()}: {self.reason}"
        )


@dataclass(frozen=True, slots=True)
class KillSwitchChange:
    """The result of a trip or clear request.

    ``applied`` False means nothing changed (not allowed, or nothing to clear) and ``text``
    says why. A trip returns the ``mass_cancel`` the core must carry out, even when the switch
    was already tripped (sweeping again is harmless and catches stragglers).
    """

    applied: bool
    text: str
    entry: KillSwitchEntry | None = None
    mass_cancel: MassCancelIntent | None = None


class KillSwitch:
    """The set of tripped switches, with a constant-time ``is_blocked`` for the order path."""

    __slots__ = ("_by_scope", "_texts", "_tripped")

    def __init__(self, entries: Iterable[KillSwitchEntry] = ()) -> None:
        self._by_scope: dict[KillScope, dict[str, KillSwitchEntry]] = {s: {} for s in KillScope}
        # The texts of tripped switches, by scope in a fixed order (global, account, venue,
        # symbol), so the order path does four plain dict lookups and no enum hashing.
        self._texts: tuple[dict[str, str], ...] = tuple({} for _ in KillScope)
        self._tripped = 0
        for entry in entries:
            self._put(entry)

    def trip(
        self,
        scope: KillScope,
        key: str | None,
        by: str,
        role: OperatorRole,
        reason: str,
        at: datetime,
    ) -> KillSwitchChange:
        if not may_halt(role):
            return KillSwitchChange(False, f"{by} ({role}) may not trip a kill switch")
        normalized = _normalize_key(scope, key)
        if normalized is None:
            return KillSwitchChange(False, f"a {scope} kill switch needs the {scope} it stops")
        existing = self._by_scope[scope].get(normalized)
        entry = existing or KillSwitchEntry(scope, normalized, by, reason, at)
        if existing is None:
            self._put(entry)
        text = entry.text if existing is None else f"already tripped: {existing.text}"
        return KillSwitchChange(True, text, entry, MassCancelIntent(scope, normalized, entry.text))

    def clear(
        self, scope: KillScope, key: str | None, by: str, role: OperatorRole, at: datetime
    ) -> KillSwitchChange:
        """Re-enable trading in a scope. ``at`` is for the caller's audit record."""
        if not may_reenable(role):
            return KillSwitchChange(False, f"{by} ({role}) may not clear a kill switch: admin only")
        normalized = _normalize_key(scope, key)
        if normalized is None:
            return KillSwitchChange(False, f"a {scope} kill switch needs the {scope} it stops")
        entry = self._by_scope[scope].pop(normalized, None)
        if entry is None:
            return KillSwitchChange(False, f"no {scope} kill switch is tripped for {normalized}")
        del self._texts[_SCOPE_INDEX[scope]][normalized]
        self._tripped -= 1
        return KillSwitchChange(
            True, f"{entry.text}; cleared by {by} at {at.isoformat()}", entry, None
        )

    def is_blocked(self, account: str, venue: str, symbol: str) -> str | None:
        """The text of the switch blocking an order, or ``None`` if trading is allowed."""
        if not self._tripped:
            return None
        global_, accounts, venues, symbols = self._texts
        return (
            global_.get(GLOBAL_KEY)
            or accounts.get(account)
            or venues.get(venue)
            or symbols.get(symbol)
        )

    def entries(self) -> tuple[KillSwitchEntry, ...]:
        return tuple(e for by_key in self._by_scope.values() for e in by_key.values())

    def _put(self, entry: KillSwitchEntry) -> None:
        if entry.key not in self._by_scope[entry.scope]:
            self._tripped += 1
        self._by_scope[entry.scope][entry.key] = entry
        self._texts[_SCOPE_INDEX[entry.scope]][entry.key] = entry.text


_SCOPE_INDEX = {KillScope.GLOBAL: 0, KillScope.ACCOUNT: 1, KillScope.VENUE: 2, KillScope.SYMBOL: 3}


def _normalize_key(scope: KillScope, key: str | None) -> str | None:
    if scope == KillScope.GLOBAL:
        return GLOBAL_KEY
    return key or None
