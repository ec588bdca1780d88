"""Who may stop trading and who may restart it.

Stopping is easy on purpose (any trader or admin may trip a kill switch); restarting after a
kill switch or a breaker halt takes an admin.
"""

from __future__ import annotations

from oms.domain.values import OperatorRole


def may_halt(role: OperatorRole) -> bool:
    return role in (OperatorRole.TRADER, OperatorRole.ADMIN)


def may_reenable(role: OperatorRole) -> bool:
    return role == OperatorRole.ADMIN
