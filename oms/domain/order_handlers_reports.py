"""Transition handlers for what venues report: acks, rejects, fills, busts, cancels, replaces.

A report is a fact: when it fits the order it is applied; when it cannot (it names a request
never sent, an execution never seen) it is refused and flagged as an anomaly for operators.
Fills are never refused for arriving late or overfilling: the position is real.
Every applied report is also checked against the venue's CumQty (``CUM_QTY_MISMATCH``).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING

from oms.domain.order_events import Anomaly, AnomalyKind, OrderEvent, Outcome, PositionDelta
from oms.domain.order_handlers_commands import overfill_check
from oms.domain.order_inputs import (
    RequestKind,
    RestatementReason,
    VenueCancelReject,
    VenueExecutionReport,
)
from oms.domain.order_records import AVG_PX_CONTEXT, Execution, PendingRequest
from oms.domain.values import ExecType, OrdStatus, RejectSource, TimeInForce

if TYPE_CHECKING:
    from oms.domain.orders import Order

_GOOD_TILL = frozenset({TimeInForce.GTC, TimeInForce.GTD})


def _when(report: VenueExecutionReport | VenueCancelReject, now: datetime) -> datetime:
    """The venue's TransactTime when it sent one, else the OMS clock."""
    return report.transact_time if report.transact_time is not None else now


def _applied(
    order: Order,
    report: VenueExecutionReport,
    events: list[OrderEvent] | tuple[OrderEvent, ...] = (),
    *,
    note: str | None = None,
    anomalies: tuple[Anomaly, ...] = (),
    deltas: tuple[PositionDelta, ...] = (),
) -> Outcome:
    order._note_venue_order_id(report.venue_order_id)
    if report.cum_qty is not None and report.cum_qty != order.fills.cum_qty:
        text = (
            f"venue reports cum_qty {report.cum_qty} but the OMS counts {order.fills.cum_qty}"
            f" (ExecID {report.exec_id})"
        )
        anomalies = (*anomalies, Anomaly(AnomalyKind.CUM_QTY_MISMATCH, text))
    return Outcome(events=tuple(events), note=note, anomalies=anomalies, position_deltas=deltas)


def _refuse(reason: str, kind: AnomalyKind = AnomalyKind.UNEXPECTED_REPORT) -> Outcome:
    return Outcome.refuse(reason, Anomaly(kind, reason))


def _fill_problem(report: VenueExecutionReport) -> str | None:
    qty, px = report.last_qty, report.last_px
    if qty is None or px is None:
        return f"{report.exec_type} report {report.exec_id} has no LastQty/LastPx"
    if not (qty.is_finite() and qty > 0 and px.is_finite() and px >= 0):
        return f"{report.exec_type} report {report.exec_id} has LastQty {qty}, LastPx {px}"
    return None


def _join(*parts: str | None) -> str | None:
    text = "; ".join(p for p in parts if p)
    return text or None


# --- acknowledgement and refusal -----------------------------------------------------------


def acknowledge(order: Order, report: VenueExecutionReport, now: datetime) -> Outcome:
    order.acknowledged = True
    order._note_venue_order_id(report.venue_order_id)
    event = order._emit(
        ExecType.NEW, _when(report, now), venue_exec_id=report.exec_id, text=report.text
    )
    return _applied(order, report, [event])


def acknowledged_already(order: Order, report: VenueExecutionReport, now: datetime) -> Outcome:
    """A pending-new report while sent, or an ack arriving after a fill or a close."""
    note = f"{report.exec_type} report changes nothing: the order is {order.status.value}"
    return _applied(order, report, note=note)


def venue_reject(order: Order, report: VenueExecutionReport, now: datetime) -> Outcome:
    return _close(order, report, now, OrdStatus.REJECTED, ExecType.REJECTED)


# --- trades, busts, corrections ------------------------------------------------------------


