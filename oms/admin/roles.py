"""What each operator role may do. Checked on the server for every state-changing request
(``auth.requires``); the templates only use it to hide buttons a role cannot use."""

from __future__ import annotations

from enum import StrEnum

from oms.domain.values import OperatorRole


class Permission(StrEnum):
    VIEW = "view"
    CANCEL_ORDERS = "cancel_orders"
    EDIT_LIMITS = "edit_limits"
    KILL_SWITCH = "kill_switch"
    REENABLE_BREAKER = "reenable_breaker"
    RESOLVE_REPORTS = "resolve_reports"
    MANAGE_USERS = "manage_users"
    FIX_SESSIONS = "fix_sessions"
    """Set a FIX session's sequence numbers, log it out or on, reset it."""


GRANTS: dict[OperatorRole, frozenset[Permission]] = {
    OperatorRole.VIEWER: frozenset({Permission.VIEW}),
    OperatorRole.TRADER: frozenset({Permission.VIEW, Permission.CANCEL_ORDERS}),
    OperatorRole.ADMIN: frozenset(Permission),
}


def may(role: OperatorRole, permission: Permission) -> bool:
    return permission in GRANTS.get(role, frozenset())
