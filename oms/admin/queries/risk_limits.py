"""Risk limits as the admin pages see them, by the rule the core applies
(``oms.engine.operator_commands.effective_limits``).

The settings file gives the defaults and each account's overrides. The ``risk_limits`` table
holds what operators edited, one row per scope (account ``*`` = the defaults) in the
``RiskLimits.to_mapping()`` form, laid over the file: effective defaults = file defaults merged
with the ``*`` row; an account's effective limits = effective defaults, merged with the
account's file overrides, merged with its row. A row can change any limit; it cannot remove a
limit the settings file sets (give it a permissive value, or edit the file).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, select

from oms.admin.queries.tables import RISK_LIMITS
from oms.domain.risk import RiskLimits
from oms.engine.risk_setup import account_limits
from oms.settings import SettingsFile

DEFAULTS = "*"


@dataclass(frozen=True, slots=True)
class LimitsScope:
    account: str
    own: RiskLimits
    """What operators set for this scope (the ``risk_limits`` row; empty if never edited)."""
    inherited: RiskLimits
    """What applies without the row: the file's defaults, or for an account the effective
    defaults merged with the account's file overrides."""
    version: int
    """0: never edited on the admin pages."""
    updated_by: str | None
    updated_at: datetime | None

    @property
    def effective(self) -> RiskLimits:
        return self.inherited.merged(self.own)

    @property
    def source(self) -> str:
        return "settings file" if self.version == 0 else f"v{self.version} by {self.updated_by}"

    @property
    def is_defaults(self) -> bool:
        return self.account == DEFAULTS


def limits_scopes(conn: Connection, file: SettingsFile) -> list[LimitsScope]:
    """The defaults first, then every configured account and every account with a row."""
    rows = {str(r.account): r for r in conn.execute(select(RISK_LIMITS))}
    file_defaults, file_accounts = account_limits(file)
    defaults = _scope(DEFAULTS, rows.get(DEFAULTS), file_defaults)
    accounts = sorted((set(file_accounts) | set(rows)) - {DEFAULTS})
    return [defaults, *(
        _scope(a, rows.get(a), defaults.effective.merged(file_accounts.get(a)))
        for a in accounts
    )]


def limits_scope(conn: Connection, file: SettingsFile, account: str) -> LimitsScope:
    scopes = limits_scopes(conn, file)
    for scope in scopes:
        if scope.account == account:
            return scope
    return _scope(account, None, scopes[0].effective)


def effective_limits(scopes: list[LimitsScope]) -> dict[str, RiskLimits]:
    """Per account, the limits the core applies."""
    return {s.account: s.effective for s in scopes if not s.is_defaults}


def _scope(account: str, row: Any, inherited: RiskLimits) -> LimitsScope:
    if row is None:
        return LimitsScope(account, RiskLimits(), inherited, 0, None, None)
    return LimitsScope(account, RiskLimits.from_mapping(dict(row.limits)), inherited,
                       int(row.version), str(row.updated_by), row.updated_at)