def trade(order: Order, report: VenueExecutionReport, now: datetime) -> Outcome:
    problem = _fill_problem(report)
    if problem is not None:
        return _refuse(problem)
    assert report.last_qty is not None and report.last_px is not None  # _fill_problem checked
    qty, px = report.last_qty, report.last_px
    closed_as = order.closed_as
    excess = order.fills.cum_qty - order.quantity
    order.fills.add(report.exec_id, qty, px)
    order.acknowledged = True
    if closed_as is None:
        order.paused_for_day = False
    anomalies = overfill_check(order, excess)
    if closed_as is not None:
        text = f"fill of {qty} @ {px} (ExecID {report.exec_id}) on a {closed_as.value} order"
        anomalies = (*anomalies, Anomaly(AnomalyKind.FILL_ON_CLOSED_ORDER, text))
    filled = order.fills.cum_qty >= order.quantity
    exec_type = ExecType.FILL if filled else ExecType.PARTIAL_FILL
    event = order._emit(
        exec_type,
        _when(report, now),
        last_qty=qty,
        last_px=px,
        venue_exec_id=report.exec_id,
        text=report.text,
    )
    delta = _delta(order, qty, px, report.exec_id, exec_type)
    return _applied(order, report, [event], anomalies=anomalies, deltas=(delta,))


def _delta(
    order: Order, qty: Decimal, px: Decimal, exec_id: str, reason: ExecType
) -> PositionDelta:
    return PositionDelta(order.account, order.symbol, qty * order.side.sign, px, exec_id, reason)


def _referenced(order: Order, report: VenueExecutionReport) -> str | Outcome:
    """The live execution a bust or correction names, or the refusal when there is none."""
    ref = report.ref_exec_id
    key = order.fills.resolve(ref) if ref else None
    if key is not None:
        return key
    if ref and ref in order.fills.busted:
        why = f"execution {ref} is already busted"
    else:
        why = f"no execution {ref!r} on order {order.order_id}"
    return _refuse(f"{report.exec_type} {report.exec_id}: {why}", AnomalyKind.UNKNOWN_EXECUTION)


def bust(order: Order, report: VenueExecutionReport, now: datetime) -> Outcome:
    key = _referenced(order, report)
    if isinstance(key, Outcome):
        return key
    ref = report.ref_exec_id
    old = order.fills.bust(key)
    text = f"execution {ref} busted: {old.quantity} @ {old.price} reversed"
    event = order._emit(
        ExecType.TRADE_CANCEL,
        _when(report, now),
        last_qty=old.quantity,
        last_px=old.price,
        venue_exec_id=ref,
        text=_join(text, report.text),
    )
    delta = _delta(order, -old.quantity, old.price, key, ExecType.TRADE_CANCEL)
    return _applied(order, report, [event], deltas=(delta,))


def correct(order: Order, report: VenueExecutionReport, now: datetime) -> Outcome:
    key = _referenced(order, report)
    if isinstance(key, Outcome):
        return key
    problem = _fill_problem(report)
    if problem is not None:
        return _refuse(problem)
    assert report.last_qty is not None and report.last_px is not None  # _fill_problem checked
    qty, px = report.last_qty, report.last_px
    excess = order.fills.cum_qty - order.quantity
    old: Execution = order.fills.correct(key, report.exec_id, qty, px)
    anomalies = overfill_check(order, excess)
    text = (
        f"execution {report.ref_exec_id} corrected from {old.quantity} @ {old.price}"
        f" to {qty} @ {px} (ExecID {report.exec_id})"
    )
    event = order._emit(
        ExecType.TRADE_CORRECT,
        _when(report, now),
        last_qty=qty,
        last_px=px,
        venue_exec_id=report.ref_exec_id,
        text=_join(text, report.text),
    )
    deltas = (
        _delta(order, -old.quantity, old.price, key, ExecType.TRADE_CORRECT),
        _delta(order, qty, px, report.exec_id, ExecType.TRADE_CORRECT),
    )
    return _applied(order, report, [event], anomalies=anomalies, deltas=deltas)


# --- closing -------------------------------------------------------------------------------


