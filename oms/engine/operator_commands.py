"""Operator commands, applied by the core in the batch that received them.

They arrive on the durable channel (``operator_commands`` table + NOTIFY) from the admin pages
(and the ``oms fix`` session commands), which check the operator's role before issuing; the core
checks it again through the domain's kill switch and breaker (``role`` in the payload, admin by
default for commands only admins can issue). Each command's result is written back to its row in
the same transaction, and every order it touches produces events whose text names the operator
and the reason. FIX session operations (``fix_*`` kinds) are in ``session_commands``.
"""

from __future__ import annotations

import logging
import uuid
from typing import TYPE_CHECKING, Any

from oms.domain.order_inputs import OperatorCloseOrder
from oms.domain.risk import MassCancelIntent, RiskLimits
from oms.domain.values import KillScope, OperatorRole, OrdStatus
from oms.engine.batch import Batch
from oms.engine.inputs import OperatorCommandReceived
from oms.engine.session_commands import SESSION_KINDS, apply_session_command

if TYPE_CHECKING:
    from oms.engine.handlers import Handlers

log = logging.getLogger(__name__)


def operator_cl_ord_id() -> str:
    return f"OPS-{uuid.uuid4().hex[:16]}"


def apply_operator_command(h: Handlers, batch: Batch, command: OperatorCommandReceived) -> None:
    """Apply one command; a malformed one is refused with the reason, never left pending."""
    try:
        _apply(h, batch, command)
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        result = f"refused: malformed {command.kind} payload ({exc})"
        log.warning("operator command %d: %s", command.command_id, result)
        batch.operator_results.append((command.command_id, result))


def _apply(h: Handlers, batch: Batch, command: OperatorCommandReceived) -> None:
    p = command.payload
    cause: dict[str, Any] = {
        "input": "operator", "command_id": command.command_id, "kind": command.kind,
        "operator": command.issued_by, "reason": command.reason,
    }
    who = f"operator {command.issued_by}"
    role = OperatorRole(str(p.get("role", OperatorRole.ADMIN.value)))
    result: str
    if command.kind == "cancel_order":
        order = h.order_by_id(str(p.get("order_id", "")))
        if order is None or not order.is_open:
            result = "refused: no open order with that id"
        else:
            h.cancel_order(batch, order, operator_cl_ord_id(), cause,
                           f"canceled by {who}: {command.reason}")
            result = f"cancel sent for {order.order_id}"
    elif command.kind == "close_order":
        result = close_order(h, batch, command, cause)
    elif command.kind == "cancel_all":
        account = str(p.get("account", ""))
        count = mass_cancel(h, batch, MassCancelIntent(KillScope.ACCOUNT, account, ""), cause,
                            f"canceled by {who} (cancel all {account}): {command.reason}")
        result = f"{count} cancel(s) sent for account {account}"
    elif command.kind == "kill_switch_trip":
        change = h.state.kill_switch.trip(
            KillScope(str(p.get("scope"))), p.get("key"), command.issued_by, role,
            command.reason, batch.now,
        )
        result = change.text
        if change.applied and change.entry is not None:
            e = change.entry
            batch.kill_switches.append({
                "scope": e.scope.value, "key": e.key, "active": True, "reason": e.reason,
                "tripped_by": e.tripped_by, "tripped_at": e.tripped_at, "cleared_by": None,
                "cleared_at": None,
            })
            if change.mass_cancel is not None:
                count = mass_cancel(h, batch, change.mass_cancel, cause, f"{e.text}")
                result = f"{result}; {count} open order(s) canceled"
            batch.after_commit.append(h.mirror_kill_switches)
    elif command.kind == "kill_switch_clear":
        change = h.state.kill_switch.clear(
            KillScope(str(p.get("scope"))), p.get("key"), command.issued_by, role, batch.now
        )
        result = change.text
        if change.applied and change.entry is not None:
            e = change.entry
            batch.kill_switches.append({
                "scope": e.scope.value, "key": e.key, "active": False, "reason": e.reason,
                "tripped_by": e.tripped_by, "tripped_at": e.tripped_at,
                "cleared_by": command.issued_by, "cleared_at": batch.now,
            })
            batch.after_commit.append(h.mirror_kill_switches)
    elif command.kind == "breaker_reenable":
        account = str(p.get("account", ""))
        breaker = h.state.breaker(account)
        reenabled = breaker.reenable(command.issued_by, role, batch.now)
        result = reenabled.text
        if reenabled.applied:
            batch.breakers.append({
                "account": account, "tripped": False, "reason": reenabled.text,
                "tripped_at": batch.now, "reenabled_by": command.issued_by,
                "reenabled_at": batch.now,
            })
    elif command.kind == "limits_changed":
        result = h.reload_limits()
    elif command.kind in SESSION_KINDS:
        result = apply_session_command(h, batch, command)
    else:
        result = f"refused: unknown command kind {command.kind!r}"
    log.info("operator command %d (%s by %s): %s", command.command_id, command.kind,
             command.issued_by, result)
    batch.operator_results.append((command.command_id, result))


def close_order(h: Handlers, batch: Batch, command: OperatorCommandReceived,
                cause: dict[str, Any]) -> str:
    """Resolve an order by hand (e.g. in doubt and confirmed by phone): close it as canceled,
    expired or rejected. Only for what the venue cannot answer; it sends nothing."""
    order = h.order_by_id(str(command.payload.get("order_id", "")))
    if order is None:
        return "refused: no order with that id"
    try:
        status = OrdStatus(str(command.payload.get("status", "canceled")))
    except ValueError:
        return "refused: status must be canceled, expired or rejected"
    outcome = order.apply(
        OperatorCloseOrder(command.issued_by, status,
                           f"closed by operator {command.issued_by}: {command.reason}"),
        batch.now,
    )
    if outcome.refused:
        return f"refused: {outcome.refused}"
    h.record(batch, order, outcome, cause)
    return f"{order.order_id} closed as {status}"


def mass_cancel(h: Handlers, batch: Batch, intent: MassCancelIntent, cause: dict[str, Any],
                text: str) -> int:
    """Cancel every open order the intent covers; returns how many cancels were sent."""
    targets = [o for o in h.state.orders.values()
               if o.is_open and intent.covers(o.account, o.venue, o.symbol)]
    for order in targets:
        h.cancel_order(batch, order, operator_cl_ord_id(), cause, text)
    return len(targets)


def effective_limits(
    file_defaults: RiskLimits, file_overrides: dict[str, RiskLimits], rows: list[dict[str, Any]]
) -> tuple[RiskLimits, dict[str, RiskLimits]]:
    """(defaults, limits per account): the settings file's, overridden by the limits edited on
    the admin pages (``risk_limits`` rows; account ``*`` holds the defaults)."""
    edited = {row["account"]: RiskLimits.from_mapping(row["limits"]) for row in rows}
    defaults = file_defaults.merged(edited.get("*"))
    accounts = (set(file_overrides) | set(edited)) - {"*"}
    return defaults, {
        a: defaults.merged(file_overrides.get(a)).merged(edited.get(a)) for a in accounts
    }
