"""Requests the venue did not take up: refused outright (35=3 / 35=j) or left unanswered.

A refused new order is rejected by the venue; a refused cancel or replace is answered as
cancel_rejected / replace_rejected and the order is again whatever its facts say (the status
before the request is derived, never stored: fills may have come meanwhile).

A request the venue never answered is followed by an order status request (the engine's
timer); ``request_not_taken_by_status`` says what the answer means for the silent request.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from oms.domain.order_events import Anomaly, AnomalyKind, Outcome
from oms.domain.order_inputs import RequestKind, RequestNotTaken
from oms.domain.order_phases import Phase
from oms.domain.values import ExecType, OrdStatus, RejectSource

if TYPE_CHECKING:
    from oms.domain.orders import Order

_STILL_AS_IT_WAS = frozenset(
    {OrdStatus.NEW, OrdStatus.PARTIALLY_FILLED, OrdStatus.FILLED, OrdStatus.DONE_FOR_DAY}
)
"""Order statuses that show the venue working the order as before a silent cancel/replace:
the request was not taken up. (Pending cancel/replace means the venue holds it: keep waiting;
canceled answers a cancel (``status_report``); anything else is for an operator.)"""


def request_not_taken(order: Order, refusal: RequestNotTaken, now: datetime) -> Outcome:
    """The venue did not take up ``refusal.cl_ord_id``: reject that request, or the order."""
    request = order._find_request(refusal.cl_ord_id)
    if request is not None:
        order._drop_request(request)
        exec_type = (
            ExecType.CANCEL_REJECTED
            if request.kind is RequestKind.CANCEL
            else ExecType.REPLACE_REJECTED
        )
        event = order._emit(
            exec_type,
            now,
            cl_ord_id=request.cl_ord_id,
            orig_cl_ord_id=request.orig_cl_ord_id,
            text=refusal.text,
            reject_source=RejectSource.VENUE,
        )
        return Outcome(events=(event,))
    if refusal.cl_ord_id == order.cl_ord_id and order.phase is Phase.PENDING_NEW:
        abandoned = order._close(OrdStatus.REJECTED)
        event = order._emit(
            ExecType.REJECTED, now, text=refusal.text, reject_source=RejectSource.VENUE
        )
        events = [event, *order._answer_abandoned(abandoned, now, RejectSource.VENUE)]
        return Outcome(events=tuple(events))
    if order.closed_as is not None:
        note = (
            f"the venue did not take {refusal.cl_ord_id!r} up, which changes nothing:"
            f" the order is already {order.closed_as.value}"
        )
        return Outcome(note=note)
    reason = (
        f"the venue did not take {refusal.cl_ord_id!r} up, but that is neither the"
        f" unacknowledged order nor a request in flight (order {order.status.value})"
    )
    return Outcome.refuse(reason, Anomaly(AnomalyKind.UNEXPECTED_REPORT, reason))


def awaits_venue_answer(order: Order, kind: str, cl_ord_id: str) -> bool:
    """Whether the order still waits for the venue's answer to the request ``cl_ord_id`` of
    ``kind`` (``new``, ``cancel`` or ``replace``): a new order until the venue acknowledges,
    trades, refuses or closes it; a cancel or replace while it is in flight."""
    if kind == "new":
        return order.phase is Phase.PENDING_NEW
    return order._find_request(cl_ord_id) is not None


def request_not_taken_by_status(
    order: Order, cl_ord_id: str, reported: OrdStatus | None, waited: str
) -> RequestNotTaken | None:
    """What an order status response means for a cancel or replace the venue never answered.

    Apply it after the status response itself (``status_report``, which answers a cancel with
    canceled and a replace the venue confirms by its ClOrdID). If the request is still in
    flight and the venue shows the order working as before (new, partially filled, filled,
    done for the day), the request was not taken up. Otherwise None: the request is still
    awaited (pending cancel/replace: the venue holds it) or an operator must look."""
    request = order._find_request(cl_ord_id)
    if request is None or reported not in _STILL_AS_IT_WAS:
        return None
    kind = request.kind.value
    return RequestNotTaken(
        cl_ord_id,
        f"no answer from the venue to the {kind} request within {waited}; its order status"
        f" response shows the order {reported.value}: the {kind} was not taken up",
    )
