"""The operator audit log: who did what, to what, when and why."""

from __future__ import annotations

from datetime import datetime
from typing import Any, cast

from sqlalchemy import Connection, Table, insert

from oms.store.models import OperatorAudit

AUDIT = cast(Table, OperatorAudit.__table__)


def record_audit(
    conn: Connection, *, at: datetime, username: str, action: str, target: str, reason: str,
    details: dict[str, Any] | None = None,
) -> None:
    conn.execute(
        insert(AUDIT).values(
            at=at, username=username, action=action, target=target, reason=reason,
            details=details or {},
        )
    )
