"""Operator accounts: create, find, change role, disable. Used by the pages and ``oms user add``;
every change writes an audit row in the same transaction."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Connection, Table, insert, select, update

from oms.admin.audit import record_audit
from oms.admin.passwords import hash_password, password_problem
from oms.domain.values import OperatorRole
from oms.store.models import Operator

OPERATORS = cast(Table, Operator.__table__)
USERNAME = re.compile(r"^[A-Za-z0-9_.\-]{1,64}$")


class OperatorAccountError(ValueError):
    """A refused change to an operator account; the message says why."""


@dataclass(frozen=True, slots=True)
class OperatorAccount:
    id: int
    username: str
    role: OperatorRole
    disabled: bool
    created_at: datetime


_COLUMNS = (OPERATORS.c.id, OPERATORS.c.username, OPERATORS.c.role, OPERATORS.c.disabled,
            OPERATORS.c.created_at)


def _account(row: Any) -> OperatorAccount:
    return OperatorAccount(
        id=int(row.id), username=str(row.username), role=OperatorRole(row.role),
        disabled=bool(row.disabled), created_at=row.created_at,
    )


def get_operator(conn: Connection, operator_id: int) -> OperatorAccount | None:
    row = conn.execute(select(*_COLUMNS).where(OPERATORS.c.id == operator_id)).first()
    return None if row is None else _account(row)


def find_for_login(conn: Connection, username: str) -> tuple[OperatorAccount, str] | None:
    """The account and its password hash, for checking a login."""
    row = conn.execute(
        select(*_COLUMNS, OPERATORS.c.password_hash).where(OPERATORS.c.username == username)
    ).first()
    return None if row is None else (_account(row), str(row.password_hash))


def list_operators(conn: Connection) -> list[OperatorAccount]:
    return [_account(r) for r in conn.execute(select(*_COLUMNS).order_by(OPERATORS.c.username))]


def create_operator(
    conn: Connection, *, username: str, password: str, role: OperatorRole, by: str,
    reason: str, at: datetime,
) -> OperatorAccount:
    if not USERNAME.match(username):
        raise OperatorAccountError(
            "a username is 1 to 64 letters, digits, '.', '_' or '-'"
        )
    problem = password_problem(password)
    if problem:
        raise OperatorAccountError(problem)
    if conn.execute(select(OPERATORS.c.id).where(OPERATORS.c.username == username)).first():
        raise OperatorAccountError(f"operator {username} already exists")
    operator_id = conn.execute(
        insert(OPERATORS)
        .values(username=username, password_hash=hash_password(password), role=role,
                disabled=False, created_at=at)
        .returning(OPERATORS.c.id)
    ).scalar_one()
    record_audit(conn, at=at, username=by, action="user_add", target=username, reason=reason,
                 details={"role": role.value})
    return OperatorAccount(int(operator_id), username, role, False, at)


def change_password_hash(conn: Connection, operator_id: int, new_hash: str) -> None:
    """Store a re-hashed password (after a login, when the hashing parameters changed)."""
    conn.execute(
        update(OPERATORS).where(OPERATORS.c.id == operator_id).values(password_hash=new_hash)
    )


def set_role(
    conn: Connection, *, username: str, role: OperatorRole, by: str, reason: str, at: datetime
) -> None:
    current = _existing(conn, username, by)
    if current.role == role:
        raise OperatorAccountError(f"{username} is already {role.value}")
    conn.execute(update(OPERATORS).where(OPERATORS.c.id == current.id).values(role=role))
    record_audit(conn, at=at, username=by, action="user_role", target=username, reason=reason,
                 details={"from": current.role.value, "to": role.value})


def set_disabled(
    conn: Connection, *, username: str, disabled: bool, by: str, reason: str, at: datetime
) -> None:
    current = _existing(conn, username, by)
    if current.disabled == disabled:
        raise OperatorAccountError(
            f"{username} is already {'disabled' if disabled else 'enabled'}"
        )
    conn.execute(update(OPERATORS).where(OPERATORS.c.id == current.id).values(disabled=disabled))
    record_audit(conn, at=at, username=by, action="user_disable" if disabled else "user_enable",
                 target=username, reason=reason)


def _existing(conn: Connection, username: str, by: str) -> OperatorAccount:
    if username == by:
        raise OperatorAccountError(
            "you cannot change your own account: ask another admin (this keeps one admin "
            "from locking everybody out)"
        )
    row = conn.execute(
        select(*_COLUMNS).where(OPERATORS.c.username == username).with_for_update()
    ).first()
    if row is None:
        raise OperatorAccountError(f"no operator {username}")
    return _account(row)