def _close(
    order: Order,
    report: VenueExecutionReport,
    now: datetime,
    status: OrdStatus,
    exec_type: ExecType,
    *,
    text: str | None = None,
) -> Outcome:
    """Close the order; a cancel answers the request it names, the rest get rejects."""
    when = _when(report, now)
    answered = order._find_request(report.cl_ord_id)
    if answered is not None and not (
        status is OrdStatus.CANCELED and answered.kind is RequestKind.CANCEL
    ):
        answered = None
    if answered is not None:
        order._drop_request(answered)
    abandoned = order._close(status)
    reject_source = RejectSource.VENUE if status is OrdStatus.REJECTED else None
    if answered is not None:
        order.orig_cl_ord_id, order.cl_ord_id = order.cl_ord_id, answered.cl_ord_id
        event = order._emit(
            exec_type,
            when,
            cl_ord_id=answered.cl_ord_id,
            orig_cl_ord_id=answered.orig_cl_ord_id,
            text=_join(report.text, text),
            venue_exec_id=report.exec_id,
        )
    else:
        event = order._emit(
            exec_type,
            when,
            text=_join(report.text, text),
            reject_source=reject_source,
            venue_exec_id=report.exec_id,
        )
    events = [event, *order._answer_abandoned(abandoned, when, RejectSource.VENUE)]
    return _applied(order, report, events)


def canceled(order: Order, report: VenueExecutionReport, now: datetime) -> Outcome:
    reason = report.restatement_reason.value if report.restatement_reason else None
    return _close(order, report, now, OrdStatus.CANCELED, ExecType.CANCELED, text=reason)


def expired(order: Order, report: VenueExecutionReport, now: datetime) -> Outcome:
    return _close(order, report, now, OrdStatus.EXPIRED, ExecType.EXPIRED)


def closed_already(order: Order, report: VenueExecutionReport, now: datetime) -> Outcome:
    """The venue closes an order the OMS already closed (e.g. the OMS expired it first)."""
    closed = order.closed_as.value if order.closed_as else order.status.value
    note = f"{report.exec_type} report changes nothing: the order is already {closed}"
    return _applied(order, report, note=note)


def done_for_day(order: Order, report: VenueExecutionReport, now: datetime) -> Outcome:
    """Good-till orders pause until the next session; any other order is done for good."""
    when = _when(report, now)
    if order.time_in_force in _GOOD_TILL:
        order.paused_for_day = True
        abandoned: tuple[PendingRequest, ...] = ()
    else:
        abandoned = order._close(OrdStatus.DONE_FOR_DAY)
    event = order._emit(ExecType.DONE_FOR_DAY, when, text=report.text, venue_exec_id=report.exec_id)
    events = [event, *order._answer_abandoned(abandoned, when, RejectSource.VENUE)]
    return _applied(order, report, events)


# --- restatement ---------------------------------------------------------------------------


def restated(order: Order, report: VenueExecutionReport, now: datetime) -> Outcome:
    """An unsolicited change by the venue (verbal change, partial decline, GT renewal, split).

    For a corporate action (a split) the venue restates the cum qty as well: the fills are
    rescaled (quantity times the ratio, price divided by it) so that the OMS's totals agree
    with the venue's. Positions are not moved here: the corporate action adjusts them.
    """
    for name, value in (("OrderQty", report.order_qty), ("Price", report.price)):
        if value is not None and not (value.is_finite() and value > 0):
            return _refuse(f"restatement {report.exec_id} has {name} {value}")
    note = None
    if (
        report.restatement_reason is RestatementReason.GT_CORPORATE_ACTION
        and report.cum_qty is not None
        and report.cum_qty > 0
        and order.fills.cum_qty > 0
        and report.cum_qty != order.fills.cum_qty
    ):
        ratio = AVG_PX_CONTEXT.divide(report.cum_qty, order.fills.cum_qty)
        order.fills.rescale(ratio)
        note = f"fills rescaled {ratio}:1 for a corporate action"
    excess = order.fills.cum_qty - order.quantity
    if report.order_qty is not None:
        order.quantity = report.order_qty
    if report.price is not None:
        order.price = report.price
    if report.stop_price is not None:
        order.stop_price = report.stop_price
    order.paused_for_day = False
    anomalies = overfill_check(order, excess)
    reason = report.restatement_reason.value if report.restatement_reason else None
    event = order._emit(
        ExecType.RESTATED,
        _when(report, now),
        text=_join(reason, report.text),
        venue_exec_id=report.exec_id,
    )
    return _applied(order, report, [event], note=note, anomalies=anomalies)


