"""Transition handlers for the OMS's own inputs: acceptance, refusal, requests, timer, operators.

Each handler checks everything before it changes anything: a refusal leaves the order as it
was. Handlers are reached only through the transition table, for the phases it lists.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING

from oms.domain.order_events import Anomaly, AnomalyKind, Outcome
from oms.domain.order_inputs import (
    ExpireOrder,
    OperatorCloseOrder,
    OrderAccepted,
    RejectOrder,
    RequestCancel,
    RequestKind,
    RequestReplace,
    RestateOrder,
)
from oms.domain.order_records import PendingRequest
from oms.domain.values import ExecType, OrdStatus, RejectSource

if TYPE_CHECKING:
    from oms.domain.orders import Order


def accept(order: Order, command: OrderAccepted, now: datetime) -> Outcome:
    order.sent = True
    return Outcome(events=(order._emit(ExecType.PENDING_NEW, now),))


def reject(order: Order, command: RejectOrder, now: datetime) -> Outcome:
    order._close(OrdStatus.REJECTED)
    event = order._emit(ExecType.REJECTED, now, text=command.text, reject_source=command.source)
    return Outcome(events=(event,))


def request_cancel(order: Order, command: RequestCancel, now: datetime) -> Outcome:
    problem = _request_id_problem(order, command.cl_ord_id)
    if problem is None and order.pending_of(RequestKind.CANCEL):
        pending = order.pending_of(RequestKind.CANCEL)[0].cl_ord_id
        problem = f"a cancel request ({pending}) is already pending"
    if problem is not None:
        return Outcome.refuse(problem)
    request = PendingRequest(RequestKind.CANCEL, command.cl_ord_id, order._chain_head())
    order.pending = (*order.pending, request)
    event = order._emit(
        ExecType.PENDING_CANCEL,
        now,
        cl_ord_id=request.cl_ord_id,
        orig_cl_ord_id=request.orig_cl_ord_id,
        text=command.text,
    )
    return Outcome(events=(event,))


def request_replace(order: Order, command: RequestReplace, now: datetime) -> Outcome:
    problem = _request_id_problem(order, command.cl_ord_id) or _replace_problem(order, command)
    if problem is not None:
        return Outcome.refuse(problem)
    request = PendingRequest(
        RequestKind.REPLACE,
        command.cl_ord_id,
        order._chain_head(),
        quantity=command.quantity,
        price=command.price,
        stop_price=command.stop_price,
    )
    order.pending = (*order.pending, request)
    event = order._emit(
        ExecType.PENDING_REPLACE,
        now,
        cl_ord_id=request.cl_ord_id,
        orig_cl_ord_id=request.orig_cl_ord_id,
    )
    return Outcome(events=(event,))


def _request_id_problem(order: Order, cl_ord_id: str) -> str | None:
    if not cl_ord_id:
        return "the request has no cl_ord_id"
    if order._knows_id(cl_ord_id):
        return f"cl_ord_id {cl_ord_id} is already used by this order"
    return None


def _replace_problem(order: Order, command: RequestReplace) -> str | None:
    if order.pending_of(RequestKind.CANCEL):
        return "a cancel request is pending: the order cannot be replaced"
    if command.quantity is None and command.price is None and command.stop_price is None:
        return "a replace must give a new quantity, price or stop_price"
    for name, value in (
        ("quantity", command.quantity),
        ("price", command.price),
        ("stop_price", command.stop_price),
    ):
        if value is not None and not (value.is_finite() and value > 0):
            return f"{name} must be a positive number, not {value}"
    if command.price is not None and not order.ord_type.needs_price:
        return f"a {order.ord_type.value} order takes no price"
    if command.stop_price is not None and not order.ord_type.needs_stop_price:
        return f"a {order.ord_type.value} order takes no stop_price"
    target = order._replace_target()
    quantity = command.quantity if command.quantity is not None else target[0]
    if quantity <= order.cum_qty:
        if order.cum_qty >= order.quantity:
            return f"the order is filled ({order.cum_qty}): only a quantity above it can reopen it"
        return f"quantity {quantity} is not above cum_qty {order.cum_qty}: cancel instead"
    wanted = (
        quantity,
        command.price if command.price is not None else target[1],
        command.stop_price if command.stop_price is not None else target[2],
    )
    if wanted == target:
        return "the replace changes nothing"
    return None


def expire(order: Order, command: ExpireOrder, now: datetime) -> Outcome:
    abandoned = order._close(OrdStatus.EXPIRED)
    events = [order._emit(ExecType.EXPIRED, now, text=command.text)]
    events += order._answer_abandoned(abandoned, now, None)
    return Outcome(events=tuple(events))


def restate(order: Order, command: RestateOrder, now: datetime) -> Outcome:
    if command.quantity is None and command.price is None:
        return Outcome.refuse("a restatement must give a quantity or a price")
    if command.quantity is not None and not (command.quantity.is_finite() and command.quantity > 0):
        return Outcome.refuse(f"quantity must be a positive number, not {command.quantity}")
    if command.price is not None and not order.ord_type.needs_price:
        return Outcome.refuse(f"a {order.ord_type.value} order takes no price")
    if command.price is not None and not (command.price.is_finite() and command.price > 0):
        return Outcome.refuse(f"price must be a positive number, not {command.price}")
    excess = order.cum_qty - order.quantity
    if command.quantity is not None:
        order.quantity = command.quantity
    if command.price is not None:
        order.price = command.price
    anomalies = overfill_check(order, excess)
    text = f"restated by operator {command.operator}: {command.text}"
    return Outcome(events=(order._emit(ExecType.RESTATED, now, text=text),), anomalies=anomalies)


_OPERATOR_CLOSE = {
    OrdStatus.CANCELED: ExecType.CANCELED,
    OrdStatus.EXPIRED: ExecType.EXPIRED,
    OrdStatus.REJECTED: ExecType.REJECTED,
}


def operator_close(order: Order, command: OperatorCloseOrder, now: datetime) -> Outcome:
    exec_type = _OPERATOR_CLOSE.get(command.status)
    if exec_type is None:
        allowed = ", ".join(s.value for s in _OPERATOR_CLOSE)
        return Outcome.refuse(f"an operator can close an order as {allowed}, not {command.status}")
    order.sent = True
    abandoned = order._close(command.status)
    text = f"{command.status.value} by operator {command.operator}: {command.text}"
    source = RejectSource.OPERATOR if command.status is OrdStatus.REJECTED else None
    events = [order._emit(exec_type, now, text=text, reject_source=source)]
    events += order._answer_abandoned(abandoned, now, RejectSource.OPERATOR)
    return Outcome(events=tuple(events))


def overfill_check(order: Order, excess_before: Decimal) -> tuple[Anomaly, ...]:
    """Flag (and record) an overfill that this change created or made worse."""
    excess = order.fills.cum_qty - order.quantity
    if excess > 0 and excess > excess_before:
        order.overfilled = True
        text = (
            f"order {order.order_id} overfilled: cum_qty {order.fills.cum_qty} is above "
            f"quantity {order.quantity} by {excess}"
        )
        return (Anomaly(AnomalyKind.OVERFILL, text),)
    return ()
