"""What operators change, each in one transaction with its audit row.

Commands for the gateway's core (cancels, kill switches, breaker re-enables, limit reloads, FIX
session operations) go through the durable operator channel (``operator_channel.issue_command``:
command row + audit row + NOTIFY); the core applies them in order and records the result on the
command row.
Resolving an unmatched report needs no core: it is written here directly.

With gateway shards (``[[shards]]`` in the settings file) each command row is addressed to the
gateway of one shard, which takes only its own: a command about an order, an account or a FIX
client session goes to the shard that owns the account; a kill switch of global, venue or symbol
scope, a FIX operation on a venue session (each shard has its own session to every venue) and a
reload of the default limits go to every shard, one row each in the same transaction, or to the
one shard the operator chose. Without shards every command goes to the one shard ``main``.
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
from oms.settings import DEFAULT_SHARD, SettingsFile
from oms.store.operator_channel import issue_command

GLOBAL_KEY = "*"

ShardCommands = dict[str, int]
"""The command rows one action wrote: command id by the shard whose gateway carries it out, in
the order of the settings file's shards."""


class ActionRefused(Exception):  # noqa: N818 - the name says what happened
    """The action was not taken; the message tells the operator why."""


@dataclass(frozen=True, slots=True)
class Operator:
    """Who acts, and when (the pages pass the signed-in operator and the clock)."""

    username: str
    now: datetime


def cancel_order(engine: Engine, who: Operator, file: SettingsFile, *, order_id: str,
                 reason: str) -> int:
    """Have the gateway of the order's shard cancel it at the venue."""
    with engine.begin() as conn:
        status, account = _order(conn, order_id)
        if status in TERMINAL_STATUSES:
            raise ActionRefused(f"order {order_id} is {status}: nothing to cancel")
        shard = account_shard(file, account, f"order {order_id}")
        return _issue(conn, who, "cancel_order", {"order_id": order_id}, reason, order_id,
                      shard)


def close_order(engine: Engine, who: Operator, file: SettingsFile, *, order_id: str,
                status: str, reason: str) -> int:
    """Have the core of the order's shard close an order by hand: for an order the venue
    cannot answer about and has confirmed by other means. Nothing is sent to the venue."""
    with engine.begin() as conn:
        current, account = _order(conn, order_id)
        if current in TERMINAL_STATUSES:
            raise ActionRefused(f"order {order_id} is already {current}")
        shard = account_shard(file, account, f"order {order_id}")
        return _issue(conn, who, "close_order", {"order_id": order_id, "status": status},
                      reason, order_id, shard)


def cancel_all(
    engine: Engine, who: Operator, file: SettingsFile, *, account: str, reason: str
) -> int:
    with engine.begin() as conn:
        if account not in known_accounts(conn, file):
            raise ActionRefused(f"unknown account {account}")
        shard = account_shard(file, account, f"account {account}")
        return _issue(conn, who, "cancel_all", {"account": account}, reason, account, shard)


def trip_kill_switch(
    engine: Engine, who: Operator, file: SettingsFile, *, scope: KillScope, key: str,
    reason: str, shard: str | None = None,
) -> ShardCommands:
    """Trip a kill switch: an account's on the account's shard; a global, venue or symbol one
    on every shard, or on ``shard`` alone when given. One command row (and audit row) per
    shard, all in one transaction."""
    with engine.begin() as conn:
        key = kill_switch_key(conn, file, scope, key)
        shards = kill_switch_shards(file, scope, key, shard)
        return _issue_to_shards(conn, who, "kill_switch_trip",
                                {"scope": scope.value, "key": key}, reason,
                                f"{scope.value}:{key}", shards)


def clear_kill_switch(
    engine: Engine, who: Operator, file: SettingsFile, *, scope: KillScope, key: str,
    reason: str, shard: str | None = None,
) -> ShardCommands:
    """Re-enable trading: on the shards a trip of the same switch goes to (``trip_kill_switch``);
    a shard on which the switch was not tripped answers that there was nothing to clear."""
    with engine.begin() as conn:
        if active_kill_switch(conn, scope.value, key) is None:
            raise ActionRefused(f"no {scope.value} kill switch is tripped for {key}")
        shards = kill_switch_shards(file, scope, key, shard)
        return _issue_to_shards(conn, who, "kill_switch_clear",
                                {"scope": scope.value, "key": key}, reason,
                                f"{scope.value}:{key}", shards)


def reenable_breaker(engine: Engine, who: Operator, file: SettingsFile, *, account: str,
                     reason: str) -> int:
    with engine.begin() as conn:
        if tripped_breaker(conn, account) is None:
            raise ActionRefused(f"account {account} is not halted by the execution breaker")
        shard = account_shard(file, account, f"account {account}")
        return _issue(conn, who, "breaker_reenable", {"account": account}, reason, account,
                      shard)


def save_risk_limits(
    engine: Engine, who: Operator, file: SettingsFile, *, account: str, limits: RiskLimits,
    expected_version: int, reason: str,
) -> tuple[int, ShardCommands]:
    """Store new limits for ``account`` (``*`` = the defaults) and tell the core to reload them:
    the core of the account's shard, or of every shard for the defaults.

    ``expected_version`` is the version the operator edited: if somebody saved meanwhile, the
    save is refused rather than silently overwriting their change. Returns (new version,
    command ids by shard).
    """
    mapping = limits.to_mapping()
    RiskLimits.from_mapping(mapping)  # what is stored must read back
    with engine.begin() as conn:
        if account != DEFAULTS and account not in known_accounts(conn, file):
            raise ActionRefused(f"unknown account {account}")
        shards = file.shard_names if account == DEFAULTS else (
            account_shard(file, account, f"account {account}"),)
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
        commands = _issue_to_shards(conn, who, "limits_changed", {"account": account}, reason,
                                    account, shards)
    return version, commands


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
    seq: int | None = None, reason: str, shard: str | None = None,
) -> int:
    """``fix_session_commands``, for a caller that follows one command: the first one's id."""
    commands = fix_session_commands(engine, who, file, session=session, action=action, seq=seq,
                                    reason=reason, shard=shard)
    return next(iter(commands.values()))