# --- requests in flight --------------------------------------------------------------------


def request_acknowledged(order: Order, report: VenueExecutionReport, now: datetime) -> Outcome:
    """The venue reports pending cancel/replace: the OMS already shows it, nothing to emit."""
    kind = (
        RequestKind.CANCEL if report.exec_type is ExecType.PENDING_CANCEL else RequestKind.REPLACE
    )
    request = order._find_request(report.cl_ord_id)
    if request is None or request.kind is not kind:
        return _refuse(
            f"{report.exec_type} {report.exec_id} names {report.cl_ord_id!r},"
            f" which is not a {kind.value} request in flight"
        )
    order.pending = tuple(
        replace(r, acknowledged=True) if r is request else r for r in order.pending
    )
    return _applied(order, report, note=f"venue acknowledged {kind.value} {request.cl_ord_id}")


def request_acknowledged_late(order: Order, report: VenueExecutionReport, now: datetime) -> Outcome:
    note = f"{report.exec_type} report changes nothing: the order is already {order.status.value}"
    return _applied(order, report, note=note)


def replaced(order: Order, report: VenueExecutionReport, now: datetime) -> Outcome:
    """Replace accepted. The venue's OrderQty wins: asked below the cum qty, a replace is
    amended to the cum qty (D12) and the order completes."""
    request = order._find_request(report.cl_ord_id)
    if request is None or request.kind is not RequestKind.REPLACE:
        return _refuse(
            f"replaced {report.exec_id} names {report.cl_ord_id!r},"
            " which is not a replace request in flight"
        )
    if report.order_qty is not None and not (report.order_qty.is_finite() and report.order_qty > 0):
        return _refuse(f"replaced {report.exec_id} has OrderQty {report.order_qty}")
    excess = order.fills.cum_qty - order.quantity
    if report.order_qty is not None:
        quantity = report.order_qty
    else:
        asked = request.quantity if request.quantity is not None else order.quantity
        quantity = max(asked, order.fills.cum_qty)
    order._drop_request(request)
    order.acknowledged = True  # the venue replaced it, so it knows the order
    order.orig_cl_ord_id, order.cl_ord_id = order.cl_ord_id, request.cl_ord_id
    order.quantity = quantity
    order.price = _first(report.price, request.price, order.price)
    order.stop_price = _first(report.stop_price, request.stop_price, order.stop_price)
    anomalies = overfill_check(order, excess)
    event = order._emit(
        ExecType.REPLACED,
        _when(report, now),
        cl_ord_id=request.cl_ord_id,
        orig_cl_ord_id=request.orig_cl_ord_id,
        text=report.text,
        venue_exec_id=report.exec_id,
    )
    return _applied(order, report, [event], anomalies=anomalies)


def _first(*values: Decimal | None) -> Decimal | None:
    return next((v for v in values if v is not None), None)


def cancel_reject(order: Order, reject: VenueCancelReject, now: datetime) -> Outcome:
    """The venue refused a cancel or replace: the order is whatever its facts now say (D5)."""
    request = order._find_request(reject.cl_ord_id)
    if request is None:
        return Outcome(
            note=f"cancel reject for {reject.cl_ord_id!r} changes nothing: no such request"
        )
    order._drop_request(request)
    order._note_venue_order_id(reject.venue_order_id)
    exec_type = (
        ExecType.CANCEL_REJECTED
        if request.kind is RequestKind.CANCEL
        else ExecType.REPLACE_REJECTED
    )
    text = _join(reject.reason, reject.text) or f"{request.kind.value} rejected by the venue"
    event = order._emit(
        exec_type,
        _when(reject, now),
        cl_ord_id=request.cl_ord_id,
        orig_cl_ord_id=request.orig_cl_ord_id,
        text=text,
        reject_source=RejectSource.VENUE,
    )
    return Outcome(events=(event,))


