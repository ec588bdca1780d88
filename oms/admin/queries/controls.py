"""Kill switches, execution breakers and the operator commands sent to the gateway."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, Row, select

from oms.admin.queries.tables import BREAKERS, COMMANDS, KILL_SWITCHES


def kill_switches(conn: Connection) -> tuple[Sequence[Row[Any]], Sequence[Row[Any]]]:
    """(tripped switches, cleared ones, newest first)."""
    rows = conn.execute(
        select(KILL_SWITCHES).order_by(KILL_SWITCHES.c.tripped_at.desc())
    ).all()
    return [r for r in rows if r.active], [r for r in rows if not r.active]


def active_kill_switch(conn: Connection, scope: str, key: str) -> Row[Any] | None:
    return conn.execute(
        select(KILL_SWITCHES)
        .where(KILL_SWITCHES.c.scope == scope, KILL_SWITCHES.c.key == key, KILL_SWITCHES.c.active)
    ).first()


def breakers(conn: Connection) -> Sequence[Row[Any]]:
    return conn.execute(
        select(BREAKERS).order_by(BREAKERS.c.tripped.desc(), BREAKERS.c.tripped_at.desc())
    ).all()


def tripped_breaker(conn: Connection, account: str) -> Row[Any] | None:
    return conn.execute(
        select(BREAKERS).where(BREAKERS.c.account == account, BREAKERS.c.tripped)
    ).first()


def recent_commands(
    conn: Connection, kinds: Sequence[str] | None = None, limit: int = 15
) -> Sequence[Row[Any]]:
    stmt = select(COMMANDS)
    if kinds:
        stmt = stmt.where(COMMANDS.c.kind.in_(kinds))
    return conn.execute(stmt.order_by(COMMANDS.c.id.desc()).limit(limit)).all()


def command(conn: Connection, command_id: int) -> Row[Any] | None:
    return conn.execute(select(COMMANDS).where(COMMANDS.c.id == command_id)).first()
