"""The operator audit log, newest first, with the outcome of each command it records."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import BigInteger, Connection, Row, select

from oms.admin.queries.tables import AUDIT, COMMANDS

PAGE_SIZE = 100


@dataclass(frozen=True, slots=True)
class AuditFilter:
    username: str = ""
    action: str = ""
    target: str = ""
    page: int = 1

    @classmethod
    def from_args(cls, args: Mapping[str, str]) -> AuditFilter:
        page = args.get("page", "1")
        return cls(
            username=args.get("username", "").strip()[:64],
            action=args.get("action", "").strip()[:64],
            target=args.get("target", "").strip()[:128],
            page=int(page) if page.isdigit() and 0 < int(page) < 100_000 else 1,
        )

    def query_args(self, page: int) -> dict[str, str]:
        out = {"username": self.username, "action": self.action, "target": self.target,
               "page": str(page) if page > 1 else ""}
        return {k: v for k, v in out.items() if v}


def audit_page(conn: Connection, f: AuditFilter) -> tuple[Sequence[Row[Any]], bool]:
    command_id = AUDIT.c.details["command_id"].astext.cast(BigInteger)
    stmt = (
        select(AUDIT, COMMANDS.c.processed_at, COMMANDS.c.result)
        .select_from(AUDIT.outerjoin(COMMANDS, COMMANDS.c.id == command_id))
    )
    if f.username:
        stmt = stmt.where(AUDIT.c.username == f.username)
    if f.action:
        stmt = stmt.where(AUDIT.c.action == f.action)
    if f.target:
        stmt = stmt.where(AUDIT.c.target == f.target)
    rows = conn.execute(
        stmt.order_by(AUDIT.c.id.desc()).limit(PAGE_SIZE + 1).offset((f.page - 1) * PAGE_SIZE)
    ).all()
    return rows[:PAGE_SIZE], len(rows) > PAGE_SIZE


def audit_actions(conn: Connection) -> list[str]:
    return [str(a) for a in conn.execute(select(AUDIT.c.action).distinct().order_by(AUDIT.c.action))
            .scalars()]