def fix_session_commands(
    engine: Engine, who: Operator, file: SettingsFile, *, session: str, action: SessionAction,
    seq: int | None = None, reason: str, shard: str | None = None,
) -> ShardCommands:
    """Have the gateway set a FIX session's next sender or target MsgSeqNum, log it out or on,
    or reset it (``oms.engine.session_commands``). The command is refused by the gateway if it
    has not taken it within ``VALIDITY`` (issued while it was down).

    A client session is operated on by the shard of its accounts. A venue session is operated
    on by every shard (each has its own session to the venue), or by ``shard`` alone; setting a
    sequence number needs the shard chosen, as each shard's session has its own numbers."""
    known = fix_session_names(file)
    if session not in known:
        raise ActionRefused(f"unknown FIX session {session!r}: known are {', '.join(known)}")
    try:
        operation = SessionOperation.issued(session, action, seq, who.now)
    except ValueError as exc:
        raise ActionRefused(str(exc)) from None
    shards = fix_session_shards(file, session, shard)
    if action.takes_seq and len(shards) > 1:
        raise ActionRefused(
            f"each shard's session {session} has its own sequence numbers: choose the shard "
            f"whose session to set (one of {', '.join(shards)})")
    with engine.begin() as conn:
        return _issue_to_shards(conn, who, operation.kind, operation.payload(), reason, session,
                                shards)


def fix_session_names(file: SettingsFile) -> list[str]:
    """Every FIX session of the settings file, as the OMS names them."""
    return ([f"venue:{v.name}" for v in file.venues]
            + [f"client:{c.session_name}" for c in file.fix_clients])


def account_shard(file: SettingsFile, account: str, what: str) -> str:
    """The shard whose gateway acts on ``account`` (``what``, e.g. ``order O1``, names the
    subject in the refusal). Without shards, ``main`` for any account, as before shards."""
    if not file.shards:
        return DEFAULT_SHARD
    shard = file.shard_of_account(account)
    if shard is None:
        raise ActionRefused(
            f"{what}: account {account} belongs to no shard (shards: "
            f"{', '.join(file.shard_names)}), so no gateway can act on it")
    return shard


def chosen_shards(file: SettingsFile, shard: str | None) -> tuple[str, ...]:
    """Every shard (``shard`` None or blank), or the one named, if the file has it."""
    if shard is None or not shard.strip():
        return file.shard_names
    shard = shard.strip()
    if shard not in file.shard_names:
        raise ActionRefused(
            f"unknown shard {shard!r}: shards are {', '.join(file.shard_names)}")
    return (shard,)


def kill_switch_shards(
    file: SettingsFile, scope: KillScope, key: str, shard: str | None = None
) -> tuple[str, ...]:
    """Where a kill switch of ``scope`` on ``key`` is tripped or cleared: an account's on its
    shard; the others on every shard or the chosen one."""
    chosen = chosen_shards(file, shard)
    if scope is not KillScope.ACCOUNT:
        return chosen
    return _only_owner(account_shard(file, key, f"account kill switch {key}"), chosen,
                       f"account {key}")


def fix_session_shards(
    file: SettingsFile, session: str, shard: str | None = None
) -> tuple[str, ...]:
    """The shards with FIX session ``session``: every shard (or the chosen one) for a venue, the
    shard of its accounts for a client."""
    chosen = chosen_shards(file, shard)
    kind, _, name = session.partition(":")
    if kind != "client" or not file.shards:
        return chosen
    return _only_owner(file.shard_of_fix_client(name) or file.shard_names[0], chosen,
                       f"client session {name}")


def _only_owner(owner: str, chosen: tuple[str, ...], what: str) -> tuple[str, ...]:
    """``(owner,)``: ``what`` lives on that shard alone, which must be among ``chosen``."""
    if owner not in chosen:
        raise ActionRefused(f"{what} is on shard {owner}, not {chosen[0]}")
    return (owner,)


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


def _order(conn: Connection, order_id: str) -> tuple[str, str]:
    """The order's (status, account); refused when there is no such order."""
    order = conn.execute(
        select(ORDERS.c.status, ORDERS.c.account).where(ORDERS.c.order_id == order_id)
    ).first()
    if order is None:
        raise ActionRefused(f"no order {order_id}")
    return str(order.status), str(order.account)


def _issue(
    conn: Connection, who: Operator, kind: str, payload: dict[str, Any], reason: str, target: str,
    shard: str,
) -> int:
    return _issue_to_shards(conn, who, kind, payload, reason, target, (shard,))[shard]


def _issue_to_shards(
    conn: Connection, who: Operator, kind: str, payload: dict[str, Any], reason: str, target: str,
    shards: tuple[str, ...],
) -> ShardCommands:
    """One command row and its audit row per shard, in ``conn``'s transaction."""
    reason = reason.strip()
    if not reason:
        raise ActionRefused("a reason is required")
    return {
        shard: issue_command(conn, kind=kind, payload=payload, issued_by=who.username,
                             reason=reason, at=who.now, target=target, shard=shard)
        for shard in shards
    }