# --- status responses and other informational reports --------------------------------------

_WORKING_STATUSES = frozenset(
    {
        OrdStatus.NEW,
        OrdStatus.PARTIALLY_FILLED,
        OrdStatus.FILLED,
        OrdStatus.DONE_FOR_DAY,
        OrdStatus.PENDING_CANCEL,
        OrdStatus.PENDING_REPLACE,
    }
)


def status_report(order: Order, report: VenueExecutionReport, now: datetime) -> Outcome:
    """Reconcile an order-status response (or a guarantee of execution) with the order.

    An order the OMS has sent but never heard about (in doubt after a restart) is resolved by
    the answer: the venue knows it (acknowledged), does not (rejected, D24), or closed it.
    A request in flight the answer settles is answered (see ``_answered_by_status``).
    Otherwise nothing changes; a disagreement is flagged, never guessed.
    """
    reported = report.ord_status
    answered = _answered_by_status(order, report, now)
    if answered is not None:
        return answered
    if order.closed_as is None and not order.acknowledged:
        if reported is OrdStatus.REJECTED:
            # the venue's own text, else why (``_close`` joins the two: never both)
            text = None if report.text else (
                "the venue does not know the order (order status response)")
            return _close(order, report, now, OrdStatus.REJECTED, ExecType.REJECTED, text=text)
        if reported in (OrdStatus.CANCELED, OrdStatus.EXPIRED):
            exec_type = ExecType.CANCELED if reported is OrdStatus.CANCELED else ExecType.EXPIRED
            return _close(order, report, now, reported, exec_type)
        if reported in _WORKING_STATUSES:
            order.acknowledged = True
            order._note_venue_order_id(report.venue_order_id)
            event = order._emit(
                ExecType.NEW,
                _when(report, now),
                text="acknowledged by an order status response",
                venue_exec_id=report.exec_id,
            )
            return _applied(order, report, [event])
    anomalies: tuple[Anomaly, ...] = ()
    closed = (OrdStatus.CANCELED, OrdStatus.EXPIRED, OrdStatus.REJECTED)
    if reported in closed and order.closed_as is None:
        text = f"venue reports the order {reported}, the OMS has it {order.status.value}"
        anomalies = (Anomaly(AnomalyKind.UNEXPECTED_REPORT, text),)
    what = f"status {reported.value}" if reported is not None else "no status the OMS models"
    note = f"informational report ({what}) changes nothing"
    return _applied(order, report, note=note, anomalies=anomalies)


def _answered_by_status(
    order: Order, report: VenueExecutionReport, now: datetime
) -> Outcome | None:
    """A request in flight that the status response answers, as the venue never did:

    - the order is canceled while a cancel is in flight: that cancel is answered, canceled;
    - the venue knows the order by the ClOrdID of a replace in flight, working: replaced.
    """
    reported = report.ord_status
    if order.closed_as is not None:
        return None
    cancels = order.pending_of(RequestKind.CANCEL)
    if reported is OrdStatus.CANCELED and cancels:
        text = report.text or "canceled, as the venue's order status response shows"
        answer = replace(report, cl_ord_id=cancels[0].cl_ord_id, text=text)
        return _close(order, answer, now, OrdStatus.CANCELED, ExecType.CANCELED)
    request = order._find_request(report.cl_ord_id)
    if (
        request is not None
        and request.kind is RequestKind.REPLACE
        and reported in _WORKING_STATUSES
        and reported is not OrdStatus.PENDING_REPLACE
    ):
        text = report.text or "replaced, as the venue's order status response shows"
        return replaced(order, replace(report, text=text), now)
    return None
