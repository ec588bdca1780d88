"""Risk limits as the admin pages see them.

The ``risk_limits`` table holds one row per scope: account ``*`` holds the global defaults and
an account's row holds that account's overrides (the ``RiskLimits.to_mapping()`` form). The
effective limits of an account are ``defaults.merged(overrides)``. A scope with no row yet
uses what the settings file says, until an admin first saves it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, select

from oms.admin.queries.tables import RISK_LIMITS
from oms.domain.risk import RiskLimits
from oms.engine.risk_setup import limits_from_settings
from oms.settings import SettingsFile

DEFAULTS = "*"


@dataclass(frozen=True, slots=True)
class LimitsScope:
    account: str
    limits: RiskLimits
    version: int
    """0: never saved from the admin pages (the settings file's values)."""
    updated_by: str | None
    updated_at: datetime | None

    @property
    def source(self) -> str:
        return "settings file" if self.version == 0 else f"v{self.version} by {self.updated_by}"

    @property
    def is_defaults(self) -> bool:
        return self.account == DEFAULTS


def limits_scopes(conn: Connection, file: SettingsFile) -> list[LimitsScope]:
    """The defaults first, then every configured account and every account with a row."""
    rows = {r.account: r for r in conn.execute(select(RISK_LIMITS))}
    accounts = [DEFAULTS, *sorted({a.name for a in file.accounts} | (set(rows) - {DEFAULTS}))]
    return [_scope(account, rows.get(account), file) for account in accounts]


def limits_scope(conn: Connection, file: SettingsFile, account: str) -> LimitsScope:
    row = conn.execute(select(RISK_LIMITS).where(RISK_LIMITS.c.account == account)).first()
    return _scope(account, row, file)


def effective_limits(scopes: list[LimitsScope]) -> dict[str, RiskLimits]:
    """Per account, the limits the core applies."""
    defaults = next(s.limits for s in scopes if s.is_defaults)
    return {s.account: defaults.merged(s.limits) for s in scopes if not s.is_defaults}


def _scope(account: str, row: Any, file: SettingsFile) -> LimitsScope:
    if row is not None:
        return LimitsScope(account, RiskLimits.from_mapping(dict(row.limits)), int(row.version),
                           str(row.updated_by), row.updated_at)
    if account == DEFAULTS:
        return LimitsScope(account, limits_from_settings(file.risk.defaults), 0, None, None)
    configured = file.account_limits(account)
    overrides = RiskLimits() if configured is None else limits_from_settings(configured)
    return LimitsScope(account, overrides, 0, None, None)
