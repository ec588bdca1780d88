"""What operators change, each in one transaction with its audit row.

Commands for the gateway's core (cancels, kill switches, breaker re-enables, limit reloads, FIX
session operations) go through the durable operator channel (``operator_channel.issue_command``:
command row + audit row + NOTIFY); the core applies them in order and records the result on the
command row.
Resolving an unmatched report needs no core: it is written here directly.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, select, update

from oms.admin.audit import record_audit
from oms.admin.queries.controls import active_kill_switch, tripped_breaker
from oms.admin.queries.risk_limits import DEFAULTS, limits_scope
from oms.admin.queries.tables import ORDERS, RISK_LIMITS, TERMINAL_STATUSES, UNMATCHED
from oms.domain.risk import RiskLimits
from oms.domain.values import KillScope
from oms.engine.session_commands import SessionAction, SessionOperation
from oms.settings import SettingsFile
from oms.store.operator_channel import issue_command

GLOBAL_KEY = "*"


class ActionRefused(Exception):  # noqa: N818 - the name says what happened
    """The action was not taken; the message tells the operator why."""


@dataclass(frozen=True, slots=True)
class Operator:
    """Who acts, and when (the pages pass the signed-in operator and the clock)."""

    username: str
    now: datetime


def cancel_order(engine: Engine, who: Operator, *, order_id: str, reason: str) -> int:
    with engine.begin() as conn:
        status = conn.execute(
            select(ORDERS.c.status).where(ORDERS.c.order_id == order_id)
        ).scalar_one_or_none()
        if status is None:
            raise ActionRefused(f"no order {order_id}")
        if str(status) in TERMINAL_STATUSES:
            raise ActionRefused(f"order {order_id} is {status}: nothing to cancel")
        return _issue(conn, who, "cancel_order", {"order_id": order_id}, reason, order_id)


def close_order(engine: Engine, who: Operator, *, order_id: str, status: str,
                reason: str) -> int:
    """Have the core close an order by hand: for an order the venue cannot answer about and
    has confirmed by other means. Nothing is sent to the venue."""
    with engine.begin() as conn:
        current = conn.execute(
            select(ORDERS.c.status).where(ORDERS.c.order_id == order_id)
        ).scalar_one_or_none()
        if current is None:
            raise ActionRefused(f"no order {order_id}")
        if str(current) in TERMINAL_STATUSES:
            raise ActionRefused(f"order {order_id} is already {current}")
        return _issue(conn, who, "close_order", {"order_id": order_id, "status": status},
                      reason, order_id)


def cancel_all(
    engine: Engine, who: Operator, file: SettingsFile, *, account: str, reason: str
) -> int:
    with engine.begin() as conn:
        if account not in known_accounts(conn, file):
            raise ActionRefused(f"unknown account {account}")
        return _issue(conn, who, "cancel_all", {"account": account}, reason, account)


def trip_kill_switch(
    engine: Engine, who: Operator, file: SettingsFile, *, scope: KillScope, key: str,
    reason: str,
) -> int:
    with engine.begin() as conn:
        key = kill_switch_key(conn, file, scope, key)
        return _issue(conn, who, "kill_switch_trip", {"scope": scope.value, "key": key}, reason,
                      f"{scope.value}:{key}")


def clear_kill_switch(
    engine: Engine, who: Operator, *, scope: KillScope, key: str, reason: str
) -> int:
    with engine.begin() as conn:
        if active_kill_switch(conn, scope.value, key) is None:
            raise ActionRefused(f"no {scope.value} kill switch is tripped for {key}")
        return _issue(conn, who, "kill_switch_clear", {"scope": scope.value, "key": key}, reason,
                      f"{scope.value}:{key}")


def reenable_breaker(engine: Engine, who: Operator, *, account: str, reason: str) -> int:
    with engine.begin() as conn:
        if tripped_breaker(conn, account) is None:
            raise ActionRefused(f"account {account} is not halted by the execution breaker")
        return _issue(conn, who, "breaker_reenable", {"account": account}, reason, account)


def save_risk_limits(
    engine: Engine, who: Operator, file: SettingsFile, *, account: str, limits: RiskLimits,
    expected_version: int, reason: str,
) -> tuple[int, int]:
    """Store new limits for ``account`` (``*`` = the defaults) and tell the core to reload them.

    ``expected_version`` is the version the operator edited: if somebody saved meanwhile, the
    save is refused rather than silently overwriting their change. Returns (new version,
    command id).
    """
    mapping = limits.to_mapping()
    RiskLimits.from_mapping(mapping)  # what is stored must read back
    with engine.begin() as conn:
        if account != DEFAULTS and account not in known_accounts(conn, file):
            raise ActionRefused(f"unknown account {account}")
        conn.execute(select(RISK_LIMITS.c.account).where(RISK_LIMITS.c.account == account)
                     .with_for_update())
        before = limits_scope(conn, file, account)
        if before.version != expected_version:
            raise ActionRefused(
                f"the limits of {account} were changed by {before.updated_by} meanwhile "
                f"(now v{before.version}, you edited v{expected_version}): reload and redo"
            )
        version = before.version + 1
        values = {"limits": mapping, "version": version, "updated_by": who.username,
                  "updated_at": who.now}
        if before.version == 0:
            conn.execute(RISK_LIMITS.insert().values(account=account, **values))
        else:
            conn.execute(update(RISK_LIMITS).where(RISK_LIMITS.c.account == account)
                         .values(**values))
        record_audit(conn, at=who.now, username=who.username, action="risk_limits_edit",
                     target=account, reason=reason,
                     details={"version": version, "before": before.own.to_mapping(),
                              "after": mapping})
        command_id = _issue(conn, who, "limits_changed", {"account": account}, reason, account)
    return version, command_id


def resolve_unmatched(engine: Engine, who: Operator, *, report_id: int, resolution: str) -> None:
    with engine.begin() as conn:
        row = conn.execute(
            select(UNMATCHED.c.resolved_at, UNMATCHED.c.venue, UNMATCHED.c.exec_id)
            .where(UNMATCHED.c.id == report_id).with_for_update()
        ).first()
        if row is None:
            raise ActionRefused(f"no unmatched report {report_id}")
        if row.resolved_at is not None:
            raise ActionRefused(f"report {report_id} is already resolved")
        conn.execute(
            update(UNMATCHED).where(UNMATCHED.c.id == report_id)
            .values(resolved_by=who.username, resolved_at=who.now, resolution=resolution)
        )
        record_audit(conn, at=who.now, username=who.username, action="resolve_unmatched",
                     target=f"unmatched:{report_id}", reason=resolution,
                     details={"venue": row.venue, "exec_id": row.exec_id})


def operate_fix_session(
    engine: Engine, who: Operator, file: SettingsFile, *, session: str, action: SessionAction,
    seq: int | None = None, reason: str,
) -> int:
    """Have the gateway set a FIX session's next sender or target MsgSeqNum, log it out or on,
    or reset it (``oms.engine.session_commands``). The command is refused by the gateway if it
    has not taken it within ``VALIDITY`` (issued while it was down)."""
    known = fix_session_names(file)
    if session not in known:
        raise ActionRefused(f"unknown FIX session {session!r}: known are {', '.join(known)}")
    try:
        operation = SessionOperation.issued(session, action, seq, who.now)
    except ValueError as exc:
        raise ActionRefused(str(exc)) from None
    with engine.begin() as conn:
        return _issue(conn, who, operation.kind, operation.payload(), reason, session)


def fix_session_names(file: SettingsFile) -> list[str]:
    """Every FIX session of the settings file, as the OMS names them."""
    return ([f"venue:{v.name}" for v in file.venues]
            + [f"client:{c.session_name}" for c in file.fix_clients])


def known_accounts(conn: Connection, file: SettingsFile) -> set[str]:
    """Accounts of the settings file, and any account with orders."""
    accounts = {a.name for a in file.accounts}
    accounts.update(str(a) for a in conn.execute(select(ORDERS.c.account).distinct()).scalars())
    return accounts


def kill_switch_key(conn: Connection, file: SettingsFile, scope: KillScope, key: str) -> str:
    """The key a switch of ``scope`` stops; refuses one that names nothing we know (a typo
    must not leave trading running while the operator believes it stopped)."""
    key = key.strip()
    if scope is KillScope.GLOBAL:
        return GLOBAL_KEY
    known: set[str]
    if scope is KillScope.ACCOUNT:
        known = known_accounts(conn, file)
    elif scope is KillScope.VENUE:
        known = {v.name for v in file.venues}
    else:
        known = {i.symbol for i in file.instruments}
        known.update(str(s) for s in conn.execute(select(ORDERS.c.symbol).distinct()).scalars())
    if not key:
        raise ActionRefused(f"a {scope.value} kill switch needs the {scope.value} it stops")
    if key not in known:
        raise ActionRefused(
            f"unknown {scope.value} {key!r}: known are {', '.join(sorted(known)) or 'none'}"
        )
    return key


def _issue(
    conn: Connection, who: Operator, kind: str, payload: dict[str, Any], reason: str, target: str
) -> int:
    reason = reason.strip()
    if not reason:
        raise ActionRefused("a reason is required")
    return issue_command(conn, kind=kind, payload=payload, issued_by=who.username,
                         reason=reason, at=who.now, target=target)
